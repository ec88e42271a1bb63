"""The opening-hours page: a leader sets the week of their district; errors in Norwegian."""

from __future__ import annotations

from typing import Any

from stemme.inbox.hours import schedule_of
from tests.conftest import LiveServer
from tests.helpers import WebClient


def test_leader_sets_opening_hours_and_sees_errors(
    live_server: LiveServer, make_user: Any, sessions: Any
) -> None:
    leader = make_user("leader", ["Oslo"])
    with WebClient(live_server.url) as web:
        web.login(leader.email)
        page = web.get("/admin/inbox")
        assert page.status_code == 200
        assert "Oslo" in page.text
        assert "Vest" not in page.text  # only districts in the leader's scope
        week = {f"opens-{d}": "08:00" for d in range(5)} | {
            f"closes-{d}": "22:00" for d in range(5)
        }
        saved = web.post("/admin/inbox/hours", {"district": "Oslo", **week})
        assert saved.status_code == 303
        assert "08:00" in web.get("/admin/inbox").text
        with sessions() as session:
            schedule = schedule_of(session, "Oslo")
        assert schedule is not None
        assert sorted(schedule.days) == [0, 1, 2, 3, 4]

        bad = web.post("/admin/inbox/hours", {"district": "Oslo", "opens-0": "08:00"})
        assert bad.status_code == 422
        assert "Ugyldig klokkeslett" in bad.text

        outside = web.post("/admin/inbox/hours", {"district": "Vest", "always": "1"})
        assert outside.status_code == 422
        assert "tilgang" in outside.text

        cleared = web.post("/admin/inbox/hours", {"district": "Oslo", "always": "1"})
        assert cleared.status_code == 303
        with sessions() as session:
            assert schedule_of(session, "Oslo") is None


def test_an_operator_may_not_set_hours(live_server: LiveServer, make_user: Any) -> None:
    operator = make_user("operator", ["Oslo"])
    with WebClient(live_server.url) as web:
        web.login(operator.email)
        assert web.get("/admin/inbox").status_code == 403
        assert web.post("/admin/inbox/hours", {"district": "Oslo"}).status_code == 403
