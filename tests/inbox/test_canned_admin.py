"""Managing canned replies (inbox.work): listing by key, create, update and delete with
validation in Norwegian, who may change them (national admins and leaders), the audit log,
and how the reply box uses what was changed (bokmål as each key's fallback)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from stemme.errors import ConflictError, NotFoundError, PermissionDeniedError
from stemme.identity.access import Principal, command_line_principal
from stemme.identity.models import AuditEvent, User
from stemme.inbox import work
from stemme.inbox.models import CannedReply
from stemme.understanding.language import LANGS
from tests.inbox import factory

SEEDED = ["call_02800", "call_112", "closing", "greeting", "report_online"]
BODY = "Hei fra {operator} i {district}."


@dataclass
class Who:
    admin: Principal  # national
    national_leader: Principal
    oslo_leader: Principal
    operator: Principal
    analyst: Principal
    owner: Principal


@pytest.fixture
def who(make_user: Callable[..., User]) -> Who:
    def p(role: str, districts: list[str] | None = None) -> Principal:
        return factory.principal(make_user(role, districts))

    return Who(
        admin=p("admin"),
        national_leader=p("leader"),
        oslo_leader=p("leader", ["Oslo"]),
        operator=p("operator"),
        analyst=p("analyst"),
        owner=p("initiative_owner", ["Oslo"]),
    )


def _audit(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- constants -----------------------------------------------------------------------------


def test_canned_languages_are_the_languages_a_conversation_can_have() -> None:
    assert set(work.CANNED_LANGUAGES) == set(LANGS) - {"other"}
    assert work.CANNED_LANGUAGES[0] == work.FALLBACK_LANGUAGE == "nb"


def test_fill_variables_fills_every_known_variable() -> None:
    everything = " ".join("{" + name + "}" for name in work.CANNED_VARIABLES)
    assert "{" not in work.fill_variables(everything, {})
    assert work.fill_variables("{district}/{operator}", {"district": "Øst"}) == "Øst/"


# --- listing -------------------------------------------------------------------------------


def test_list_groups_versions_by_key_bokmal_first_with_missing_languages(
    db: Session, who: Who
) -> None:
    groups = work.list_canned(db, who.oslo_leader)  # seeing is allowed to district leaders
    assert [g.key for g in groups] == SEEDED
    greeting = next(g for g in groups if g.key == "greeting")
    assert [v.lang for v in greeting.versions] == ["nb", "nn", "en", "sv"]
    assert greeting.missing == ("da",)
    assert greeting.title == "Hilsen"


@pytest.mark.parametrize("role", ["operator", "analyst", "owner"])
def test_only_inbox_managers_see_the_list(db: Session, who: Who, role: str) -> None:
    with pytest.raises(PermissionDeniedError):
        work.list_canned(db, getattr(who, role))


# --- creating: validation ------------------------------------------------------------------

VALID = {"key": "pass-fornyelse", "lang": "nb", "title": "Pass", "body": BODY}
LONG_KEY = "a" * (work.MAX_CANNED_KEY + 1)
LONG_TITLE = "T" * (work.MAX_CANNED_TITLE + 1)
LONG_BODY = "x" * (work.MAX_CANNED_BODY + 1)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"key": ""}, "key", "Skriv inn en nøkkel."),
        ({"key": "  "}, "key", "Skriv inn en nøkkel."),
        ({"key": "pass fornyelse"}, "key", "Nøkkelen kan bare ha små bokstaver"),
        ({"key": "pass/fornyelse"}, "key", "Nøkkelen kan bare ha små bokstaver"),
        ({"key": "-pass"}, "key", "Nøkkelen kan bare ha små bokstaver"),
        ({"key": "pass-æøå"}, "key", "Nøkkelen kan bare ha små bokstaver"),
        ({"key": LONG_KEY}, "key", "(høyst 40 tegn)"),
        ({"lang": ""}, "lang", "Ukjent språk: . Velg et av nb, nn, en, sv, da."),
        ({"lang": "de"}, "lang", "Ukjent språk: de."),
        ({"lang": "other"}, "lang", "Ukjent språk: other."),
        ({"title": ""}, "title", "Skriv inn en tittel."),
        ({"title": " \n "}, "title", "Skriv inn en tittel."),
        ({"title": LONG_TITLE}, "title", "Tittelen er for lang (høyst 120 tegn)."),
        ({"body": ""}, "body", "Skriv inn teksten."),
        ({"body": "\r\n  "}, "body", "Skriv inn teksten."),
        ({"body": LONG_BODY}, "body", "Teksten er for lang (høyst 1800 tegn)."),
        (
            {"body": "Hilsen {navn}"},
            "body",
            "Teksten bruker variabler som ikke finnes: {navn}. Du kan bruke {district}, "
            "{operator}.",
        ),
        (
            {"body": "{Operator} i {distrikt}, {Operator} og { district }"},
            "body",
            "variabler som ikke finnes: {Operator}, {distrikt}, { district }.",
        ),
        ({"body": "Tom {} variabel"}, "body", "variabler som ikke finnes: {}."),
    ],
)
def test_invalid_fields_are_refused_in_norwegian(
    db: Session, who: Who, changes: dict[str, str], field: str, message: str
) -> None:
    data = {**VALID, **changes}
    with pytest.raises(work.CannedInputError) as raised:
        work.create_canned(db, who.admin, **data)
    assert list(raised.value.fields) == [field]
    assert message in raised.value.fields[field].render()
    assert raised.value.status == 422
    assert db.scalar(select(CannedReply).where(CannedReply.key == data["key"])) is None


def test_every_invalid_field_is_named_at_once(db: Session, who: Who) -> None:
    with pytest.raises(work.CannedInputError) as raised:
        work.create_canned(db, who.admin, "Ugyldig nøkkel", "xx", "", "{x}")
    assert list(raised.value.fields) == ["key", "lang", "title", "body"]
    assert raised.value.errors[0] == {
        "loc": ["body", "key"],
        "msg": "Nøkkelen kan bare ha små bokstaver a–z, sifre, bindestrek og understrek "
        "(høyst 40 tegn).",
    }


def test_create_tidies_the_input_and_audits_without_the_text(db: Session, who: Who) -> None:
    created = work.create_canned(
        db, who.admin, "  Pass-Fornyelse ", "nb", "  Pass  ", "Linje 1\r\nLinje 2 {district}\n"
    )
    assert created == work.CannedView("pass-fornyelse", "nb", "Pass", "Linje 1\nLinje 2 {district}")
    [event] = _audit(db, "canned_reply.create")
    assert (event.object_type, event.object_id) == ("canned_reply", "pass-fornyelse/nb")
    assert event.details == {"key": "pass-fornyelse", "lang": "nb"}
    assert event.district is None


def test_a_key_with_underscores_from_the_seed_gets_a_new_language(db: Session, who: Who) -> None:
    created = work.create_canned(db, who.admin, "call_112", "da", "Ring 112", "Ring 112 nu.")
    assert created.lang == "da"
    assert work.get_canned_group(db, who.admin, "call_112").missing == ()


def test_duplicate_key_and_language_is_a_conflict(db: Session, who: Who) -> None:
    with pytest.raises(ConflictError, match="greeting finnes allerede på språket nb"):
        work.create_canned(db, who.admin, "greeting", "nb", "Hei", "Hei")
    with pytest.raises(ConflictError):
        work.create_canned(db, who.admin, "GREETING ", "en", "Hi", "Hi")  # tidied first


def test_a_new_key_starts_in_bokmal(db: Session, who: Who) -> None:
    with pytest.raises(work.CannedInputError) as raised:
        work.create_canned(db, who.admin, "ny", "en", "New", "New text")
    assert list(raised.value.fields) == ["lang"]
    assert "Lag bokmålsversjonen først" in raised.value.render()
    work.create_canned(db, who.admin, "ny", "nb", "Ny", "Ny tekst")
    assert work.create_canned(db, who.admin, "ny", "en", "New", "New text").lang == "en"


# --- who may change them -------------------------------------------------------------------


def _changes(key: str) -> dict[str, Callable[[Session, Principal], object]]:
    return {
        "create": lambda s, p: work.create_canned(s, p, key, "nb", "T", "Tekst"),
        "update": lambda s, p: work.update_canned(s, p, "greeting", "en", "T", "Tekst"),
        "delete": lambda s, p: work.delete_canned(s, p, "greeting", "en"),
        "delete_key": lambda s, p: work.delete_canned_key(s, p, "greeting"),
    }


@pytest.mark.parametrize("action", ["create", "update", "delete", "delete_key"])
@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("oslo_leader", "Bare brukere med tilgang til hele landet kan endre dem."),
        ("operator", "Rollen din (Operatør) gir ikke tilgang til dette."),
        ("analyst", "Rollen din (Analytiker)"),
        ("owner", "Rollen din (Initiativeier)"),
    ],
)
def test_only_national_admins_and_leaders_change_canned_replies(
    db: Session, who: Who, role: str, message: str, action: str
) -> None:
    with pytest.raises(PermissionDeniedError, match=re.escape(message)):
        _changes("nei")[action](db, getattr(who, role))
    assert len(work.get_canned_group(db, who.admin, "greeting").versions) == 4
    assert not work.can_edit_canned(getattr(who, role))


@pytest.mark.parametrize("role", ["admin", "national_leader", "cli"])
@pytest.mark.parametrize("action", ["create", "update", "delete", "delete_key"])
def test_national_admins_leaders_and_the_command_line_may(
    db: Session, who: Who, role: str, action: str
) -> None:
    principal = command_line_principal("test") if role == "cli" else getattr(who, role)
    assert work.can_edit_canned(principal)
    _changes(f"ja-{role}")[action](db, principal)


def test_a_national_admin_narrowed_to_one_district_may_not(db: Session, who: Who) -> None:
    """The district switcher narrows the view; the pages use the full principal."""
    with pytest.raises(PermissionDeniedError):
        work.create_canned(db, who.admin.narrowed_to("Oslo"), "x", "nb", "T", "Tekst")


# --- updating ------------------------------------------------------------------------------


def test_update_changes_title_and_body_and_audits_what_changed(db: Session, who: Who) -> None:
    updated = work.update_canned(db, who.admin, "greeting", "en", "Hello", "Hello from {district}")
    assert updated == work.CannedView("greeting", "en", "Hello", "Hello from {district}")
    assert work.get_canned(db, who.admin, "greeting", "en") == updated
    [event] = _audit(db, "canned_reply.update")
    assert event.object_id == "greeting/en"
    assert event.details == {"key": "greeting", "lang": "en", "changed": ["title", "body"]}
    work.update_canned(db, who.admin, "greeting", "en", "Hello ", "Hello from {district}")
    assert len(_audit(db, "canned_reply.update")) == 1  # nothing changed: nothing logged


def test_update_validates_and_keeps_the_stored_text(db: Session, who: Who) -> None:
    with pytest.raises(work.CannedInputError) as raised:
        work.update_canned(db, who.admin, "greeting", "nb", "", "Hei {kallenavn}")
    assert list(raised.value.fields) == ["title", "body"]
    assert work.get_canned(db, who.admin, "greeting", "nb").title == "Hilsen"


@pytest.mark.parametrize(("key", "lang"), [("greeting", "da"), ("nope", "nb"), ("", "")])
def test_update_or_delete_a_missing_version_is_not_found(
    db: Session, who: Who, key: str, lang: str
) -> None:
    with pytest.raises(NotFoundError, match="Fant ingen ferdig tekst"):
        work.update_canned(db, who.admin, key, lang, "T", "Tekst")
    with pytest.raises(NotFoundError):
        work.delete_canned(db, who.admin, key, lang)
    with pytest.raises(NotFoundError):
        work.get_canned(db, who.admin, key, lang)


# --- deleting ------------------------------------------------------------------------------


def test_delete_one_language_then_bokmal_last(db: Session, who: Who) -> None:
    with pytest.raises(ConflictError, match="Bokmålsversjonen brukes når et språk mangler"):
        work.delete_canned(db, who.admin, "greeting", "nb")
    for lang in ("nn", "en", "sv"):
        work.delete_canned(db, who.admin, "greeting", lang)
    assert work.get_canned_group(db, who.admin, "greeting").missing == ("nn", "en", "sv", "da")
    work.delete_canned(db, who.admin, "greeting", "nb")
    with pytest.raises(NotFoundError):
        work.get_canned_group(db, who.admin, "greeting")
    events = _audit(db, "canned_reply.delete")
    assert [e.object_id for e in events] == [f"greeting/{x}" for x in ("nn", "en", "sv", "nb")]


def test_delete_a_whole_key_in_every_language(db: Session, who: Who) -> None:
    assert work.delete_canned_key(db, who.admin, "closing") == 4
    assert "closing" not in [g.key for g in work.list_canned(db, who.admin)]
    [event] = _audit(db, "canned_reply.delete_key")
    assert (event.object_id, event.details) == (
        "closing",
        {"key": "closing", "langs": ["nb", "nn", "en", "sv"]},
    )
    with pytest.raises(NotFoundError, match="closing"):
        work.delete_canned_key(db, who.admin, "closing")


# --- what the reply box gets ---------------------------------------------------------------


def test_a_key_without_the_language_falls_back_to_bokmal_on_its_own(db: Session, who: Who) -> None:
    """Before, the fallback was per language: a key that existed only in bokmål vanished
    from English conversations as soon as any English text existed."""
    work.create_canned(db, who.admin, "pass", "nb", "Pass", "Pass i {district}")
    english = {c.key: c for c in work.canned_replies(db, who.operator, "en")}
    assert [*english] == sorted([*SEEDED, "pass"])
    assert (english["pass"].lang, english["greeting"].lang) == ("nb", "en")
    work.create_canned(db, who.admin, "pass", "en", "Passport", "Passport in {district}")
    assert {c.key: c.lang for c in work.canned_replies(db, who.operator, "en")}["pass"] == "en"
