"""HTML pages where admins manage the canned replies operators pick in the reply box.

Thin adapters over the canned-reply functions of ``inbox.work``. Every change is a POST
form with the CSRF token; deleting goes through a confirmation page; a form with errors
comes back with everything that was typed and each error next to its field. "Forhåndsvis"
submits the same form without saving, so the preview needs no script (the CSP allows none
inline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from stemme.errors import ConflictError, NotFoundError
from stemme.inbox import work
from stemme.inbox.labels import LANGUAGE_LABELS
from stemme.inbox.views import On, Screen
from stemme.web.deps import verify_csrf
from stemme.web.i18n import gettext_
from stemme.web.pages import redirect, render_page

router = APIRouter(dependencies=[Depends(verify_csrf)])

Field = Annotated[str, Form()]

LIST_URL = "/admin/inbox/canned"
# The preview shows a conversation in this district, answered by the admin themself.
PREVIEW_DISTRICT = "Oslo"


@dataclass(frozen=True, slots=True)
class CannedForm:
    """What the form shows: the stored version, or what the user typed."""

    key: str = ""
    lang: str = work.FALLBACK_LANGUAGE
    title: str = ""
    body: str = ""


def _language_labels() -> dict[str, str]:
    return {lang: gettext_(LANGUAGE_LABELS.get(lang, lang)) for lang in work.CANNED_LANGUAGES}


def _preview(on: Screen, body: str) -> str:
    values = {"district": PREVIEW_DISTRICT, "operator": on.me.user.display_name}
    return work.fill_variables(body.replace("\r\n", "\n").strip(), values)


def _bokmal_source(on: Screen, form: CannedForm) -> work.CannedView | None:
    """The bokmål version to translate from, next to the form of another language."""
    if form.lang == work.FALLBACK_LANGUAGE or not form.key:
        return None
    try:
        return work.get_canned(on.session, on.me.principal, form.key, work.FALLBACK_LANGUAGE)
    except NotFoundError:
        return None


def _form_page(
    on: Screen,
    form: CannedForm,
    *,
    editing: bool,
    errors: dict[str, str] | None = None,
    preview: bool = False,
    status_code: int = 200,
) -> Response:
    return render_page(
        on.request,
        on.ctx,
        "inbox/canned_form.html",
        on.me,
        status_code=status_code,
        form=form,
        editing=editing,
        errors=errors or {},
        preview=_preview(on, form.body) if preview and form.body.strip() else None,
        preview_district=PREVIEW_DISTRICT,
        variables={name: gettext_(text) for name, text in work.CANNED_VARIABLES.items()},
        language_labels=_language_labels(),
        source=_bokmal_source(on, form),
    )


def _field_errors(action: Callable[[], object], session: Session | None = None) -> dict[str, str]:
    """Run ``action`` (in a savepoint when it writes): its errors by form field, translated."""
    try:
        if session is None:
            action()
        else:
            with session.begin_nested():
                action()
    except work.CannedInputError as exc:
        return {name: error.render(gettext_) for name, error in exc.fields.items()}
    except ConflictError as exc:  # the key already has this language
        return {"key": exc.render(gettext_)}
    return {}


def _submit(
    on: Screen, form: CannedForm, *, editing: bool, preview: bool, save: Callable[[], object]
) -> Response:
    """Save and go back to the list, or show the form again: previewed, or with errors."""
    if preview:  # nothing is saved; the form's problems show already
        errors = _field_errors(
            lambda: work.check_canned(form.key, form.lang, form.title, form.body)
        )
        return _form_page(on, form, editing=editing, errors=errors, preview=True)
    errors = _field_errors(save, on.session)
    if not errors:
        return redirect(LIST_URL, "canned_saved", on.ctx)
    return _form_page(on, form, editing=editing, errors=errors, preview=True, status_code=422)


# --- the list ----------------------------------------------------------------------------------


@router.get(LIST_URL, response_class=HTMLResponse)
def canned_list(on: On) -> Response:
    """Every key with its language versions; only national admins and leaders may change them."""
    groups = work.list_canned(on.session, on.me.principal)
    return render_page(
        on.request,
        on.ctx,
        "inbox/canned_list.html",
        on.me,
        groups=groups,
        may_edit=work.can_edit_canned(on.me.principal),
        language_labels=_language_labels(),
    )


# --- create ------------------------------------------------------------------------------------


@router.get(LIST_URL + "/new", response_class=HTMLResponse)
def new_canned(on: On, key: str = "", lang: str = work.FALLBACK_LANGUAGE) -> Response:
    """An empty form; ``?key=…&lang=…`` start a missing language version of a key."""
    work.require_canned_editor(on.me.principal)
    return _form_page(on, CannedForm(key=key, lang=lang), editing=False)


@router.post(LIST_URL, response_class=HTMLResponse)
def create_canned(
    on: On,
    key: Field = "",
    lang: Field = "",
    title: Field = "",
    body: Field = "",
    action: Field = "save",
) -> Response:
    work.require_canned_editor(on.me.principal)  # before validating: no form for outsiders
    form = CannedForm(key, lang, title, body)

    def save() -> object:
        return work.create_canned(on.session, on.me.principal, key, lang, title, body)

    return _submit(on, form, editing=False, preview=action == "preview", save=save)


# --- delete a whole key (before /{key}/{lang}: "delete" is no language) ---------------------


def _delete_page(
    on: Screen, group: work.CannedGroup, lang: str | None, error: str | None = None
) -> Response:
    return render_page(
        on.request,
        on.ctx,
        "inbox/canned_delete.html",
        on.me,
        status_code=409 if error else 200,
        group=group,
        lang=lang,
        error=error,
        language_labels=_language_labels(),
    )


@router.get(LIST_URL + "/{key}/delete", response_class=HTMLResponse)
def confirm_delete_key(on: On, key: str) -> Response:
    work.require_canned_editor(on.me.principal)
    return _delete_page(on, work.get_canned_group(on.session, on.me.principal, key), None)


@router.post(LIST_URL + "/{key}/delete")
def delete_key(on: On, key: str) -> Response:
    work.delete_canned_key(on.session, on.me.principal, key)
    return redirect(LIST_URL, "canned_deleted", on.ctx)


# --- edit and delete one language version --------------------------------------------------


@router.get(LIST_URL + "/{key}/{lang}", response_class=HTMLResponse)
def edit_canned(on: On, key: str, lang: str) -> Response:
    work.require_canned_editor(on.me.principal)
    stored = work.get_canned(on.session, on.me.principal, key, lang)
    form = CannedForm(stored.key, stored.lang, stored.title, stored.body)
    return _form_page(on, form, editing=True, preview=True)


@router.post(LIST_URL + "/{key}/{lang}", response_class=HTMLResponse)
def update_canned(
    on: On, key: str, lang: str, title: Field = "", body: Field = "", action: Field = "save"
) -> Response:
    work.require_canned_editor(on.me.principal)
    work.get_canned(on.session, on.me.principal, key, lang)  # 404 before any form
    form = CannedForm(key, lang, title, body)

    def save() -> object:
        return work.update_canned(on.session, on.me.principal, key, lang, title, body)

    return _submit(on, form, editing=True, preview=action == "preview", save=save)


@router.get(LIST_URL + "/{key}/{lang}/delete", response_class=HTMLResponse)
def confirm_delete_version(on: On, key: str, lang: str) -> Response:
    work.require_canned_editor(on.me.principal)
    work.get_canned(on.session, on.me.principal, key, lang)  # 404 for a missing version
    return _delete_page(on, work.get_canned_group(on.session, on.me.principal, key), lang)


@router.post(LIST_URL + "/{key}/{lang}/delete", response_class=HTMLResponse)
def delete_version(on: On, key: str, lang: str) -> Response:
    work.require_canned_editor(on.me.principal)
    try:
        with on.session.begin_nested():
            work.delete_canned(on.session, on.me.principal, key, lang)
    except ConflictError as exc:  # bokmål while other languages remain
        group = work.get_canned_group(on.session, on.me.principal, key)
        return _delete_page(on, group, lang, exc.render(gettext_))
    return redirect(LIST_URL, "canned_deleted", on.ctx)
