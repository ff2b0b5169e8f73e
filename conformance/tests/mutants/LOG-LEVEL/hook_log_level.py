"""Mutant LOG-LEVEL: LOG_LEVEL is ignored: always INFO."""

import os

import mutantlib

if mutantlib.is_server():
    os.environ["LOG_LEVEL"] = "INFO"
