"""The verification service in this process: public pages, uploads, hostile input, rate limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from support.certificates_world import CLASS, DECISION, Served, World

from graders.certificates.issue import issue
from graders.certificates.store import open_store
from hub.services.certificates.ratelimit import RateLimiter, client_key


@pytest.fixture
def issued(world: World, served: Served) -> dict:
    store = open_store(world.db_url)
    result = issue(world.settings, store, world.course.id, decision=DECISION, actor="test", class_name=CLASS)
    return {c.username: c for c in result.issued}


def status_of(page: requests.Response) -> str:
    page.encoding = "utf-8"
    marker = page.text.split('data-status="', 1)[1]
    return marker.split('"', 1)[0]


def credential_file(world: World, cert) -> bytes:
    return (Path(world.settings.output_dir) / str(cert.year) / f"{cert.serial}.json").read_bytes()


def test_valid_revoked_unknown_malformed(world: World, served: Served, issued: dict) -> None:
    an = issued["an"]
    page = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}", timeout=10)
    assert page.status_code == 200 and status_of(page) == "valid"
    assert "Nguyễn Văn An" in page.text and "Kỹ năng số cho cán bộ" in page.text
    assert page.text.index("HỢP LỆ") < page.text.index("VALID")  # Vietnamese first
    assert "an@" not in page.text and ">an<" not in page.text  # no username or e-mail
    open_store(world.db_url).revoke(an.serial, "Cấp nhầm <b>lớp</b>", "test")
    page = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}", timeout=10)
    assert status_of(page) == "revoked" and "Cấp nhầm &lt;b&gt;lớp&lt;/b&gt;" in page.text
    data = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}?format=json", timeout=10).json()
    assert data["status"] == "revoked" and data["certificate"]["revokedReason"] == "Cấp nhầm <b>lớp</b>"
    unknown = requests.get(served.url + "verify/TS-2026-999999", timeout=10)
    assert unknown.status_code == 404 and status_of(unknown) == "unknown"
    bad = requests.get(served.url + "verify/%3Cscript%3Ealert(1)%3C%2Fscript%3E", timeout=10)
    assert bad.status_code == 400 and "<script>alert" not in bad.text and "&lt;script&gt;" in bad.text


def test_lookup_by_url_or_serial(served: Served, issued: dict) -> None:
    serial = issued["lien"].serial
    for query in (serial, f"  {serial} ", f"https://truongso.example/services/certificates/verify/{serial}"):
        r = requests.get(served.url + "verify", params={"q": query}, timeout=10, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].endswith(f"verify/{serial}")
    code = issued["lien"].verification_code
    for query, typed in (
        (f"https://truongso.example/services/certificates/verify/{serial}/{code}", ""),
        (serial.lower(), f" {code[:4].lower()}-{code[4:8]}-{code[8:]} "),  # as printed, typed carelessly
    ):
        params = {"q": query, "code": typed}
        r = requests.get(served.url + "verify", params=params, timeout=10, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].endswith(f"verify/{serial}/{code}"), query
    r = requests.get(served.url + "verify", params={"q": "<img src=x onerror=alert(1)>"}, timeout=10)
    assert r.status_code == 400 and "<img src=x" not in r.text


def test_upload_valid_tampered_and_foreign(world: World, served: Served, issued: dict) -> None:
    body = credential_file(world, issued["an"])
    ok = requests.post(served.url + "verify", files={"credential": ("gcn.json", body)}, timeout=10)
    assert ok.status_code == 200 and status_of(ok) == "valid" and "Nguyễn Văn An" in ok.text
    tampered = body.replace("Nguyễn Văn An".encode(), "Nguyễn Văn Ân".encode())
    bad = requests.post(served.url + "verify", files={"credential": ("gcn.json", tampered)}, timeout=10)
    assert bad.status_code == 422 and status_of(bad) == "invalid" and "Nguyễn Văn Ân" not in bad.text
    raw = requests.post(served.url + "verify", data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert raw.json()["ok"] and raw.json()["certificate"]["status"] == "valid"


def test_upload_of_a_revoked_credential_says_revoked(world: World, served: Served, issued: dict) -> None:
    open_store(world.db_url).revoke(issued["lien"].serial, "Thu hồi thử", "test")
    body = credential_file(world, issued["lien"])
    r = requests.post(served.url + "verify", files={"credential": ("gcn.json", body)}, timeout=10)
    assert status_of(r) == "revoked"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"\xff\xfe\xfa not utf-8", 400),
        (b'{"proof": 5, "certificate": ["x"]}', 422),
        (b"[]", 422),
        (b'{"a": 1, "a": 2}', 400),
        (b"[" * 50_000, 400),
        (b"x" * 70_000, 413),
    ],
    ids=["invalid-json", "not-utf8", "wrong-types", "array", "duplicate-key", "deep", "over-limit"],
)
def test_hostile_uploads_get_clear_4xx(world: World, served: Served, issued: dict, body: bytes, status: int) -> None:
    before = open_store(world.db_url).count()
    r = requests.post(served.url + "verify", files={"credential": ("x.json", body)}, timeout=10)
    assert r.status_code == status and ("KHÔNG HỢP LỆ" in r.text or "INVALID" in r.text or r.status_code == 400)
    assert "Traceback" not in r.text
    assert open_store(world.db_url).count() == before


def test_huge_body_is_refused_before_it_is_read(served: Served) -> None:
    r = requests.post(
        served.url + "verify", data=b"x" * (20 * 1024 * 1024), timeout=30, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "too large" in r.text


def test_html_in_fields_is_escaped(world: World, served: Served) -> None:
    from support.gradebooks import add_people, all_passed, make_gradebook

    add_people(world.db_url, CLASS, world.course.id, [("xss", '<script>alert("x")</script>', "<b>Đơn vị</b>")])
    gradebook = world.data_dir / "courses" / world.course.id / "gradebook.db"
    gradebook.unlink()
    make_gradebook(gradebook, world.course, {"xss": all_passed(world.course)})
    result = issue(world.settings, open_store(world.db_url), world.course.id, decision=DECISION, actor="t")
    cert = result.issued[0]
    page = requests.get(served.url + f"verify/{cert.serial}/{cert.verification_code}", timeout=10)
    assert '<script>alert("x")</script>' not in page.text and "&lt;script&gt;" in page.text
    assert "<b>Đơn vị</b>" not in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]  # no script may run at all
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_issuer_profile_and_status_list(world: World, served: Served, issued: dict) -> None:
    from graders.certificates.credential import status_bit, verify
    from graders.certificates.store import open_store as reopen

    profile = requests.get(served.url + "issuer", timeout=10).json()
    assert profile["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    pem = requests.get(served.url + "issuer/key.pem", timeout=10).text
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in pem
    an = issued["an"]
    reopen(world.db_url).revoke(an.serial, "x", "test")
    status_list = requests.get(served.url + f"status/{an.year}", timeout=10).json()
    assert verify(status_list, served.service.public_key).ok
    assert status_bit(status_list["credentialSubject"]["encodedList"], an.seq)
    assert not status_bit(status_list["credentialSubject"]["encodedList"], issued["lien"].seq)
    entry = json.loads(an.credential)["credentialStatus"]
    assert entry["statusListCredential"].endswith(f"status/{an.year}") and entry["statusListIndex"] == str(an.seq)


def test_rate_limit_gives_a_clear_429(world: World, served: Served, issued: dict) -> None:
    served.service.limiter = RateLimiter(per_minute=6, burst=3)
    url = served.url + f"verify/{issued['an'].serial}"
    headers = {"X-Forwarded-For": "203.0.113.7"}
    codes = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = requests.get(url, headers=headers, timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    limited.encoding = "utf-8"
    assert "Quá nhiều yêu cầu" in limited.text and "Too many requests" in limited.text
    # another client is not affected; a spoofed first entry does not help the limited one
    assert requests.get(url, headers={"X-Forwarded-For": "203.0.113.8"}, timeout=10).status_code == 200
    spoof = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert requests.get(url, headers=spoof, timeout=10).status_code == 429


def test_client_key_and_bounded_memory() -> None:
    assert client_key("127.0.0.1", "1.2.3.4, 5.6.7.8", 1) == "5.6.7.8"
    assert client_key("127.0.0.1", "1.2.3.4, 5.6.7.8", 2) == "1.2.3.4"
    assert client_key("127.0.0.1", None, 1) == "127.0.0.1"
    assert client_key("127.0.0.1", "2001:db8::1", 1) == client_key("127.0.0.1", "2001:db8::ffff", 1)
    limiter = RateLimiter(60, 1, max_clients=100)
    for i in range(1000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(limiter._buckets) == 100


def test_private_pages_need_a_hub_login(served: Served) -> None:
    for path in ("me", "admin", "api/certificates", "me/TS-2026-000001.pdf"):
        r = requests.get(served.url + path, timeout=10, allow_redirects=False)
        assert r.status_code in (302, 403), path  # to the hub's login, never the content
    r = requests.post(served.url + "admin/issue", data={"class_name": CLASS}, timeout=10, allow_redirects=False)
    assert r.status_code == 403


def _absurd(credential: bytes, kind: str) -> bytes:
    """A real credential with one absurd value added where a forger would put it."""
    document = json.loads(credential)
    text = json.dumps(document, ensure_ascii=False)
    if kind == "5000-digit integer":
        return text.replace('"certificate": {', '"certificate": {"n": ' + "9" * 5000 + ", ", 1).encode()
    if kind == "negative 5000-digit integer":
        return ('{"n": -' + "1" * 5000 + "}").encode()
    if kind == "huge exponent":
        return text.replace('"certificate": {', '"certificate": {"n": 1e999999, ', 1).encode()
    if kind == "deep nesting":  # under Python's recursion limit when parsed, over it when signed bytes are made
        return text.replace('"certificate": {', '"certificate": {"n": ' + "[" * 950 + "]" * 950 + ", ", 1).encode()
    if kind == "huge string":
        return text.replace('"certificate": {', '"certificate": {"n": "' + "A" * 60_000 + '", ', 1).encode()
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("5000-digit integer", ("số nguyên quá dài", "absurdly long integer")),
        ("negative 5000-digit integer", ("số nguyên quá dài", "absurdly long integer")),
        ("huge exponent", ("số thập phân", "fractional number")),
        ("deep nesting", ("lồng nhau quá sâu", "nested too deep")),
        ("huge string", ("chuỗi quá dài", "absurdly long string")),
    ],
)
def test_absurd_json_gets_a_clear_400_not_a_500(
    world: World, served: Served, issued: dict, kind: str, words: tuple[str, str]
) -> None:
    served.service.limiter = RateLimiter(per_minute=10_000, burst=10_000)
    body = _absurd(credential_file(world, issued["an"]), kind)
    assert len(body) <= world.settings.max_upload_bytes  # within the size limit: the content is the problem
    raw = requests.post(served.url + "verify", data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert raw.status_code == 400, raw.text[:300]
    answer = raw.json()
    assert answer["ok"] is False and words[0] in answer["vi"] and words[1] in answer["en"]
    page = requests.post(served.url + "verify", files={"credential": ("gcn.json", body)}, timeout=30)
    page.encoding = "utf-8"
    assert page.status_code == 400 and status_of(page) == "invalid"
    assert page.text.index(words[0]) < page.text.index(words[1])  # Vietnamese first
    # the service is still there and still verifies the untouched file
    ok = requests.post(served.url + "verify", files={"credential": ("gcn.json", credential_file(world, issued["an"]))})
    assert ok.status_code == 200 and status_of(ok) == "valid"
