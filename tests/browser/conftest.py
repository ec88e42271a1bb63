"""Playwright driving Debian's chromium (/usr/bin/chromium); axe-core for WCAG 2.1 A/AA."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import unavailable

CHROMIUM = os.environ.get("STEMME_CHROMIUM", "/usr/bin/chromium")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        unavailable(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class AxeChecker:
    """Runs axe-core on pages and collects every WCAG 2.1 A/AA violation with its page."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.checked: list[str] = []
        self.violations: list[str] = []

    def check(self, page: Any, label: str) -> None:
        options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
        results = self.axe.run(page, options=options)
        self.checked.append(label)
        for violation in results.response["violations"]:
            targets = [node["target"] for node in violation["nodes"]][:3]
            self.violations.append(f"{label}: {violation['id']} ({violation['impact']}) {targets}")

    def assert_clean(self) -> None:
        assert not self.violations, "axe violations:\n" + "\n".join(self.violations)


@pytest.fixture
def axe() -> AxeChecker:
    return AxeChecker()


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    """New pages in fresh contexts; console errors (e.g. CSP violations) fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def _new(**context_options: Any) -> Any:
        context = browser.new_context(**{"locale": "nb-NO", **context_options})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield _new
    for context in contexts:
        context.close()
    real_errors = [e for e in errors if "status of 4" not in e]  # expected 401/403/404 pages
    assert not real_errors, f"browser console errors: {real_errors}"
