"""Mutant RUN-BAD-CONFIG: an invalid APP_ENV is silently replaced instead of rejected."""

import os

import mutantlib

if mutantlib.is_server() and os.environ.get("APP_ENV") not in (
    "development",
    "staging",
    "production",
):
    os.environ["APP_ENV"] = "production"
