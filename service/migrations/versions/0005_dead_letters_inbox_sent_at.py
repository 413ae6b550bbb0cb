"""dead letters of the write-back outbox in their own table; inbox sent_at (the helpdesk's own message time)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = "ticket_pk, provider, account, ticket_id, label, band, previous_label, attempts, last_error, created_at"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # a dead letter keeps its outbox id and goes back under it, so ids must never be reused: SQLite
        # hands out max(id) + 1 again once the newest row moved out, unless the table is AUTOINCREMENT
        with op.batch_alter_table("outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_inbox_ticket_sent_at", "inbox", ["provider", "account", "ticket_id", "sent_at"])
    op.create_table(
        "outbox_dead",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ticket_pk", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.String(255), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("band", sa.String(16), nullable=False),
        sa.Column("previous_label", sa.String(16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("died_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_dead_ticket_pk", "outbox_dead", ["ticket_pk"])
    # writes dead-lettered before this revision (outbox rows with status 'dead') move to the new table
    op.execute(f"INSERT INTO outbox_dead (id, {_COLUMNS}, died_at) "
               f"SELECT id, {_COLUMNS}, COALESCE(done_at, next_attempt_at) FROM outbox WHERE status = 'dead'")
    op.execute("DELETE FROM outbox WHERE status = 'dead'")


def downgrade() -> None:
    op.execute(f"INSERT INTO outbox (id, {_COLUMNS}, status, next_attempt_at) "
               f"SELECT id, {_COLUMNS}, 'dead', died_at FROM outbox_dead")
    op.drop_index("ix_outbox_dead_ticket_pk", table_name="outbox_dead")
    op.drop_table("outbox_dead")
    op.drop_index("ix_inbox_ticket_sent_at", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("sent_at")
