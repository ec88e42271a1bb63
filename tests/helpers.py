"""Test helpers: a cookie-keeping HTTP client for the HTML pages, and common constants."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import httpx

PASSWORD = "riktig hest batteri stift"
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebClient:
    """Talks to a live server like a browser: keeps cookies (including Secure ones, which
    browsers send to loopback) and fills in the CSRF token from the last page."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, url, headers=headers, **kwargs)
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                expired = morsel["max-age"] == "0" or "expires=Thu, 01 Jan 1970" in header
                if expired or not morsel.value or morsel.value == '""':
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        match = (
            CSRF_PATTERN.search(response.text)
            if "html" in response.headers.get("content-type", "")
            else None
        )
        if match:
            self.csrf = match.group(1)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form: dict[str, Any] = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/login")
            form.setdefault("csrf_token", self.csrf)
        return self.request("POST", url, data=form, **kwargs)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:500]
        self.get(response.headers["location"])
        return response

    def follow(self, response: httpx.Response) -> httpx.Response:
        return self.get(response.headers["location"])


def api_headers(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
