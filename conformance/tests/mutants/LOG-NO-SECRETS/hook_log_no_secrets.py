"""Mutant LOG-NO-SECRETS: the configured token is printed at start-up."""

import os

import mutantlib

if mutantlib.is_server():
    print(
        f"replicate configured with token {os.environ.get('REPLICATE_API_TOKEN', '')}", flush=True
    )
