"""Messenger pages and Instagram accounts managed in the admin UI (besides the settings).

A page has an access token (stored only encrypted) and may belong to a police district, whose
queue its messages start in. ``STEMME_META_PAGE_TOKENS`` / ``STEMME_META_PAGE_DISTRICTS``
still work; a page saved in the admin UI takes precedence over the same page in settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from stemme import geo
from stemme.config import Settings
from stemme.db import Base, UTCDateTime, reader, utcnow
from stemme.errors import InvalidInputError, NotFoundError
from stemme.identity import audit
from stemme.identity.access import Permission, Principal
from stemme.privacy.crypto import Keyring

PLATFORMS = ("messenger", "instagram")
CACHE_SECONDS = 10.0


class ChannelPage(Base):
    __tablename__ = "channel_pages"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _associated(page_id: str) -> bytes:
    return b"page:" + page_id.encode()


@dataclass(frozen=True, slots=True)
class PageView:
    page_id: str
    platform: str
    name: str
    district: str | None
    active: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Pages:
    """Access token and district per page id (settings merged with the admin UI's pages)."""

    tokens: dict[str, str] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)


def load_pages(session: Session, keyring: Keyring | None, settings: Settings) -> Pages:
    tokens = dict(settings.meta_page_tokens)
    districts = dict(settings.meta_page_districts)
    if keyring is not None:
        for page in session.scalars(select(ChannelPage).where(ChannelPage.active.is_(True))):
            tokens[page.page_id] = keyring.decrypt(page.token_encrypted, _associated(page.page_id))
            if page.district:
                districts[page.page_id] = page.district
            else:
                districts.pop(page.page_id, None)
    return Pages(tokens, districts)


class PageDirectory:
    """The current pages, re-read from the database at most every CACHE_SECONDS."""

    def __init__(
        self, sessions: sessionmaker[Session], keyring: Keyring | None, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.keyring = keyring
        self.settings = settings
        self._lock = threading.Lock()
        self._pages: Pages | None = None
        self._loaded = 0.0

    def __call__(self) -> Pages:
        with self._lock:
            if self._pages is None or time.monotonic() - self._loaded > CACHE_SECONDS:
                with reader(self.sessions) as session:
                    self._pages = load_pages(session, self.keyring, self.settings)
                self._loaded = time.monotonic()
            return self._pages

    def forget(self) -> None:
        """Re-read on the next call (after a page was saved in this process)."""
        with self._lock:
            self._pages = None


PageSource = Callable[[], Pages]


# --- administration --------------------------------------------------------------------------


def list_pages(session: Session, principal: Principal) -> list[PageView]:
    principal.require(Permission.MANAGE_INBOX)
    pages = session.scalars(select(ChannelPage).order_by(ChannelPage.name)).all()
    return [
        PageView(p.page_id, p.platform, p.name, p.district, p.active, p.updated_at)
        for p in pages
        if principal.is_national or principal.covers(p.district)
    ]


def save_page(
    session: Session,
    principal: Principal,
    keyring: Keyring,
    *,
    page_id: str,
    platform: str,
    name: str,
    district: str | None,
    token: str | None,
    active: bool = True,
) -> ChannelPage:
    """Add or change a page; an empty ``token`` keeps the stored one."""
    principal.require(Permission.MANAGE_INBOX)
    page_id, name, token = page_id.strip(), name.strip(), (token or "").strip()
    if not page_id.isdigit() or len(page_id) > 64:
        raise InvalidInputError("Side-ID-en må være sifre (slik Meta viser den).")
    if platform not in PLATFORMS:
        raise InvalidInputError("Velg Messenger eller Instagram.")
    if not name:
        raise InvalidInputError("Gi siden et navn.")
    if district is not None and district not in geo.POLICE_DISTRICTS:
        raise InvalidInputError("Ukjent politidistrikt: %(district)s", district=district)
    if not principal.is_national:
        principal.require_district(district)
    page = session.get(ChannelPage, page_id)
    if page is not None and not principal.is_national:
        principal.require_district(page.district)
    if page is None:
        if not token:
            raise InvalidInputError("En ny side trenger en tilgangsnøkkel fra Meta.")
        page = ChannelPage(page_id=page_id, token_encrypted=b"")
        session.add(page)
    page.platform, page.name, page.district, page.active = platform, name, district, active
    page.updated_at = utcnow()
    if token:
        page.token_encrypted = keyring.encrypt(token, _associated(page_id))
    session.flush()
    audit.record(
        session,
        principal,
        "channel_page.save",
        "channel_page",
        page_id,
        district=district,
        details={"platform": platform, "active": active, "token_changed": bool(token)},
    )
    return page


def get_page(session: Session, principal: Principal, page_id: str) -> PageView:
    for page in list_pages(session, principal):
        if page.page_id == page_id:
            return page
    raise NotFoundError("Fant ingen side %(page)s.", page=page_id)
