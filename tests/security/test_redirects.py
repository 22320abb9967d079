"""After sign-in the browser goes only to a path on this site: `?next=` naming another site becomes "/"."""
from __future__ import annotations

import re

import pytest

from api.routes.pages import safe_next


@pytest.mark.parametrize("target, expected", [
    ("/wall", "/wall"),
    ("/leads/12?tab=notes#top", "/leads/12?tab=notes#top"),
    ("/%2F%2Fexample.org", "/%2F%2Fexample.org"),  # percent-encoded: a path here, not a host
    (None, "/"),
    ("", "/"),
    ("/\\example.org", "/"),  # browsers read a backslash as a slash: //example.org
    ("\\\\example.org", "/"),
    ("//example.org", "/"),
    ("///example.org", "/"),
    ("/\t/example.org", "/"),  # browsers drop tabs and newlines inside URLs
    ("/\n/example.org", "/"),
    ("https://example.org", "/"),
    ("http:example.org", "/"),
    ("javascript:alert(1)", "/"),
    ("example.org", "/"),
    ("/" + "a" * 3000, "/"),
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize("query, expected", [
    ("next=/sites", "/sites"),
    ("next=/%5Cexample.org", "/"),  # /\example.org: the reported open redirect
    ("next=//example.org", "/"),
    ("next=https://example.org/", "/"),
    ("next=/%09/example.org", "/"),
    ("", "/"),
])
def test_the_login_page_carries_only_a_safe_next(client, query, expected):
    r = client.get(f"/login?{query}")
    assert r.status_code == 200
    found = re.search(r'<form id="login"[^>]*data-next="([^"]*)"', r.text)
    assert found and found.group(1) == expected


@pytest.mark.slow
@pytest.mark.parametrize("next_param, lands_on", [
    ("/sites", "/sites"),
    ("/%5Cexample.org", "/wall"),  # the reported hole: the browser went to http://example.org/
    ("//example.org/", "/wall"),
], ids=["same-site", "backslash", "double-slash"])
def test_a_browser_signs_in_and_stays_on_this_site(web_services, browser, next_param, lands_on):
    from api.app import create_app
    from tests.security.conftest import Served
    from tests.web.seed import PASSWORD, ROLE_USERS

    with Served(create_app(web_services, run_cameras=False, run_jobs=False)) as served:
        page = browser.new_page()
        page.goto(f"{served.url}/login?next={next_param}")
        page.fill("#username", ROLE_USERS["operator"])
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_url(f"{served.url}{lands_on}**", timeout=20_000)
        assert page.url.startswith(served.url + lands_on)
        page.close()
