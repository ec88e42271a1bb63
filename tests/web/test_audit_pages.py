"""The audit log page: listing, filters, paging, district scope and the htmx partial."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from stemme.identity import audit
from stemme.identity.access import command_line_principal
from stemme.identity.models import User
from tests.helpers import WebClient
from tests.web.conftest import MakeUser

ROW = re.compile(
    r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>"
    r"\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*</tr>"
)


@dataclass(frozen=True)
class Row:
    seq: int
    actor: str
    action: str
    obj: str
    district: str


def results_section(html: str) -> str:
    start = html.index('<section id="audit-results"')
    return html[start : html.index("</section>", start)]


def rows(html: str) -> list[Row]:
    return [
        Row(int(m[1]), m[3].strip(), m[4].strip(), m[5].strip(), m[6].strip())
        for m in ROW.finditer(results_section(html))
    ]


def oslo_today() -> date:
    return datetime.now(ZoneInfo("Europe/Oslo")).date()


@pytest.fixture
def logged_in_admin(client: WebClient, make_user: MakeUser) -> User:
    admin = make_user("admin", email="revisor@test.stemme.no")
    make_user("operator", ["Oslo"], email="op.oslo@test.stemme.no")
    make_user("operator", ["Vest"], email="op.vest@test.stemme.no")
    client.login(admin.email)
    return admin


def test_audit_page_lists_events_newest_first(client: WebClient, logged_in_admin: User) -> None:
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert "Revisjonslogg" in page.text
    found = rows(page.text)
    actions = [r.action for r in found]
    assert actions.count("user.create") == 3
    assert "login.succeeded" in actions
    seqs = [r.seq for r in found]
    assert seqs == sorted(seqs, reverse=True)
    assert found[0].action == "login.succeeded"
    assert found[0].actor == logged_in_admin.email
    assert "4 hendelser" in page.text
    oslo = next(r for r in found if r.action == "user.create" and r.district == "Oslo")
    assert oslo.actor == "test"
    assert oslo.obj.startswith("user ")
    # the action filter offers the actions that exist
    assert '<option value="user.create"' in page.text
    assert '<option value="login.succeeded"' in page.text


def test_filter_by_action(client: WebClient, logged_in_admin: User) -> None:
    found = rows(client.get("/admin/audit", params={"action": "user.create"}).text)
    assert len(found) == 3
    assert {r.action for r in found} == {"user.create"}
    page = client.get("/admin/audit", params={"action": "login.succeeded"})
    assert [r.action for r in rows(page.text)] == ["login.succeeded"]
    assert '<option value="login.succeeded" selected' in page.text


def test_filter_by_actor(client: WebClient, logged_in_admin: User) -> None:
    by_admin = rows(client.get("/admin/audit", params={"actor": "revisor@"}).text)
    assert {r.action for r in by_admin} == {"login.succeeded"}
    by_cli = rows(client.get("/admin/audit", params={"actor": "test"}).text)
    assert {r.actor for r in by_cli} >= {"test"}
    assert len([r for r in by_cli if r.action == "user.create"]) == 3
    wildcard = client.get("/admin/audit", params={"actor": "%"})
    assert rows(wildcard.text) == []
    assert "Ingen hendelser passer filteret." in wildcard.text


def test_filter_by_district(client: WebClient, logged_in_admin: User) -> None:
    oslo = rows(client.get("/admin/audit", params={"district": "Oslo"}).text)
    assert len(oslo) == 1
    assert oslo[0].district == "Oslo"
    assert oslo[0].action == "user.create"
    vest = rows(client.get("/admin/audit", params={"district": "Vest"}).text)
    assert [r.district for r in vest] == ["Vest"]


def test_filter_by_object_type(client: WebClient, logged_in_admin: User) -> None:
    assert len(rows(client.get("/admin/audit", params={"object_type": "user"}).text)) == 4
    assert rows(client.get("/admin/audit", params={"object_type": "api_token"}).text) == []


def test_filter_by_date(client: WebClient, logged_in_admin: User) -> None:
    today = oslo_today()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    everything = len(rows(client.get("/admin/audit").text))

    def count(**params: str) -> int:
        return len(rows(client.get("/admin/audit", params=params).text))

    assert count(since=today.isoformat()) == everything
    assert count(until=today.isoformat()) == everything
    assert count(since=today.isoformat(), until=today.isoformat()) == everything
    assert count(since=tomorrow.isoformat()) == 0
    assert count(until=yesterday.isoformat()) == 0
    # a malformed date is ignored, not an error
    page = client.get("/admin/audit", params={"since": "ikke-en-dato"})
    assert page.status_code == 200
    assert len(rows(page.text)) == everything


def test_combined_filters_are_kept_in_the_form(client: WebClient, logged_in_admin: User) -> None:
    today = oslo_today().isoformat()
    page = client.get(
        "/admin/audit",
        params={"action": "user.create", "district": "Oslo", "since": today, "actor": "test"},
    )
    assert [r.district for r in rows(page.text)] == ["Oslo"]
    assert '<option value="user.create" selected' in page.text
    assert '<option value="Oslo" selected' in page.text
    assert f'value="{today}"' in page.text
    assert 'id="f-actor" name="actor" type="text" value="test"' in page.text


def test_paging_after_fifty_events(client: WebClient, logged_in_admin: User, db: Session) -> None:
    cli = command_line_principal("bulk")
    for n in range(60):
        audit.record(db, cli, "bulk.test", "thing", n, district="Oslo")
    db.commit()
    first = client.get("/admin/audit", params={"action": "bulk.test"})
    assert first.status_code == 200
    first_rows = rows(first.text)
    assert len(first_rows) == audit.PAGE_SIZE == 50
    assert "60 hendelser" in first.text
    assert "Side 1 av 2" in first.text
    assert 'href="?action=bulk.test&amp;page=2"' in first.text
    assert "Neste side" in first.text
    assert "Forrige side" not in first.text
    second = client.get("/admin/audit", params={"action": "bulk.test", "page": "2"})
    second_rows = rows(second.text)
    assert len(second_rows) == 10
    assert "Side 2 av 2" in second.text
    assert "Forrige side" in second.text
    assert "Neste side" not in second.text
    all_seqs = [r.seq for r in first_rows + second_rows]
    assert all_seqs == sorted(all_seqs, reverse=True)
    assert len(set(all_seqs)) == 60
    assert {r.obj for r in second_rows} == {f"thing {n}" for n in range(10)}
    # a page past the end shows the last page; page 0 is refused
    assert "Side 2 av 2" in client.get("/admin/audit", params={"page": "99"}).text
    assert client.get("/admin/audit", params={"page": "0"}).status_code == 422


def test_no_paging_with_few_events(client: WebClient, logged_in_admin: User) -> None:
    page = client.get("/admin/audit")
    assert 'class="pager"' not in page.text


def test_leader_sees_only_own_district(client: WebClient, make_user: MakeUser, db: Session) -> None:
    make_user("operator", ["Oslo"], email="op.oslo@test.stemme.no")
    make_user("operator", ["Vest"], email="op.vest@test.stemme.no")
    leader = make_user("leader", ["Oslo"])
    audit.record(db, command_line_principal("bulk"), "bulk.test", "thing", 1, district="Vest")
    db.commit()
    client.login(leader.email)
    page = client.get("/admin/audit")
    assert page.status_code == 200
    found = rows(page.text)
    assert found, page.text[:2000]
    assert {r.district for r in found} == {"Oslo"}
    # not even by asking for it
    assert rows(client.get("/admin/audit", params={"district": "Vest"}).text) == []
    assert rows(client.get("/admin/audit", params={"action": "bulk.test"}).text) == []
    # national events (logins, no district) are not shown to a district leader
    assert "login.succeeded" not in {r.action for r in found}
    assert '<option value="Vest"' not in page.text
    assert '<option value="Oslo"' in page.text


@pytest.mark.parametrize("role", ["operator", "analyst", "initiative_owner"])
def test_audit_page_is_403_for_other_roles(
    client: WebClient, make_user: MakeUser, role: str
) -> None:
    user = make_user(role, ["Oslo"])
    client.login(user.email)
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert "user.create" not in response.text
    htmx = client.get("/admin/audit", headers={"HX-Request": "true"})
    assert htmx.status_code == 403


def test_htmx_partial_request_returns_the_results_section(
    client: WebClient, logged_in_admin: User
) -> None:
    response = client.get(
        "/admin/audit",
        params={"action": "user.create"},
        headers={"HX-Request": "true", "HX-Target": "audit-results"},
    )
    assert response.status_code == 200
    assert '<section id="audit-results"' in response.text
    found = rows(response.text)
    assert len(found) == 3
    assert {r.action for r in found} == {"user.create"}


def test_filter_form_is_wired_for_htmx(client: WebClient, logged_in_admin: User) -> None:
    page = client.get("/admin/audit")
    assert 'hx-get="/admin/audit"' in page.text
    assert 'hx-target="#audit-results"' in page.text
    assert 'hx-select="#audit-results"' in page.text
