"""The jobs table and its newest-first index (what SQLite's store creates).

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Text(), primary_key=True),
        # Insertion order, the tie-break of jobs created in the same millisecond (SQLite's rowid).
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("input", JSONB(), nullable=False),
        sa.Column("result", JSONB(), nullable=True),
    )
    op.create_index("jobs_created", "jobs", [sa.text("created_at DESC"), sa.text("seq DESC")])


def downgrade() -> None:
    op.drop_index("jobs_created", table_name="jobs")
    op.drop_table("jobs")
