"""The `stemme` command: in-process with Typer's CliRunner, and once as a real program."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from stemme import schema
from stemme.cli import app
from stemme.config import Settings
from stemme.db import make_engine, transaction
from stemme.errors import AuthenticationError
from stemme.identity import passwords, service
from stemme.identity.models import ApiToken, AuditEvent, User
from stemme.identity.service import LoginPolicy
from stemme.inbox.models import InboundDelivery
from tests.helpers import PASSWORD

runner = CliRunner()
BAD_URLS = ["not a url", "mysql://x/y", "postgresql+psycopg://host/"]
UNREACHABLE = "postgresql+psycopg://stemme:pw@127.0.0.1:1/stemme?connect_timeout=5"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No STEMME_ variables or .env file from outside; nothing written to the project."""
    for name in list(os.environ):
        if name.upper().startswith("STEMME_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with cheap parameters (the real ones: test_passwords.py)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: cheap)


@pytest.fixture
def url(settings: Settings) -> str:
    return settings.database_url


def run(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), env={"STEMME_DATABASE_URL": database_url}, input=stdin)


def succeeds(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    return result.stdout


def fails(result: Result) -> str:
    """Exit code 1 and exactly one line on stderr, starting with "stemme: "."""
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stemme: ")
    assert "Traceback" not in result.output
    return lines[0]


def create(
    database_url: str, email: str, role: str, *districts: str, password: str = PASSWORD
) -> Result:
    args = ["user", "create", "--email", email, "--role", role, "--password-stdin"]
    for district in districts:
        args += ["--district", district]
    return run(database_url, *args, stdin=password + "\n")


def stored_users(sessions: sessionmaker[Session]) -> list[User]:
    with sessions() as session:
        return list(session.scalars(select(User).order_by(User.email)))


def login(sessions: sessionmaker[Session], email: str, password: str = PASSWORD) -> User:
    with transaction(sessions) as session:
        return service.authenticate(session, email, password, LoginPolicy())


# --- migrate ---------------------------------------------------------------------------------


def test_migrate_an_empty_database(empty_database_url: URL) -> None:
    empty = empty_database_url.render_as_string(hide_password=False)
    assert fails(run(empty, "user", "list")) == f"stemme: {schema.NOT_MIGRATED_HINT}"
    assert succeeds(run(empty, "migrate")) == "Databasen er oppdatert.\n"
    assert succeeds(run(empty, "migrate")) == "Databasen er oppdatert.\n"  # idempotent
    assert succeeds(run(empty, "user", "list")) == ""
    engine = make_engine(empty_database_url)
    try:
        assert schema.is_current(engine)
    finally:
        engine.dispose()


COMMANDS_NEEDING_A_MIGRATED_DATABASE = [
    ["user", "list"],
    ["journal", "list"],
    ["journal", "retry", "--all"],
    ["user", "disable", "kari@politiet.no"],
    ["token", "create", "--user", "kari@politiet.no"],
    ["audit", "verify"],
    ["user", "create", "--email", "a@politiet.no", "--role", "analyst", "--password-stdin"],
]


def test_commands_refuse_an_unmigrated_database(
    empty_database_url: URL, subtests: pytest.Subtests
) -> None:
    empty = empty_database_url.render_as_string(hide_password=False)
    for args in COMMANDS_NEEDING_A_MIGRATED_DATABASE:
        with subtests.test(command=" ".join(args[:2])):
            line = fails(run(empty, *args, stdin=PASSWORD + "\n"))
            assert line == f"stemme: {schema.NOT_MIGRATED_HINT}"


@pytest.mark.parametrize("bad_url", BAD_URLS)
@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["user", "list"],
        ["user", "disable", "kari@politiet.no"],
        ["token", "create", "--user", "kari@politiet.no"],
        ["audit", "verify"],
        ["user", "create", "--email", "a@politiet.no", "--role", "analyst", "--password-stdin"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_malformed_database_url(bad_url: str, args: list[str]) -> None:
    line = fails(run(bad_url, *args, stdin=PASSWORD + "\n"))
    assert any(
        phrase in line
        for phrase in ("Ugyldig database-URL", "støttes ikke", "mangler databasenavn")
    ), line


@pytest.mark.parametrize("args", [["migrate"], ["user", "list"], ["audit", "verify"]])
def test_unreachable_database(args: list[str]) -> None:
    line = fails(run(UNREACHABLE, *args))
    assert line.startswith("stemme: Får ikke kontakt med databasen: ")
    assert "pw@" not in line


# --- user create ----------------------------------------------------------------------------


def test_user_create_with_districts(url: str, sessions: sessionmaker[Session]) -> None:
    out = succeeds(create(url, " Kari@Politiet.NO ", "operator", "oslo", "Vest politidistrikt"))
    assert out == "Opprettet kari@politiet.no (operator, Oslo, Vest).\n"
    [user] = stored_users(sessions)
    assert (user.email, user.role, user.districts) == (
        "kari@politiet.no",
        "operator",
        ("Oslo", "Vest"),
    )
    assert not user.national_scope
    with sessions() as session:
        [event] = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.actor) == ("user.create", "cli")
    assert login(sessions, "kari@politiet.no").id == user.id


def test_user_create_without_district_is_national(
    url: str, sessions: sessionmaker[Session]
) -> None:
    out = succeeds(create(url, "ola@politiet.no", "admin"))
    assert out == "Opprettet ola@politiet.no (admin, hele landet).\n"
    [user] = stored_users(sessions)
    assert user.national_scope
    assert user.districts == ()


def test_user_create_with_a_display_name(url: str, sessions: sessionmaker[Session]) -> None:
    args = ["user", "create", "--email", "a@politiet.no", "--role", "leader"]
    args += ["--district", "Agder", "--name", "Per Olsen", "--password-stdin"]
    succeeds(run(url, *args, stdin=PASSWORD + "\n"))
    [user] = stored_users(sessions)
    assert user.display_name == "Per Olsen"


def test_password_from_stdin_keeps_spaces_but_not_the_line_end(
    url: str, sessions: sessionmaker[Session]
) -> None:
    password = "  mellomrom rundt meg  "
    succeeds(create(url, "a@politiet.no", "analyst", password=password + "\r"))
    assert login(sessions, "a@politiet.no", password).email == "a@politiet.no"
    with pytest.raises(AuthenticationError):
        login(sessions, "a@politiet.no", password.strip())


def test_password_prompt(url: str, sessions: sessionmaker[Session]) -> None:
    args = ["user", "create", "--email", "a@politiet.no", "--role", "analyst"]
    result = run(url, *args, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Opprettet a@politiet.no" in result.stdout
    assert PASSWORD not in result.output  # the prompt does not echo
    assert login(sessions, "a@politiet.no").email == "a@politiet.no"


def test_password_prompt_mismatch_creates_nobody(url: str, sessions: sessionmaker[Session]) -> None:
    args = ["user", "create", "--email", "a@politiet.no", "--role", "analyst"]
    result = run(url, *args, stdin=f"{PASSWORD}\nsomething else entirely\n")
    assert result.exit_code != 0
    assert stored_users(sessions) == []


CREATE_ERRORS = {
    "role": (
        "a@politiet.no",
        "boss",
        [],
        PASSWORD,
        "stemme: Ukjent rolle: boss (gyldige: admin, leader, analyst, operator, initiative_owner)",
    ),
    "district": (
        "a@politiet.no",
        "operator",
        ["Atlantis"],
        PASSWORD,
        "stemme: Ukjent politidistrikt: Atlantis",
    ),
    "second-district": (
        "a@politiet.no",
        "operator",
        ["Oslo", "Narnia"],
        PASSWORD,
        "stemme: Ukjent politidistrikt: Narnia",
    ),
    "email": (
        "not-an-email",
        "operator",
        [],
        PASSWORD,
        "stemme: Ugyldig e-postadresse: not-an-email",
    ),
    "short": ("a@politiet.no", "operator", [], "kort", "stemme: Passordet må ha minst 12 tegn."),
    "empty": ("a@politiet.no", "operator", [], "", "stemme: Passordet må ha minst 12 tegn."),
    "simple": (
        "a@politiet.no",
        "operator",
        [],
        "a" * 20,
        "stemme: Passordet er for enkelt; bruk en lengre setning.",
    ),
}


def test_user_create_errors(
    url: str, sessions: sessionmaker[Session], subtests: pytest.Subtests
) -> None:
    for case, (email, role, districts, password, expected) in CREATE_ERRORS.items():
        with subtests.test(case=case):
            assert fails(create(url, email, role, *districts, password=password)) == expected
    assert stored_users(sessions) == []


def test_unknown_role_fails_before_reading_a_password(url: str) -> None:
    args = ["user", "create", "--email", "a@politiet.no", "--role", "boss"]
    result = run(url, *args)  # no --password-stdin and nothing to read: no prompt either
    assert "Passord" not in result.output
    fails(result)


def test_user_create_duplicate(url: str, sessions: sessionmaker[Session]) -> None:
    succeeds(create(url, "kari@politiet.no", "operator", "Oslo"))
    line = fails(create(url, "KARI@politiet.no", "analyst"))
    assert line == "stemme: Det finnes allerede en bruker med e-post kari@politiet.no."
    [user] = stored_users(sessions)
    assert user.role == "operator"


def test_missing_options_are_usage_errors(url: str) -> None:
    result = run(url, "user", "create", "--email", "a@politiet.no")
    assert result.exit_code == 2
    assert "--role" in result.stderr


# --- user list and user disable --------------------------------------------------------------


def test_user_list(url: str) -> None:
    succeeds(create(url, "b@politiet.no", "operator", "Oslo", "Øst"))
    succeeds(create(url, "a@politiet.no", "admin"))
    succeeds(create(url, "c@politiet.no", "initiative_owner", "Sør-Vest"))
    succeeds(run(url, "user", "disable", "c@politiet.no"))
    assert succeeds(run(url, "user", "list")).splitlines() == [
        "a@politiet.no\tadmin\t*\taktiv",
        "b@politiet.no\toperator\tOslo,Øst\taktiv",
        "c@politiet.no\tinitiative_owner\tSør-Vest\tdeaktivert",
    ]


def test_user_list_of_an_empty_database(url: str) -> None:
    assert succeeds(run(url, "user", "list")) == ""


def test_user_disable(url: str, sessions: sessionmaker[Session]) -> None:
    succeeds(create(url, "kari@politiet.no", "operator", "Oslo"))
    with transaction(sessions) as session:
        user = session.scalar(select(User))
        assert user is not None
        raw = service.start_session(session, user, timedelta(hours=1))
    assert succeeds(run(url, "user", "disable", "Kari@politiet.no")) == (
        "Deaktiverte kari@politiet.no.\n"
    )
    [user] = stored_users(sessions)
    assert not user.is_active
    with pytest.raises(AuthenticationError):
        login(sessions, "kari@politiet.no")
    with transaction(sessions) as session:
        assert service.resolve_session(session, raw, timedelta(hours=1)) is None


def test_user_disable_unknown(url: str) -> None:
    line = fails(run(url, "user", "disable", "ingen@politiet.no"))
    assert line == "stemme: Fant ingen bruker med e-post ingen@politiet.no."


# --- token create ----------------------------------------------------------------------------


def test_token_create_prints_only_the_token(url: str, sessions: sessionmaker[Session]) -> None:
    succeeds(create(url, "kari@politiet.no", "analyst", "Oslo"))
    out = succeeds(run(url, "token", "create", "--user", "kari@politiet.no", "--name", "rapport"))
    lines = out.splitlines()
    assert len(lines) == 1
    raw = lines[0]
    assert raw.startswith("stm_")
    assert raw == raw.strip()
    with transaction(sessions) as session:
        assert service.resolve_token(session, raw).email == "kari@politiet.no"
    with sessions() as session:
        [token] = session.scalars(select(ApiToken)).all()
    assert token.name == "rapport"
    assert raw not in (token.token_hash, token.prefix, token.name)


def test_token_create_default_name(url: str, sessions: sessionmaker[Session]) -> None:
    succeeds(create(url, "kari@politiet.no", "analyst", "Oslo"))
    succeeds(run(url, "token", "create", "--user", "kari@politiet.no"))
    with sessions() as session:
        assert session.scalars(select(ApiToken.name)).all() == ["cli"]


def test_token_create_errors(url: str) -> None:
    assert fails(run(url, "token", "create", "--user", "ingen@politiet.no")) == (
        "stemme: Fant ingen bruker med e-post ingen@politiet.no."
    )
    succeeds(create(url, "kari@politiet.no", "analyst", "Oslo"))
    succeeds(run(url, "user", "disable", "kari@politiet.no"))
    assert fails(run(url, "token", "create", "--user", "kari@politiet.no")) == (
        "stemme: Brukeren er deaktivert."
    )


# --- audit verify ----------------------------------------------------------------------------


def test_audit_verify(url: str, sessions: sessionmaker[Session]) -> None:
    assert succeeds(run(url, "audit", "verify")) == (
        "Revisjonsloggen er i orden: 0 hendelser kontrollert.\n"
    )
    succeeds(create(url, "kari@politiet.no", "analyst", "Oslo"))
    succeeds(create(url, "ola@politiet.no", "analyst", "Oslo"))
    succeeds(run(url, "user", "disable", "ola@politiet.no"))
    assert succeeds(run(url, "audit", "verify")) == (
        "Revisjonsloggen er i orden: 3 hendelser kontrollert.\n"
    )


def test_audit_verify_broken(url: str, engine: Engine) -> None:
    for email in ("a@politiet.no", "b@politiet.no", "c@politiet.no"):
        succeeds(create(url, email, "analyst", "Oslo"))
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(district="Vest"))
    assert fails(run(url, "audit", "verify")) == (
        "stemme: Revisjonsloggen er brutt ved nr. 2 (altered); 1 hendelser før den er i orden."
    )


# --- journal list and journal retry -----------------------------------------------------------


def journalled(
    sessions: sessionmaker[Session], mid: str, attempts: int, *, error: str | None = None
) -> int:
    """A journal row (the ciphertext does not matter here), received a day ago."""
    from stemme.db import utcnow

    row = InboundDelivery(
        uid=mid.ljust(32, "0"),
        channel="messenger",
        channel_message_id=mid,
        thread_key="PAGE:PSID",
        channel_district="Oslo",
        raw_encrypted=b"ciphertext",
        received_at=utcnow().replace(microsecond=0) - timedelta(days=1),
        attempts=attempts,
        last_error=error,
    )
    with transaction(sessions) as session:
        session.add(row)
        session.flush()
        return row.id


def journal_attempts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(select(InboundDelivery.channel_message_id, InboundDelivery.attempts))
        return dict(rows.all())


def test_journal_list(url: str, sessions: sessionmaker[Session]) -> None:
    assert succeeds(run(url, "journal", "list")) == (
        "Ingen meldinger står fast i mottaksjournalen.\n"
    )
    late = journalled(sessions, "late", 1, error="OperationalError")
    given_up = journalled(sessions, "given-up", 5, error="RuntimeError")
    with sessions() as session:
        # Each row shows its own time: the two may fall on either side of a second.
        late_at, given_up_at = (
            f"{session.get_one(InboundDelivery, number).received_at:%Y-%m-%d %H:%M:%S}Z"
            for number in (late, given_up)
        )
    assert succeeds(run(url, "journal", "list")).splitlines() == [
        "NR  KANAL      MOTTATT               FORSØK  SISTE FEIL        NESTE FORSØK",
        f"{late:<2}  messenger  {late_at}  1       OperationalError  -",
        f"{given_up:<2}  messenger  {given_up_at}  5       RuntimeError      gitt opp",
    ]
    assert succeeds(run(url, "journal", "list", "--limit", "1")).splitlines()[-1] == (
        "Viser 1 av 2."
    )


def test_journal_retry(url: str, sessions: sessionmaker[Session]) -> None:
    journalled(sessions, "waiting", 2)
    given_up = journalled(sessions, "given-up", 5)
    journalled(sessions, "given-up-too", 5)
    assert succeeds(run(url, "journal", "retry", str(given_up))) == (
        f"Melding nr. {given_up} prøves igjen.\n"
    )
    assert journal_attempts(sessions) == {"waiting": 2, "given-up": 0, "given-up-too": 5}
    assert succeeds(run(url, "journal", "retry", "--all")) == (
        "1 meldinger som var gitt opp, prøves igjen.\n"
    )
    assert journal_attempts(sessions) == {"waiting": 2, "given-up": 0, "given-up-too": 0}
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        actors = set(session.scalars(select(AuditEvent.actor)))
    assert actions == ["journal.retry", "journal.retry_given_up"]
    assert actors == {"cli"}


def test_journal_retry_errors(url: str) -> None:
    assert fails(run(url, "journal", "retry", "999")) == (
        "stemme: Fant ingen melding nr. 999 i mottaksjournalen."
    )
    expected = "stemme: Oppgi enten nummeret på én melding eller --all."
    assert fails(run(url, "journal", "retry")) == expected
    assert fails(run(url, "journal", "retry", "1", "--all")) == expected


# --- help --------------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("migrate", "serve", "demo", "user", "token", "audit", "journal"):
        assert command in result.stdout
    user_help = runner.invoke(app, ["user", "--help"])
    for command in ("create", "list", "disable"):
        assert command in user_help.stdout


# --- the installed console script --------------------------------------------------------------


def test_console_script(url: str, tmp_path: Path) -> None:
    # The script installed beside this interpreter (a venv's), not whichever is first on PATH.
    here = Path(sys.executable).parent
    program = shutil.which("stemme", path=str(here)) or shutil.which("stemme")
    assert program is not None, "the stemme console script is not installed"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STEMME_")}
    env["STEMME_DATABASE_URL"] = url

    def stemme(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [program, *args],
            input=stdin,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    created = stemme(
        "user", "create", "--email", "Kari@Politiet.no", "--role", "leader",
        "--district", "Oslo", "--district", "trondelag", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout == "Opprettet kari@politiet.no (leader, Oslo, Trøndelag).\n"
    assert created.stderr == ""

    listed = stemme("user", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "kari@politiet.no\tleader\tOslo,Trøndelag\taktiv\n"

    refused = stemme("user", "create", "--email", "x@politiet.no", "--role", "boss")
    assert refused.returncode == 1
    assert refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("stemme: Ukjent rolle: boss")


def test_triage_export_labels_writes_the_latest_correction_with_redacted_text(
    url: str, sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    import json

    from stemme.db import utcnow
    from stemme.identity.access import command_line_principal
    from stemme.inbox import service as inbox
    from stemme.inbox.types import InboundMessage
    from stemme.privacy.crypto import Keyring

    keyring = Keyring.from_setting(settings.encryption_keys)
    principal = command_line_principal()
    with transaction(sessions) as session:
        text_in = "Ring meg på 912 34 567, noen selger hasj bak skolen"
        received = inbox.receive(
            session, keyring, InboundMessage("webchat", "cli", "cli-1", text_in, utcnow(), "Oslo")
        )
        inbox.analyze_pending(session, keyring)
        inbox.correct_triage(session, principal, received.message_id, "question", False)
        inbox.correct_triage(session, principal, received.message_id, "tip", True)
    target = tmp_path / "labels.jsonl"
    result = run(url, "triage", "export-labels", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    [line] = target.read_text(encoding="utf-8").splitlines()
    label = json.loads(line)
    assert (label["category"], label["urgent"]) == ("tip", True)
    assert "912 34 567" not in label["text"]
    assert "<PHONE>" in label["text"]


def test_several_web_processes_need_postgresql(url: str) -> None:
    if not url.startswith("sqlite"):
        pytest.skip("refused only on SQLite")
    result = run(url, "serve", "--workers", "2")
    assert result.exit_code == 1
    assert "PostgreSQL" in result.output
