"""Language negotiation and the nn/en catalogues (bokmål is the source language)."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from stemme.errors import ConfigurationError, NotFoundError
from stemme.identity.access import ROLE_LABELS
from stemme.web import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def in_fresh_context(function: Callable[[], Any]) -> Any:
    """Run with a copy of the context, so set_language does not leak into other tests."""
    return contextvars.copy_context().run(function)


def catalog(language: str) -> Catalog:
    path = files("stemme.web") / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


# --- negotiate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "accept", "default", "expected"),
    [
        # the cookie wins
        ("nn", "en-GB,en;q=0.9", "nb", "nn"),
        ("en", "nn-NO", "nb", "en"),
        ("nb", "en", "nn", "nb"),
        # an unknown or empty cookie is ignored
        ("de", "en-GB;q=0.8", "nb", "en"),
        ("", "nn-NO", "nb", "nn"),
        ("NN", None, "nb", "nb"),
        # Accept-Language
        (None, "nn-NO", "nb", "nn"),
        (None, "nn", "en", "nn"),
        (None, "nb-NO,nb;q=0.9,no;q=0.8", "en", "nb"),
        (None, "no", "en", "nb"),
        (None, "no-NO", "nn", "nb"),
        (None, "en-GB;q=0.8", "nb", "en"),
        (None, "en-US,en;q=0.9", "nb", "en"),
        (None, "NN-no", "nb", "nn"),
        (None, " nn-NO ; q=0.5 ", "nb", "nn"),
        (None, "de-DE,de;q=0.9,nn;q=0.8,en;q=0.5", "nb", "nn"),
        (None, "fr, en-GB;q=0.8", "nn", "en"),
        # nothing usable: the configured default
        (None, "de-DE,fr;q=0.5", "nb", "nb"),
        (None, "de-DE,fr;q=0.5", "nn", "nn"),
        (None, "*", "en", "en"),
        (None, "", "nn", "nn"),
        (None, None, "nb", "nb"),
        (None, ",,;q=1", "en", "en"),
        (None, "sv-SE,da", "nb", "nb"),  # close, but not Norwegian
    ],
)
def test_negotiate(cookie: str | None, accept: str | None, default: str, expected: str) -> None:
    assert i18n.negotiate(cookie, accept, default) == expected


# --- set_language / current_language ---------------------------------------------------------


def test_default_language_is_bokmal() -> None:
    assert in_fresh_context(i18n.current_language) == i18n.SOURCE_LANGUAGE == "nb"


@pytest.mark.parametrize(
    ("requested", "current"), [("nn", "nn"), ("en", "en"), ("nb", "nb"), ("de", "nb"), ("", "nb")]
)
def test_set_language(requested: str, current: str) -> None:
    def scenario() -> str:
        i18n.set_language("en" if requested != "en" else "nn")
        i18n.set_language(requested)
        return i18n.current_language()

    assert in_fresh_context(scenario) == current


def test_language_is_per_context() -> None:
    def scenario() -> tuple[str, str]:
        i18n.set_language("nn")
        other = contextvars.copy_context()
        i18n.set_language("en")
        return other.run(i18n.current_language), i18n.current_language()

    assert in_fresh_context(scenario) == ("nn", "en")
    assert in_fresh_context(i18n.current_language) == "nb"


def test_gettext_follows_the_current_language() -> None:
    def scenario(language: str) -> tuple[str, str, str]:
        i18n.set_language(language)
        return (
            i18n.gettext_("Logg inn"),
            i18n.ngettext_("%(num)d hendelse", "%(num)d hendelser", 1),
            i18n.ngettext_("%(num)d hendelse", "%(num)d hendelser", 2),
        )

    assert in_fresh_context(lambda: scenario("nb")) == (
        "Logg inn",
        "%(num)d hendelse",
        "%(num)d hendelser",
    )
    assert in_fresh_context(lambda: scenario("en")) == ("Log in", "%(num)d event", "%(num)d events")
    assert in_fresh_context(lambda: scenario("nn")) == (
        "Logg inn",
        "%(num)d hending",
        "%(num)d hendingar",
    )


# --- the catalogues ----------------------------------------------------------------------------


def test_bokmal_and_unknown_languages_are_the_identity() -> None:
    for language in ("nb", "de", ""):
        translations = i18n.translations(language)
        assert translations.gettext("Logg inn") == "Logg inn"
        assert translations.gettext("not in any catalogue") == "not in any catalogue"


def test_nynorsk() -> None:
    nn = i18n.translations("nn")
    login = nn.gettext("Logg inn")
    assert isinstance(login, str)
    assert login == "Logg inn"  # the same words in nynorsk
    assert nn.gettext("Finnes ikke") == "Finst ikkje"
    assert nn.gettext("Ikke innlogget") == "Ikkje innlogga"
    assert nn.gettext("Noe gikk galt") == "Noko gjekk gale"
    assert nn.gettext("not in any catalogue") == "not in any catalogue"


def test_english() -> None:
    en = i18n.translations("en")
    assert en.gettext("Logg inn") == "Log in"
    assert en.gettext("Finnes ikke") == "Not found"


def test_translations_are_cached() -> None:
    assert i18n.translations("nn") is i18n.translations("nn")


@pytest.mark.parametrize("language", ["nn", "en"])
def test_catalogue_is_complete(language: str) -> None:
    missing = [
        message.id
        for message in catalog(language)
        if message.id
        and (
            not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
            or message.fuzzy
        )
    ]
    assert missing == []


@pytest.mark.parametrize("language", ["nn", "en"])
def test_catalogue_keeps_every_placeholder(language: str) -> None:
    """A translation that drops or misspells %(name)s crashes when it is formatted."""
    wrong = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(str(ids[-1])))
        for string in strings:
            if string and set(PLACEHOLDER.findall(str(string))) != expected:
                wrong.append((message.id, string))
    assert wrong == []


@pytest.mark.parametrize("language", ["nn", "en"])
def test_catalogues_share_the_same_messages(language: str) -> None:
    nn_ids = {message.id for message in catalog("nn") if message.id}
    assert {message.id for message in catalog(language) if message.id} == nn_ids


@pytest.mark.parametrize("language", ["nn", "en"])
def test_error_messages_render_translated(language: str) -> None:
    translations = i18n.translations(language)
    error = NotFoundError("Finnes ikke")
    assert error.render(translations.gettext) == translations.gettext("Finnes ikke")
    config = ConfigurationError(
        "Databasen %(driver)s støttes ikke; bruk sqlite:///fil eller postgresql+psycopg://…",
        driver="mysql",
    )
    rendered = config.render(translations.gettext)
    assert "mysql" in rendered
    assert rendered != str(config)


@pytest.mark.parametrize("language", ["nn", "en"])
def test_role_labels_are_translated(language: str) -> None:
    translations = i18n.translations(language)
    translated = {label: translations.gettext(label) for label in ROLE_LABELS.values()}
    assert all(isinstance(value, str) and value for value in translated.values())
    if language == "en":
        assert translated["Leder"] == "Leader"
    else:
        assert translated["Leder"] == "Leiar"
