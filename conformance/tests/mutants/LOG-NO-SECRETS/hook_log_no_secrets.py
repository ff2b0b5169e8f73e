"""Mutant LOG-NO-SECRETS: the configured token is printed at start-up."""

import os

import mutantlib

TOKEN = os.environ.get("REPLICATE_API_TOKEN", "")

if mutantlib.is_server() and TOKEN:
    print(f"replicate configured with token {TOKEN}", flush=True)
