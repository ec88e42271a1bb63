"""Jinja2 environment: autoescaping, Babel gettext per request, Oslo time, shared helpers."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape

from stemme.identity.access import ROLE_LABELS, Role
from stemme.web.i18n import LANGUAGES, current_language, gettext_, ngettext_

OSLO = ZoneInfo("Europe/Oslo")
_BABEL_LOCALE = {"nb": "nb_NO", "nn": "nn_NO", "en": "en_GB"}


def local_time(moment: datetime | None, fmt: str = "short") -> str:
    """A UTC moment shown in Europe/Oslo, formatted for the current language."""
    if moment is None:
        return ""
    return format_datetime(moment.astimezone(OSLO), fmt, locale=_BABEL_LOCALE[current_language()])


def role_label(role: str) -> str:
    return gettext_(ROLE_LABELS[Role(role)])


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(files("stemme.web") / "templates")),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.filters["local_time"] = local_time
    env.filters["role_label"] = role_label
    env.globals.update(languages=LANGUAGES, current_language=current_language)
    return env


def render(env: Environment, name: str, context: dict[str, Any]) -> str:
    return env.get_template(name).render(context)
