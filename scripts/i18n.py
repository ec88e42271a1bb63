#!/usr/bin/env python3
"""Extract translatable texts into messages.pot and update the nn and en catalogues.

python scripts/i18n.py        # extract + update (keeps existing translations)
python scripts/i18n.py check  # exit 1 when a catalogue lacks a translation
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "src" / "stemme"
TRANSLATIONS = ROOT / "web" / "translations"
LANGUAGES = ("nn", "en")
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "gettext_": None,
    "ngettext_": (1, 2),
    "N_": None,
}
# Domain errors take their bokmål msgid as the first argument.
KEYWORDS.update(
    dict.fromkeys(
        (
            "StemmeError",
            "InvalidInputError",
            "NotFoundError",
            "ConflictError",
            "AuthenticationError",
            "PermissionDeniedError",
            "ConfigurationError",
            "LoginRequiredError",
            "UnknownKommuneError",
            "AmbiguousKommuneError",
            "UnknownPostcodeError",
            "UnknownDistrictError",
        )
    )
)


def extract() -> Catalog:
    catalog = Catalog(project="stemme", locale="nb", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, METHODS, OPTIONS, KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def update(template: Catalog) -> None:
    for language in LANGUAGES:
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, project="stemme")
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True)


def missing() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for language in LANGUAGES:
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
        result[language] = sorted(
            i
            for i in ids
            if not (
                catalog.get(i)
                and (
                    catalog.get(i).string
                    if isinstance(catalog.get(i).string, str)
                    else all(catalog.get(i).string)
                )
            )
        )
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        gaps = missing()
        for language, ids in gaps.items():
            for msgid in ids:
                print(f"{language}: missing translation: {msgid!r}")
        sys.exit(1 if any(gaps.values()) else 0)
    update(extract())
    print(f"updated {', '.join(LANGUAGES)} in {TRANSLATIONS}")
