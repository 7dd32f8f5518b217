"""steering: an answer's question back (with its choices) and its follow-up questions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: an answer from before this revision, or one that asked nothing back.
    op.add_column("messages", sa.Column("clarify", sa.JSON, nullable=True))
    op.add_column("messages", sa.Column("follow_ups", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("follow_ups")
        batch.drop_column("clarify")
