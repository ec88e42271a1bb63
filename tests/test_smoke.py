from tests.conftest import LiveServer
from tests.helpers import WebClient


def test_login_and_overview(live_server: LiveServer, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("admin")
    with WebClient(live_server.url) as web:
        web.login(user.email)
        page = web.get("/")
        assert page.status_code == 200
        assert "Oversikt" in page.text
