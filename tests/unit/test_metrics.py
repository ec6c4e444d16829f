"""The services' Prometheus metrics in this process (the portal as app.py builds it, the hub stubbed): a token
the hub says holds read:metrics gets them, any other caller a 403; answers and grading outcomes are counted."""

from __future__ import annotations

import time

import requests
from prometheus_client import REGISTRY
from test_portal_handlers import A1, COURSE, Portal, shared_portal  # noqa: F401 (a fixture)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def eventually(check, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def scrape(portal: Portal, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(portal.url + "metrics", headers=headers, timeout=30)


def test_only_a_read_metrics_token_gets_the_metrics(shared_portal: Portal) -> None:  # noqa: F811
    portal = shared_portal
    scraper = portal.hub.add_service("prometheus", scopes=["read:metrics"])
    other_service = portal.hub.add_service("other", scopes=["read:users"])
    for token in (None, portal.tokens["quantri"], portal.tokens["an"], other_service, "not-a-token"):
        refused = scrape(portal, token)
        assert refused.status_code == 403, token
        assert "read:metrics" in refused.text and "truongso_http" not in refused.text
    answer = scrape(portal, scraper)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    assert 'truongso_http_requests_total{code="403",method="GET",service="portal"}' in answer.text
    assert "truongso_grading_jobs_running" in answer.text and "process_cpu_seconds_total" in answer.text


def test_answers_and_sandbox_outcomes_are_counted(shared_portal: Portal) -> None:  # noqa: F811
    portal = shared_portal
    labels = {"service": "portal", "method": "PUT", "code": "404"}  # no other request of this module is one
    graded = sample("truongso_sandbox_submissions_total", outcome="graded")
    before = sample("truongso_http_requests_total", **labels)
    assert requests.put(portal.url + "khong-co-trang-nay", timeout=30).status_code == 404
    # counted as the answer is logged, which may be just after the client has it
    assert eventually(lambda: sample("truongso_http_requests_total", **labels) == before + 1)
    portal.app.store.release(COURSE, A1, b"release", ["bai.ipynb"], "gv-mot", False, None)  # a grade button
    r = portal.post_form("gv-mot", f"courses/{COURSE}/assignments/{A1}/grade", {})  # the stand-in grades 1
    assert r.status_code == 302
    assert eventually(lambda: sample("truongso_sandbox_submissions_total", outcome="graded") >= graded + 1)
