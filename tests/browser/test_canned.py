"""The canned-reply admin in a real browser: from /admin/inbox to the list, a form with
validation errors, the preview, saving and the delete confirmation; every state passes axe
and no page breaks the CSP (the console stays clean)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import AxeChecker
from tests.browser.test_pages import login
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_admin_manages_canned_replies_and_every_page_passes_axe(
    live_server: LiveServer, make_user: Any, page_factory: Any, axe: AxeChecker
) -> None:
    admin = make_user("admin", email="admin@test.stemme.no")
    base = live_server.url
    page = page_factory()
    login(page, base, admin.email)

    page.goto(f"{base}/admin/inbox")
    page.click("text=Se og endre ferdige tekster")
    page.wait_for_url(f"{base}/admin/inbox/canned")
    assert page.locator("#canned-table tbody tr").count() == 5
    axe.check(page, "canned replies")

    page.click("text=Ny ferdig tekst")
    axe.check(page, "new canned reply")
    page.fill("#canned-key", "Pass fornyelse")
    page.fill("#canned-body", "Hei {navn}")
    page.click("main form button[value=save]")
    assert page.locator("#error-summary").is_visible()
    assert "{navn}" in page.inner_text("#canned-body-error")
    assert page.input_value("#canned-body") == "Hei {navn}"  # nothing typed is lost
    axe.check(page, "new canned reply with errors")

    page.fill("#canned-key", "pass-fornyelse")
    page.fill("#canned-title", "Fornye pass")
    page.fill("#canned-body", "Pass fornyer du hos politiet i {district}.")
    page.click("main form button[value=preview]")
    assert "i Oslo." in page.inner_text("#canned-preview")
    axe.check(page, "canned reply preview")
    page.click("main form button[value=save]")
    page.wait_for_url(f"{base}/admin/inbox/canned")
    assert page.locator("[role=status]").inner_text() == "Den ferdige teksten er lagret."
    assert page.locator("#canned-table tbody tr").count() == 6

    page.goto(f"{base}/admin/inbox/canned/greeting/en")
    axe.check(page, "edit canned reply")
    page.click("text=Slett denne språkversjonen")
    axe.check(page, "delete confirmation")
    page.click("text=Ja, slett")
    page.wait_for_url(f"{base}/admin/inbox/canned")
    axe.check(page, "canned replies after deleting")
    axe.assert_clean()
