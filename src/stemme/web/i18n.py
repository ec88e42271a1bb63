"""Translations with Babel. Bokmål is the source language; nn and en have catalogues.

The catalogues are the ``.po`` files themselves, compiled in memory at start-up, so there
is no build step and no stale ``.mo`` file.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import cache
from importlib.resources import files
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES: dict[str, str] = {"nb": "Norsk bokmål", "nn": "Norsk nynorsk", "en": "English"}
SOURCE_LANGUAGE = "nb"

_current: ContextVar[str] = ContextVar("stemme_language", default=SOURCE_LANGUAGE)


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    path = files("stemme.web") / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else SOURCE_LANGUAGE)


def current_language() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def negotiate(cookie_value: str | None, accept_language: str | None, default: str) -> str:
    """The cookie wins, then the browser's Accept-Language, then the configured default."""
    if cookie_value in LANGUAGES:
        return cookie_value
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base == "no":
            return "nb"
        if base in LANGUAGES:
            return base
    return default
