"""feedback outlives its conversation: kept 24 months for statistics, the conversation 12

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_conversation_feedback_conversation_id_conversations"


def _relink(nullable: bool, ondelete: str) -> None:
    with op.batch_alter_table("conversation_feedback", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(_FK), type_="foreignkey")
        batch_op.alter_column("conversation_id", existing_type=sa.Integer(), nullable=nullable)
        batch_op.create_foreign_key(
            batch_op.f(_FK), "conversations", ["conversation_id"], ["id"], ondelete=ondelete
        )


def upgrade() -> None:
    _relink(nullable=True, ondelete="SET NULL")


def downgrade() -> None:
    op.execute("DELETE FROM conversation_feedback WHERE conversation_id IS NULL")
    _relink(nullable=False, ondelete="CASCADE")
