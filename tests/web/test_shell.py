"""The shell around every page: security headers, health checks, static files, errors, menu."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import event

from tests.conftest import LiveServer
from tests.helpers import PASSWORD, WebClient, api_headers
from tests.web.conftest import MakeUser, TokenFor

REQUIRED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in REQUIRED_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers.get("x-request-id")


@pytest.mark.parametrize("path", ["/login", "/", "/does-not-exist", "/healthz", "/readyz"])
def test_security_headers_on_html_and_health(client: WebClient, path: str) -> None:
    response = client.get(path)
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


def test_security_headers_on_logged_in_pages(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    for path in ("/", "/admin/users", "/admin/audit", "/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)
        assert response.headers["cache-control"] == "no-store"


def test_security_headers_on_api(
    api: httpx.Client, make_user: MakeUser, token_for: TokenFor
) -> None:
    auth = api_headers(token_for(make_user("admin")))
    for response in (
        api.get("/me", headers=auth),
        api.get("/me"),  # 401
        api.get("/openapi.json"),
        api.get("/geo/kommuner/9999", headers=auth),  # 404
    ):
        assert_security_headers(response)
        assert response.headers["cache-control"] == "no-store"


def test_static_files_are_served_with_headers(client: WebClient) -> None:
    css = client.get("/static/vendor/designsystemet.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert len(css.content) > 1000
    assert_security_headers(css)
    js = client.get("/static/vendor/htmx.min.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "htmx" in js.text
    assert client.get("/static/stemme.css").status_code == 200
    assert client.get("/static/vendor/designsystemet-theme.css").status_code == 200


def test_static_path_traversal_is_refused(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert "create_app" not in response.text


def test_pages_link_only_local_assets(client: WebClient) -> None:
    page = client.get("/login")
    assert 'src="/static/vendor/htmx.min.js"' in page.text
    assert 'href="/static/vendor/designsystemet.css"' in page.text
    assert "<script>" not in page.text  # no inline scripts (the CSP would block them)
    assert " style=" not in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text


def test_request_id_is_echoed(client: WebClient, api: httpx.Client) -> None:
    page = client.get("/login", headers={"x-request-id": "abc-123"})
    assert page.headers["x-request-id"] == "abc-123"
    assert api.get("/me", headers={"x-request-id": "req-42"}).headers["x-request-id"] == "req-42"
    assert client.get("/healthz", headers={"x-request-id": "h-1"}).headers["x-request-id"] == "h-1"


def test_unsafe_request_id_is_replaced(client: WebClient) -> None:
    response = client.get("/login", headers={"x-request-id": "<script>alert(1)</script>"})
    assert response.headers["x-request-id"] != "<script>alert(1)</script>"
    assert response.headers["x-request-id"].isalnum()
    generated = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3


def test_healthz_and_readyz(client: WebClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["database"] == "ok"


def test_404_page_is_norwegian_html(client: WebClient) -> None:
    response = client.get("/finnes/ikke")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="nb"' in response.text
    assert "Finnes ikke" in response.text
    assert "Vi fant ikke siden du lette etter." in response.text
    assert "Feilkode" in response.text


def test_404_page_in_english(client: WebClient) -> None:
    response = client.get("/finnes/ikke", headers={"accept-language": "en"})
    assert response.status_code == 404
    assert '<html lang="en"' in response.text
    assert "Not found" in response.text


def test_404_page_shows_the_menu_when_logged_in(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    response = client.get("/finnes/ikke")
    assert response.status_code == 404
    assert 'href="/admin/users"' in response.text
    assert "Logg ut" in response.text


def test_405_on_html_route(client: WebClient) -> None:
    response = client.request("DELETE", "/login")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")


def test_403_page_is_html_with_menu(client: WebClient, make_user: MakeUser) -> None:
    operator = make_user("operator", ["Oslo"])
    client.login(operator.email)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Ingen tilgang" in response.text
    assert "Rollen din (Operatør) gir ikke tilgang til dette." in response.text
    assert 'href="/account"' in response.text


@pytest.mark.parametrize(
    ("role", "districts", "admin_links"),
    [
        ("admin", None, True),
        ("leader", ["Oslo"], True),
        ("analyst", ["Oslo"], False),
        ("operator", ["Oslo"], False),
        ("initiative_owner", ["Oslo"], False),
    ],
)
def test_navigation_per_role(
    client: WebClient,
    make_user: MakeUser,
    role: str,
    districts: list[str] | None,
    admin_links: bool,
) -> None:
    user = make_user(role, districts)
    client.login(user.email)
    page = client.get("/")
    assert page.status_code == 200
    nav = page.text.split('<nav aria-label="Hovedmeny"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/"' in nav
    assert 'href="/account"' in nav
    assert "Min konto" in nav
    assert ('href="/admin/users"' in nav) is admin_links
    assert ("Brukere" in nav) is admin_links
    assert ('href="/admin/audit"' in nav) is admin_links
    assert ("Revisjonslogg" in nav) is admin_links
    if not admin_links:
        assert "/admin/" not in page.text


def test_current_page_is_marked_in_the_menu(client: WebClient, make_user: MakeUser) -> None:
    admin = make_user("admin")
    client.login(admin.email)
    page = client.get("/admin/audit")
    assert '<a class="ds-link" href="/admin/audit" aria-current="page">' in page.text
    assert '<a class="ds-link" href="/" aria-current="page">' not in page.text


def test_anonymous_pages_have_no_menu(client: WebClient) -> None:
    page = client.get("/login")
    assert "Hovedmeny" not in page.text
    assert "Logg ut" not in page.text


def test_writes_are_committed_before_the_response(
    live_server: LiveServer, make_user: MakeUser, token_for: TokenFor
) -> None:
    """A client's next request must see what its previous request wrote.

    Every commit of the app is slowed down by 0.2 s, which makes the race deterministic: if
    the response leaves before the commit, the follow-up request cannot see the write.
    Plain clients (no waiting for the server), as a browser or script would use.
    """
    user = make_user("analyst", ["Oslo"])
    auth = api_headers(token_for(user))
    engine = live_server.server.config.app.state.stemme.engine

    def slow_commit(connection: object) -> None:
        time.sleep(0.2)

    lost: list[str] = []
    event.listen(engine, "commit", slow_commit)
    try:
        with httpx.Client(base_url=f"{live_server.url}/api/v1", timeout=30) as http:
            created = http.post("/me/tokens", json={"name": "race"}, headers=auth)
            assert created.status_code == 201
            follow = http.get("/me", headers=api_headers(created.json()["token"]))
            if follow.status_code != 200:
                lost.append(f"API: new token refused right after its 201 ({follow.status_code})")
        with WebClient(live_server.url) as web:
            web.get("/login")
            login = web.post("/login", {"email": user.email, "password": PASSWORD})
            assert login.status_code == 303
            page = web.get("/")
            if page.status_code != 200:
                where = page.headers.get("location")
                lost.append(
                    f"HTML: session unknown right after login ({page.status_code} → {where})"
                )
    finally:
        event.remove(engine, "commit", slow_commit)
    assert not lost, "the transaction is committed only after the response is sent:\n" + "\n".join(
        lost
    )
