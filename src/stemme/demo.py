"""Demo data: a fresh SQLite database with realistic users in several police districts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from stemme import schema
from stemme.config import Settings, load_settings
from stemme.db import make_engine, make_session_factory, transaction
from stemme.identity import service
from stemme.identity.access import command_line_principal
from stemme.identity.service import UserInput
from stemme.inbox import demo_inbox
from stemme.privacy.crypto import Keyring


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    name: str
    role: str
    districts: tuple[str, ...]
    password: str = ""


DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.stemme.no", "Ingrid Admin", "admin", ()),
    DemoAccount("leder.oslo@demo.stemme.no", "Kari Nordmann", "leader", ("Oslo",)),
    DemoAccount("leder.vest@demo.stemme.no", "Lars Bergersen", "leader", ("Vest",)),
    DemoAccount("analytiker@demo.stemme.no", "Aisha Rahman", "analyst", ()),
    DemoAccount("analytiker.trondelag@demo.stemme.no", "Ola Nilsen", "analyst", ("Trøndelag",)),
    DemoAccount("operator.oslo@demo.stemme.no", "Sofie Hansen", "operator", ("Oslo",)),
    DemoAccount("operator.ost@demo.stemme.no", "Jonas Berg", "operator", ("Øst", "Oslo")),
    DemoAccount("operator.finnmark@demo.stemme.no", "Máret Sara", "operator", ("Finnmark",)),
    DemoAccount("initiativ.agder@demo.stemme.no", "Per Olsen", "initiative_owner", ("Agder",)),
    DemoAccount(
        "initiativ.sorvest@demo.stemme.no", "Nora Haugland", "initiative_owner", ("Sør-Vest",)
    ),
)


def demo_settings(database: Path, port: int) -> Settings:
    """Settings for a local demo on http://127.0.0.1 (cookies still Secure: loopback is trusted)."""
    from stemme.privacy.crypto import generate_key

    return load_settings(
        database_url=f"sqlite:///{database.resolve()}",
        environment="development",
        public_base_url=f"http://127.0.0.1:{port}",
        # The demo database is rebuilt on every start, so a key per start is enough.
        encryption_keys=generate_key("demo"),
    )


def build(settings: Settings) -> list[DemoAccount]:
    """Recreate the demo database and load the demo data; returns accounts with passwords."""
    path = Path(settings.url.database or "")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(settings.url)
    try:
        schema.upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            accounts = [_create(session, account) for account in DEMO_ACCOUNTS]
            keyring = Keyring.from_setting(settings.encryption_keys)
            demo_inbox.load(session, keyring)
            return accounts
    finally:
        engine.dispose()


def _create(session: object, account: DemoAccount) -> DemoAccount:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    password = "demo-" + secrets.token_urlsafe(9)
    data = UserInput(account.email, account.role, account.districts, account.name)
    service.create_user(session, command_line_principal("demo"), data, password)
    return DemoAccount(account.email, account.name, account.role, account.districts, password)


def describe(accounts: list[DemoAccount], host: str, port: int) -> str:
    lines = [
        "",
        f"stemme demo: http://{host}:{port}/login",
        "Demo accounts (passwords are shown only now):",
    ]
    width = max(len(a.email) for a in accounts)
    for account in accounts:
        scope = ", ".join(account.districts) or "hele landet"
        lines.append(f"  {account.email:<{width}}  {account.password}  {account.role} ({scope})")
    lines.append("")
    return "\n".join(lines)
