"""queue order index: any page of the inbox queue is read in order, not sorted

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the same expressions as stemme.inbox.models.QUEUE_ORDER
    op.create_index(
        "ix_conversations_queue_order",
        "conversations",
        [
            sa.text("urgent DESC"),
            sa.text("(CASE WHEN (status IN ('new', 'open')) THEN 0 ELSE 1 END)"),
            sa.text("last_message_at"),
            sa.text("id"),
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_queue_order", table_name="conversations")
