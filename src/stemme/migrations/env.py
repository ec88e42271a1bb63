"""Alembic environment: runs with the connection or URL handed over by stemme.schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from stemme.db import make_engine
from stemme.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # pragma: no cover - used by `alembic revision --autogenerate` during development
    from stemme.config import parse_database_url

    engine = make_engine(parse_database_url(config.get_main_option("sqlalchemy.url") or ""))
    with engine.begin() as conn:
        _run(conn)
