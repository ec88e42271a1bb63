"""The operator-facing shell in a real browser: log in, create a user, every page passes axe."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import AxeChecker
from tests.conftest import LiveServer
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

NEW_USER_PASSWORD = "ny bruker med langt passord"


def login(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_admin_creates_user_and_every_page_passes_axe(
    live_server: LiveServer, make_user: Any, page_factory: Any, axe: AxeChecker
) -> None:
    admin = make_user("admin", email="admin@test.stemme.no")
    base = live_server.url
    page = page_factory()

    page.goto(f"{base}/login")
    axe.check(page, "login")
    page.fill("#email", admin.email)
    page.fill("#password", "wrong password here")
    page.click("main button[type=submit]")
    assert "Feil e-post eller passord." in page.inner_text("#login-error")
    axe.check(page, "login with error")

    login(page, base, admin.email)
    assert page.title().startswith("Oversikt")
    axe.check(page, "overview")

    page.click("nav >> text=Brukere")
    axe.check(page, "users")
    page.click("text=Ny bruker")
    axe.check(page, "new user form")
    page.click("main form button[type=submit]")  # empty form: validation errors
    assert page.locator("#error-summary").is_visible()
    axe.check(page, "new user form with errors")

    page.fill("#email", "Ny.Operator@Test.Stemme.no")
    page.fill("#display_name", "Nora Operatør")
    page.select_option("#role", "operator")
    page.check("label:text-is('Oslo')")
    page.check("label:text-is('Øst')")
    page.fill("#password", NEW_USER_PASSWORD)
    page.fill("#password_repeat", NEW_USER_PASSWORD)
    page.click("main form button[type=submit]")
    assert page.locator("[role=status]").inner_text() == "Brukeren er opprettet."
    assert page.locator("h1").inner_text() == "ny.operator@test.stemme.no"
    axe.check(page, "edit user")

    page.goto(f"{base}/admin/audit")
    axe.check(page, "audit log")
    page.select_option("#f-action", "user.create")
    page.click("text=Filtrer")
    page.wait_for_url("**action=user.create**")
    assert "ny.operator" not in page.inner_text("#audit-results")  # ids, not names
    assert page.locator("#audit-results tbody tr").count() == 2
    axe.check(page, "audit log filtered (htmx)")

    page.goto(f"{base}/account")
    page.fill("#token-name", "rapportskript")
    page.click("text=Lag API-nøkkel")
    assert page.inner_text("#new-token").startswith("stm_")
    axe.check(page, "account with new token")

    page.goto(f"{base}/finnes-ikke")
    axe.check(page, "404 page")

    page.select_option("#district-switch", "Oslo")
    page.click("text=Bytt")
    axe.check(page, "district switched")

    page.click("text=Logg ut")
    assert page.locator("[role=status]").inner_text() == "Du er logget ut."

    login(page, base, "ny.operator@test.stemme.no", NEW_USER_PASSWORD)
    assert page.locator("nav >> text=Brukere").count() == 0
    axe.check(page, "overview as operator")
    axe.assert_clean()
    assert len(axe.checked) >= 12


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_login_page_in_each_language_on_a_phone(
    live_server: LiveServer, page_factory: Any, axe: AxeChecker, language: str
) -> None:
    page = page_factory(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/login")
    page.select_option("#language-switch", language)
    page.click("text=" + {"nb": "Velg", "nn": "Vel", "en": "Choose"}["nb"])
    assert page.locator("html").get_attribute("lang") == language
    axe.check(page, f"login ({language}, phone)")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the login page scrolls sideways on a phone"
    axe.assert_clean()


def test_axe_checker_reports_violations(
    live_server: LiveServer, page_factory: Any, axe: AxeChecker
) -> None:
    """Guards the guard: a page with a known violation must be reported."""
    page = page_factory()
    page.goto(f"{live_server.url}/login")
    page.evaluate("document.querySelector('#email').removeAttribute('id')")
    axe.check(page, "login without label target")
    assert any("label" in v for v in axe.violations), axe.violations
