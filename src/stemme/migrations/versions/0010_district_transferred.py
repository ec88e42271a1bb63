"""conversations.district_transferred: an operator's transfer sticks

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both engines: batch mode would rebuild the table on SQLite, which
# cannot carry the expression index of the queue order across.


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("district_transferred", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE conversations DROP COLUMN district_transferred")
