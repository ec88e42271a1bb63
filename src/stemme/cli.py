"""The `stemme` command: a thin adapter over the same services as the web app."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from stemme import schema
from stemme.config import Settings, load_settings
from stemme.db import make_engine, make_session_factory, transaction
from stemme.errors import StemmeError
from stemme.identity import audit, service
from stemme.identity.access import command_line_principal

app = typer.Typer(
    help="stemme – innbyggerdialog for politiet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
user_app = typer.Typer(help="Brukere og roller.", no_args_is_help=True)
token_app = typer.Typer(help="Personlige API-nøkler.", no_args_is_help=True)
audit_app = typer.Typer(help="Revisjonsloggen.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="Krypteringsnøkler for originaler.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
triage_app = typer.Typer(help="Sortering av meldinger (triage).", no_args_is_help=True)
app.add_typer(triage_app, name="triage")
journal_app = typer.Typer(
    help="Mottaksjournalen: meldinger fra Messenger, Instagram og broen som ikke er arkivert.",
    no_args_is_help=True,
)
app.add_typer(journal_app, name="journal")

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str) -> typer.Exit:
    typer.echo(f"stemme: {message}", err=True)
    return typer.Exit(code=1)


def clear_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Known errors end the command with one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except StemmeError as exc:
            raise fail(exc.render()) from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise fail(f"Får ikke kontakt med databasen: {reason}") from None

    return wrapper


@contextmanager
def unit_of_work(settings: Settings | None = None) -> Iterator[Session]:
    settings = settings or load_settings()
    engine = make_engine(settings.url)
    try:
        schema.require_current(engine)
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


# --- database and server ---------------------------------------------------------------


@app.command()
@clear_errors
def migrate() -> None:
    """Upgrade the database (STEMME_DATABASE_URL) to the newest schema."""
    settings = load_settings()
    engine = make_engine(settings.url)
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()
    typer.echo("Databasen er oppdatert.")


@app.command()
@clear_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Web processes (PostgreSQL only; SQLite has one writer)")
    ] = 1,
) -> None:
    """Serve the web app and the API against the configured database."""
    settings = load_settings()
    if workers > 1 and settings.is_sqlite:
        raise fail("Flere prosesser (--workers) krever PostgreSQL; SQLite har én skriver.")
    run_server(settings, host, port, workers)


def run_server(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from stemme.app import create_app

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
        "log_config": None,
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    engine = make_engine(settings.url)
    try:
        schema.require_current(engine)  # before forking: one clear line, not one per process
    finally:
        engine.dispose()
    # every process must sign CSRF tokens with the same key
    os.environ.setdefault("STEMME_SECRET_KEY", settings.secret_key)
    uvicorn.run("stemme.app:app_from_environment", factory=True, workers=workers, **options)


@app.command()
@clear_errors
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Analyse what is pending, then exit")
    ] = False,
) -> None:
    """Analyse received messages in the foreground (instead of the web process)."""
    from stemme.channels.pages import PageDirectory
    from stemme.channels.senders import build_senders
    from stemme.jobs import Worker
    from stemme.jobs.housekeeping import enforce_retention
    from stemme.privacy.crypto import Keyring

    settings = load_settings()
    keyring = Keyring.from_setting(settings.encryption_keys)
    engine = make_engine(settings.url)
    try:
        schema.require_current(engine)
        sessions = make_session_factory(engine)
        pages = PageDirectory(sessions, keyring, settings)
        job = Worker(
            sessions,
            keyring,
            senders=build_senders(settings, pages),
            housekeeping=lambda: enforce_retention(sessions, settings),
        )
        if once:
            typer.echo(f"Behandlet {job.drain()} meldinger.")
            return
        typer.echo("Arbeideren kjører; avslutt med Ctrl+C.")
        try:
            job.run_forever()
        except KeyboardInterrupt:  # pragma: no cover - interactive
            job.stop()
    finally:
        engine.dispose()


@app.command()
@clear_errors
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what is due; delete nothing")
    ] = False,
) -> None:
    """Apply the retention rules now (a running worker does it every hour)."""
    from stemme.jobs.housekeeping import enforce_retention, retention_rules

    settings = load_settings()
    engine = make_engine(settings.url)
    try:
        schema.require_current(engine)
        counts = enforce_retention(make_session_factory(engine), settings, dry_run=dry_run)
    finally:
        engine.dispose()
    verb = "til sletting" if dry_run else "behandlet"
    for rule in retention_rules(settings):
        typer.echo(f"{rule.name}: {counts[rule.name]} {verb} ({rule.description})")


@app.command()
@clear_errors
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    database: Annotated[Path, typer.Option(help="Demo database file (recreated)")] = Path(
        "stemme-demo.sqlite3"
    ),
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only build the database")] = False,
) -> None:
    """Create a fresh demo database with Norwegian demo data and serve it."""
    from stemme import demo as demo_data

    settings = demo_data.demo_settings(database, port)
    accounts = demo_data.build(settings)
    typer.echo(demo_data.describe(accounts, host, port))
    if not no_serve:
        run_server(settings, host, port)


# --- users and tokens --------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Passord", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
@clear_errors
def user_create(
    email: Annotated[str, typer.Option(help="E-mail address (the login name)")],
    role: Annotated[str, typer.Option(help="admin, leader, analyst, operator, initiative_owner")],
    district: Annotated[
        list[str] | None, typer.Option(help="Police district; repeat; none = whole country")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Create a user (the password is prompted for, or read from stdin)."""
    data = service.UserInput(email, role, tuple(district or ()), name)
    service.parse_role(role)  # fail before asking for a password
    service.parse_districts(data.districts)
    password = _read_password(password_stdin)
    with unit_of_work() as session:
        user = service.create_user(session, command_line_principal(), data, password)
        scope = ", ".join(user.districts) or "hele landet"
        typer.echo(f"Opprettet {user.email} ({user.role}, {scope}).")


@user_app.command("list")
@clear_errors
def user_list() -> None:
    """List all users with role, districts and status."""
    with unit_of_work() as session:
        for user in service.list_users(session, command_line_principal()):
            scope = ",".join(user.districts) or "*"
            status = "aktiv" if user.is_active else "deaktivert"
            typer.echo(f"{user.email}\t{user.role}\t{scope}\t{status}")


@user_app.command("disable")
@clear_errors
def user_disable(email: Annotated[str, typer.Argument(help="E-mail of the user")]) -> None:
    """Disable a user: no more logins, sessions ended, tokens refused."""
    with unit_of_work() as session:
        user = service.disable_user_by_email(session, command_line_principal(), email)
        typer.echo(f"Deaktiverte {user.email}.")


@token_app.command("create")
@clear_errors
def token_create(
    user: Annotated[str, typer.Option(help="E-mail of the token's owner")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Create a personal API token; prints only the token."""
    with unit_of_work() as session:
        actor = command_line_principal()
        owner = service.get_user_by_email(session, actor, user)
        _, raw = service.create_token(session, actor, owner, name)
    typer.echo(raw)


@audit_app.command("verify")
@clear_errors
def audit_verify() -> None:
    """Recompute the audit log's hash chain; exit 1 if any entry was changed or removed."""
    with unit_of_work() as session:
        result = audit.verify(session, command_line_principal())
    if not result.ok:
        raise fail(
            f"Revisjonsloggen er brutt ved nr. {result.first_bad_seq} ({result.reason}); "
            f"{result.checked} hendelser før den er i orden."
        )
    typer.echo(f"Revisjonsloggen er i orden: {result.checked} hendelser kontrollert.")


# --- the intake journal ---------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z" if moment else "-"


@journal_app.command("list")
@clear_errors
def journal_list(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many rows")] = 100,
) -> None:
    """Rows stuck in the intake journal: given up, or waiting more than 5 minutes."""
    from stemme.inbox import stuck

    with unit_of_work() as session:
        actor = command_line_principal()
        summary = stuck.stuck_summary(session, actor)
        rows = stuck.list_stuck(session, actor, limit=limit)
    if not rows:
        typer.echo("Ingen meldinger står fast i mottaksjournalen.")
        return
    table = [("NR", "KANAL", "MOTTATT", "FORSØK", "SISTE FEIL", "NESTE FORSØK")]
    table += [
        (
            str(row.id),
            row.channel,
            _when(row.received_at),
            str(row.attempts),
            row.last_error or "-",
            "gitt opp" if row.given_up else _when(row.next_attempt_at),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())
    if summary.count > len(rows):
        typer.echo(f"Viser {len(rows)} av {summary.count}.")


@journal_app.command("retry")
@clear_errors
def journal_retry(
    row_id: Annotated[int | None, typer.Argument(help="The row's number (NR)")] = None,
    all_given_up: Annotated[
        bool, typer.Option("--all", help="Every row given up after too many attempts")
    ] = False,
) -> None:
    """Try stuck rows again now: one by its number, or --all given up."""
    from stemme.inbox import stuck

    if (row_id is None) == (not all_given_up):
        raise fail("Oppgi enten nummeret på én melding eller --all.")
    with unit_of_work() as session:
        actor = command_line_principal()
        if row_id is not None:
            stuck.retry_one(session, actor, row_id)
            typer.echo(f"Melding nr. {row_id} prøves igjen.")
            return
        released = stuck.retry_given_up(session, actor)
    typer.echo(f"{released} meldinger som var gitt opp, prøves igjen.")


# --- message understanding --------------------------------------------------------------


@app.command()
@clear_errors
def analyze(
    input: Annotated[
        Path | None, typer.Option(help="JSON Lines with id and text (default stdin)")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Predictions file (default stdout)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad line")] = False,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Rules only, no trained model")
    ] = False,
) -> None:
    """Language, personal data, category, urgency and district of each message (JSON Lines)."""
    from stemme.understanding.cli import run_analyze

    raise typer.Exit(code=run_analyze(input, output, strict, use_model=not no_model))


@app.command()
@clear_errors
def redact(
    input: Annotated[
        Path | None, typer.Option(help="JSON Lines with id and text (default stdin)")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Output file (default stdout)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad line")] = False,
) -> None:
    """The redacted text of each message, one line per input line."""
    from stemme.understanding.cli import run_redact

    raise typer.Exit(code=run_redact(input, output, strict))


@triage_app.command("train")
@clear_errors
def triage_train(
    labels: Annotated[Path | None, typer.Option(help="Operator corrections (JSON Lines)")] = None,
    output: Annotated[Path | None, typer.Option(help="Where to save the model")] = None,
) -> None:
    """Retrain the triage model from the shipped examples plus corrections; print CV macro-F1."""
    from stemme.understanding.cli import run_train

    typer.echo(run_train(labels, output))


@triage_app.command("export-labels")
@clear_errors
def triage_export_labels(
    output: Annotated[Path, typer.Option(help="Where to write the labels (JSON Lines)")],
) -> None:
    """Write the operators' triage corrections (redacted text) for `triage train --labels`."""
    import json

    from stemme.inbox.service import training_labels

    with unit_of_work() as session:
        labels = training_labels(session)
    with output.open("w", encoding="utf-8") as handle:
        for label in labels:
            handle.write(json.dumps(label, ensure_ascii=False) + "\n")
    typer.echo(f"Skrev {len(labels)} rettelser til {output}.")


@keys_app.command("generate")
@clear_errors
def keys_generate(
    key_id: Annotated[str | None, typer.Option("--id", help="Key id (default: random)")] = None,
) -> None:
    """Print a new key entry; put it first in STEMME_ENCRYPTION_KEYS to rotate."""
    from stemme.privacy.crypto import generate_key

    typer.echo(generate_key(key_id))


def main() -> None:
    app()
