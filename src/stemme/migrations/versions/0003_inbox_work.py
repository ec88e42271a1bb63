# ruff: noqa: E501 - reply texts are kept on one line each
"""inbox work: replies, delivery, notes, feedback, canned replies, hours

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:47:22.877329
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The starting set of canned replies (operators edit them later); {variables} are filled in
# when a reply is used: {district} (the conversation's police district), {operator}.
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "greeting": {
        "nb": (
            "Hilsen",
            "Hei! Du snakker med politiets nettpatrulje i {district}. Hva kan vi hjelpe deg med?",
        ),
        "nn": (
            "Helsing",
            "Hei! Du snakkar med nettpatruljen til politiet i {district}. Kva kan vi hjelpe deg med?",
        ),
        "en": (
            "Greeting",
            "Hi! You are talking to the police online patrol in {district}. How can we help?",
        ),
        "sv": (
            "Hälsning",
            "Hej! Du pratar med norska polisens nätpatrull i {district}. Vad kan vi hjälpa dig med?",
        ),
    },
    "report_online": {
        "nb": (
            "Anmeld på nett",
            "Du kan anmelde dette på politiet.no/anmeldelse. Ta gjerne vare på skjermbilder og annen dokumentasjon.",
        ),
        "nn": (
            "Meld på nett",
            "Du kan melde dette på politiet.no/anmeldelse. Ta gjerne vare på skjermbilete og anna dokumentasjon.",
        ),
        "en": (
            "Report online",
            "You can report this at politiet.no/en/report. Please keep screenshots and other documentation.",
        ),
        "sv": (
            "Anmäl på nätet",
            "Du kan anmäla detta på politiet.no/anmeldelse. Spara gärna skärmbilder och annan dokumentation.",
        ),
    },
    "call_112": {
        "nb": (
            "Ring 112",
            "Hvis noen er i fare nå, ring 112. Vi kan ikke rykke ut fra denne chatten.",
        ),
        "nn": (
            "Ring 112",
            "Viss nokon er i fare no, ring 112. Vi kan ikkje rykkje ut frå denne chatten.",
        ),
        "en": (
            "Call 112",
            "If anyone is in danger now, call 112. We cannot send help from this chat.",
        ),
        "sv": (
            "Ring 112",
            "Om någon är i fara nu, ring 112. Vi kan inte skicka hjälp från den här chatten.",
        ),
    },
    "call_02800": {
        "nb": (
            "Ring 02800",
            "Dette bør du snakke med politiet om på telefon: ring 02800 (hele døgnet).",
        ),
        "nn": (
            "Ring 02800",
            "Dette bør du snakke med politiet om på telefon: ring 02800 (heile døgeret).",
        ),
        "en": (
            "Call 02800",
            "Please talk to the police about this on the phone: call +47 02800 (24 hours).",
        ),
        "sv": (
            "Ring 02800",
            "Det här bör du prata med polisen om på telefon: ring +47 02800 (dygnet runt).",
        ),
    },
    "closing": {
        "nb": (
            "Avslutning",
            "Takk for at du tok kontakt. Ta gjerne kontakt igjen om det er noe mer. Hilsen {operator}, nettpatruljen.",
        ),
        "nn": (
            "Avslutting",
            "Takk for at du tok kontakt. Ta gjerne kontakt igjen om det er noko meir. Helsing {operator}, nettpatruljen.",
        ),
        "en": (
            "Closing",
            "Thank you for contacting us. Feel free to get in touch again. Best regards, {operator}, online patrol.",
        ),
        "sv": (
            "Avslutning",
            "Tack för att du hörde av dig. Hör gärna av dig igen. Hälsningar {operator}, nätpatrullen.",
        ),
    },
}
CANNED_REPLIES = [
    {"key": key, "lang": lang, "title": title, "body": body}
    for key, by_lang in _TEXTS.items()
    for lang, (title, body) in by_lang.items()
]


def upgrade() -> None:
    canned = op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("key", "lang", name=op.f("uq_canned_replies_key")),
    )
    op.bulk_insert(canned, CANNED_REPLIES)
    op.create_table(
        "district_hours",
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("district", name=op.f("pk_district_hours")),
    )
    op.create_table(
        "conversation_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_feedback_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_feedback")),
        sa.UniqueConstraint(
            "conversation_id", name=op.f("uq_conversation_feedback_conversation_id")
        ),
    )
    with op.batch_alter_table("conversation_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_feedback_district"), ["district"], unique=False
        )

    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("raw_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("redacted_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_conversation_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_notes_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_notes")),
        sa.UniqueConstraint("uid", name=op.f("uq_conversation_notes_uid")),
    )
    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_notes_conversation_id"), ["conversation_id"], unique=False
        )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lang", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("emergency_replied", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "out_of_hours_replied", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("feedback_requested_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=24), nullable=False, server_default="citizen")
        )
        batch_op.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("delivery", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("delivery_error", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_delivery"), ["delivery"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_author_id_users"),
            "users",
            ["author_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "channel_contacts",
        sa.Column("thread_key", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("thread_key", name=op.f("pk_channel_contacts")),
    )
    op.create_table(
        "webchat_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("thread_key", sa.String(length=255), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webchat_sessions")),
        sa.UniqueConstraint("thread_key", name=op.f("uq_webchat_sessions_thread_key")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_webchat_sessions_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("webchat_sessions")
    op.drop_table("channel_contacts")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_author_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_delivery"))
        batch_op.drop_column("external_id")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("delivery_error")
        batch_op.drop_column("delivery_attempts")
        batch_op.drop_column("delivery")
        batch_op.drop_column("author_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("feedback_requested_at")
        batch_op.drop_column("out_of_hours_replied")
        batch_op.drop_column("emergency_replied")
        batch_op.drop_column("lang")
        batch_op.drop_column("outcome")

    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_notes_conversation_id"))

    op.drop_table("conversation_notes")
    with op.batch_alter_table("conversation_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_feedback_district"))

    op.drop_table("conversation_feedback")
    op.drop_table("district_hours")
    op.drop_table("canned_replies")
