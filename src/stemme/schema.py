"""Migrations: upgrade the database and check that it is current before serving."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from stemme.errors import ConfigurationError

NOT_MIGRATED_HINT = "Databasen er ikke oppdatert: kjør `stemme migrate` først."


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("stemme") / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as exc:
        raise ConfigurationError(
            "Får ikke kontakt med databasen: %(reason)s",
            reason=str(exc.orig).strip().splitlines()[0],
        ) from exc


def is_current(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()


def require_current(engine: Engine) -> None:
    if not is_current(engine):
        raise ConfigurationError(NOT_MIGRATED_HINT)
