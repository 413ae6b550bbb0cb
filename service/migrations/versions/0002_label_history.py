"""label history (previous labels replaced by `ticketguard relabel --db`)

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("new_label", sa.String(16), nullable=False),
        sa.Column("new_model_version", sa.String(128), nullable=False),
        sa.Column("relabelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("message_id", "new_model_version", name="uq_label_history_message_model"),
    )
    op.create_index("ix_label_history_message_id", "label_history", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_label_history_message_id", table_name="label_history")
    op.drop_table("label_history")
