#!/usr/bin/env python3
"""The production smoke's browser: signs in as each role over plain HTTP on loopback, as a TLS proxy
would forward it (X-Forwarded-Proto: https), opens every link of the role's navigation bar and every
static file those pages reference (and url(...) inside the stylesheets), and fails on anything but
200 or 302. Standard library only.

    production_smoke_client.py BASE_URL EXPECTED_JSON
        EXPECTED_JSON: {"practitioner": ["/today/", ...], ...}, the navigation (core.navigation) per role
"""

import http.client
import json
import re
import sys
import time
import zlib
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

PASSWORD = "mesoclinic-demo"  # README, "Demo logins"
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}  # README, "Production": the proxy sets it
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")


def pdf_mentions(pdf, name):
    """Whether `name` (a font's) is in the PDF, its compressed object streams included."""
    if name in pdf:
        return True
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            if name in zlib.decompress(stream):
                return True
        except zlib.error:
            continue
    return False


class Page(HTMLParser):
    """The links inside <nav> and every static file the page references."""

    def __init__(self, static_prefix):
        super().__init__()
        self.static_prefix = static_prefix
        self.nav_depth = 0
        self.nav_links = []
        self.assets = []
        self.pdfs = []  # printable documents (aftercare sheets): drawn with the collected fonts
        self.csrf = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav":
            self.nav_depth += 1
        if tag == "a" and self.nav_depth and attrs.get("href", "").startswith("/"):
            self.nav_links.append(attrs["href"])
        if tag == "a" and attrs.get("href", "").startswith("/") and attrs["href"].endswith("/pdf/"):
            self.pdfs.append(attrs["href"])
        for name in ("href", "src"):
            value = attrs.get(name) or ""
            if value.startswith(self.static_prefix):
                self.assets.append(value)
        if tag == "input" and attrs.get("name") == "csrfmiddlewaretoken":
            self.csrf = attrs.get("value")

    def handle_endtag(self, tag):
        if tag == "nav" and self.nav_depth:
            self.nav_depth -= 1


class Browser:
    """Keeps cookies itself: the session cookie is Secure, and the hop from the proxy is plain HTTP."""

    def __init__(self, base):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.origin = f"https://{parts.hostname}:{parts.port}"
        self.cookies = {}
        self.requests = 0

    def request(self, method, path, data=None):
        headers = {"Host": f"{self.host}:{self.port}", **PROXY_HEADERS}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers.update(
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": self.origin,
                    "Referer": self.origin + path,
                }
            )
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        self.requests += 1
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers, content


class Smoke:
    def __init__(self, base, expected):
        self.base = base
        self.expected = expected
        self.failures = []
        self.pages = set()  # (role, path)
        self.static = {}  # path -> status

    def fail(self, message):
        print(f"  FAIL {message}", flush=True)
        self.failures.append(message)

    def sign_in(self, browser, role):
        status, _, content = browser.request("GET", "/accounts/login/")
        page = Page("/static/")
        page.feed(content.decode())
        self.check_assets(browser, page.assets)
        if status != 200 or not page.csrf:
            self.fail(f"{role}: the sign-in page answered {status}")
            return False
        status, _headers, content = browser.request(
            "POST", "/accounts/login/", {"csrfmiddlewaretoken": page.csrf, "username": role, "password": PASSWORD}
        )
        if status != 302 or "sessionid" not in browser.cookies:
            self.fail(f"{role}: signing in answered {status}, not a redirect with a session: {content[:300]!r}")
            return False
        return True

    def open_page(self, browser, role, path, hops=0):
        status, headers, content = browser.request("GET", path)
        self.pages.add((role, path))
        print(f"  {role:<13} {status} {path}", flush=True)
        if status == 302:
            location = urlsplit(urljoin(self.base + path, headers["Location"]))
            target = location.path + (f"?{location.query}" if location.query else "")
            if target.startswith("/accounts/login/"):
                self.fail(f"{role}: {path} sent a signed-in user to the sign-in page")
            elif hops < 3:
                return self.open_page(browser, role, target, hops + 1)
            return None
        if status != 200:
            self.fail(f"{role}: {path} answered {status}")
            return None
        page = Page("/static/")
        page.feed(content.decode())
        self.check_assets(browser, page.assets)
        return page

    def check_assets(self, browser, assets):
        queue = list(dict.fromkeys(urlsplit(asset).path for asset in assets))
        while queue:
            path = queue.pop(0)
            if path in self.static:
                continue
            status, _headers, content = browser.request("GET", path)
            self.static[path] = status
            if status != 200:
                self.fail(f"static {path} answered {status}")
                continue
            if path.endswith(".css"):
                for _, target in CSS_URL.findall(content.decode()):
                    if target.startswith(("data:", "#")) or "://" in target:
                        continue
                    queue.append(urlsplit(urljoin(path, target)).path)

    def run_role(self, role):
        browser = Browser(self.base)
        if not self.sign_in(browser, role):
            return
        home = self.open_page(browser, role, "/")
        if home is None:
            return
        links = list(dict.fromkeys(home.nav_links))
        missing = [url for url in self.expected[role] if url not in links]
        if missing:
            self.fail(f"{role}: the navigation lacks {missing} (core.navigation names them)")
        pdfs = list(home.pdfs)
        for path in links:
            if (role, path) not in self.pages:
                page = self.open_page(browser, role, path)
                pdfs += page.pdfs if page else []
        for path in list(dict.fromkeys(pdfs))[:1]:  # one is enough: they share the stylesheet and fonts
            status, headers, content = browser.request("GET", path)
            self.pages.add((role, path))
            print(f"  {role:<13} {status} {path} ({len(content)} bytes)", flush=True)
            if (
                status != 200
                or headers.get("Content-Type") != "application/pdf"
                or not pdf_mentions(content, b"Noto-Sans")
            ):
                self.fail(f"{role}: {path} answered {status} {headers.get('Content-Type')}, or without Noto Sans")

    def run(self):
        started = time.monotonic()
        for role in self.expected:
            self.run_role(role)
        status, _, content = Browser(self.base).request("GET", "/healthz")
        health = json.loads(content)
        print(f"  /healthz {status} {json.dumps(health)}")
        if status != 200 or health.get("status") != "ok":
            self.fail(f"/healthz answered {status}: {health}")
        elapsed = time.monotonic() - started
        roles = len(self.expected)
        print(
            f"Production smoke: {len(self.pages)} pages as {roles} roles, {len(self.static)} static files, "
            f"{elapsed:.1f} s, {len(self.failures)} failure(s)."
        )
        return not self.failures


def main(base, expected_json):
    return 0 if Smoke(base.rstrip("/"), json.loads(expected_json)).run() else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
