"""user groups: the groups an OIDC provider or a trusted proxy last gave a user, for
per-dataset visibility (app/visibility.py)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A JSON list of names; NULL for local users (they have a role and no groups).
    op.add_column("users", sa.Column("groups", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("users", "groups")
