"""The jobs table as the Postgres store queries it (migrations/ creates and changes it)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    # Insertion order: SQLite's rowid, the tie-break of two jobs created in the same millisecond.
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("error", Text),
    Column("input", JSONB, nullable=False),
    Column("result", JSONB(none_as_null=True)),
)
# The order of page(): newest first, the later insert first within one millisecond.
Index("jobs_created", jobs.c.created_at.desc(), jobs.c.seq.desc())
