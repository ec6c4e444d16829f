"""The exchange under hostile uploads and heavy learners, against the real service of a real hub.

Memory is the exchange process's own (its peak resident set, VmHWM, reset before each case), so a bomb that
tarfile would read in full shows up however short-lived it is. Quotas are set small in truongso.toml.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
import requests
from support import hostile_archives as h
from support.hub import Hub, exchange_token, exchange_url, running_demo_hub
from test_exchange import ASSIGNMENT, COURSE, NOTEBOOK, REPO, TYPICAL, api, nbgrader, tar_gz

from graders.coursedir import ensure_course_dir
from graders.curriculum import load_course
from hub.coursework.store import ExchangeStore, SubmitPolicy
from hub.directory.db import Directory
from hub.settings import HubSettings

MiB = 1024 * 1024
QUOTA_MB = 2
PER_HOUR = 4
SUBMISSIONS = f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    toml = f"exchange_quota_mb = {QUOTA_MB}\nexchange_attempts_per_hour = {PER_HOUR}\n"
    with running_demo_hub(tmp_path_factory.mktemp("limits") / "data", toml=toml) as started:
        yield started


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {name: exchange_token(hub, name) for name in ("giangvien", "hocvien1", "hocvien2", "hocvien3")}


class Service:
    """The exchange process: its pid (the one listening on its port) and its memory."""

    def __init__(self, hub: Hub) -> None:
        port = urlparse(exchange_url(hub)).port
        pids = {c.pid for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN"}
        assert len(pids) == 1, pids
        self.pid = pids.pop()

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def growth_during(self, action: Callable[[], object]) -> float:
        """MB by which the process's peak resident memory rose above its size before `action`."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
        before = self._status("VmRSS")
        action()
        return (self._status("VmHWM") - before) / MiB


def _send_raw(hub: Hub, path: str, size: int, token: str | None, method: str = "POST") -> tuple[int, str]:
    """Send `size` bytes with a Content-Length, as fast as the service takes them. First the headers alone,
    waiting a moment for an early answer (read before the connection is reset); then the body. Returns how
    many body bytes the service took before it closed the connection, and what it answered."""
    url = urlparse(exchange_url(hub) + "api/" + path)
    headers = [f"{method} {url.path} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {size}",
               "Content-Type: application/gzip"] + ([f"Authorization: token {token}"] if token else [])  # fmt: skip
    sent = 0
    answer = b""
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        sock.settimeout(3)
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            pass  # the service waits for the body before answering
        chunk = b"\0" * (256 * 1024)
        sock.settimeout(10)
        try:
            while sent < size:
                sent += sock.send(chunk[: size - sent])
            while part := sock.recv(65536):
                answer += part
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
    return sent, answer.decode(errors="replace")


@pytest.mark.parametrize("size_mb", [70, 100])
@pytest.mark.parametrize("token", ["none", "forged"])
def test_a_big_unauthenticated_body_is_refused_before_it_is_read(hub: Hub, token: str, size_mb: int) -> None:
    service = Service(hub)
    result: dict[str, tuple[int, str]] = {}
    started = time.monotonic()
    forged = "0" * 32 if token == "forged" else None
    grown = service.growth_during(lambda: result.update(r=_send_raw(hub, SUBMISSIONS, size_mb * MiB, forged)))
    seconds = time.monotonic() - started
    sent, answer = result["r"]
    print(f"\nunauthenticated {size_mb} MB ({token} token): service took {sent / MiB:.1f} MB, "
          f"peak memory +{grown:.1f} MB, {seconds:.2f} s, answer {answer.splitlines()[:1]}")  # fmt: skip
    assert sent < 16 * MiB  # what the kernel's socket buffers hold, not the body
    assert grown < 20
    assert not answer or answer.startswith("HTTP/1.1 403")


def test_a_big_authenticated_body_gets_413_before_it_is_read(hub: Hub, tokens: dict[str, str]) -> None:
    service = Service(hub)
    result: dict[str, tuple[int, str]] = {}
    grown = service.growth_during(lambda: result.update(r=_send_raw(hub, SUBMISSIONS, 100 * MiB, tokens["hocvien1"])))
    sent, answer = result["r"]
    print(f"\nauthenticated 100 MB: service took {sent / MiB:.1f} MB, peak memory +{grown:.1f} MB")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "nội dung gửi lên quá lớn (tối đa 25 MB) / the request body is too large (at most 25 MB)" in answer
    assert sent < 16 * MiB and grown < 20
    # a little over the limit, the body is read and dropped so that a client like requests, which sends it
    # all before reading, gets the reason rather than a reset connection
    over = {}
    grown = service.growth_during(
        lambda: over.update(r=api(hub, tokens["hocvien1"], "POST", SUBMISSIONS, data=b"\0" * (30 * MiB)))
    )
    assert over["r"].status_code == 413 and "at most 25 MB" in over["r"].json()["en"]
    assert grown < 20  # read and dropped, never kept
    # a deadline is a few bytes of JSON: an instructor's 1 MB body is refused too
    deadline = f"courses/{COURSE}/assignments/{ASSIGNMENT}/deadlines/DEMO"
    big = api(hub, tokens["giangvien"], "PUT", deadline, data=b"{" + b" " * MiB + b"}")
    assert big.status_code == 413 and "at most 64 KB" in big.json()["en"]


BOMBS = {
    "GNU long-name bomb": lambda: h.long_name_bomb(600 * MiB),
    "PAX header bomb": lambda: h.pax_bomb(600 * MiB),
    "GNU sparse map": lambda: h.sparse_map_bomb(3_000_000),
}


@pytest.mark.parametrize("case", list(BOMBS))
def test_header_bombs_are_refused_and_everyone_else_is_served(hub: Hub, tokens: dict[str, str], case: str) -> None:
    body = BOMBS[case]()
    service = Service(hub)
    before = api(hub, tokens["hocvien3"], "GET", SUBMISSIONS).json()
    statuses: list[int] = []
    latencies: list[float] = []
    done = threading.Event()

    def attack() -> None:
        with ThreadPoolExecutor(4) as pool:
            for response in pool.map(lambda _: api(hub, tokens["hocvien1"], "POST", SUBMISSIONS, data=body), range(12)):
                statuses.append(response.status_code)
                assert response.json()["vi"] and response.json()["en"]
        done.set()

    def serve_meanwhile() -> None:
        attacker = threading.Thread(target=attack)
        attacker.start()
        while not done.is_set():  # another learner's request while the bombs are being refused
            started = time.monotonic()
            assert api(hub, tokens["hocvien3"], "GET", "whoami").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
        attacker.join()

    started = time.monotonic()
    grown = service.growth_during(serve_meanwhile)
    seconds = time.monotonic() - started
    print(f"\n{case} ({len(body) / 1024:.0f} KB upload, x12, 4 at a time): peak memory +{grown:.1f} MB, "
          f"{seconds:.2f} s; other learner's requests: {len(latencies)}, slowest {max(latencies):.3f} s")  # fmt: skip
    assert set(statuses) <= {400, 413} and len(statuses) == 12
    assert grown < 200
    assert latencies and max(latencies) < 3
    assert api(hub, tokens["hocvien3"], "GET", SUBMISSIONS).json() == before


@pytest.mark.parametrize(
    ("build", "status", "reason"),
    [
        (lambda: h.folder_flood(20_000), 413, "too many files and folders (> 500)"),
        (h.file_and_folder, 400, "'x' is both a file and a folder"),
        (h.timestamp_folder, 400, "'timestamp.txt' at the top must be a file"),
        (h.unicode_twins, 400, "differ only in letter case or Unicode form (NFC/NFD)"),
        (h.case_twins, 400, "differ only in letter case or Unicode form"),
    ],
    ids=["20000-folders", "file-and-folder", "timestamp-folder", "nfc-nfd-twins", "case-twins"],
)
def test_archives_that_cannot_be_unpacked_everywhere_are_refused_at_upload(
    hub: Hub, tokens: dict[str, str], build: Callable[[], bytes], status: int, reason: str
) -> None:
    before = api(hub, tokens["giangvien"], "GET", f"courses/{COURSE}/submissions").json()
    response = api(hub, tokens["hocvien1"], "POST", SUBMISSIONS, data=build())
    assert response.status_code == status, response.text
    assert reason in response.json()["en"] and response.json()["vi"]
    assert api(hub, tokens["giangvien"], "GET", f"courses/{COURSE}/submissions").json() == before


def test_nbgrader_submit_refuses_twins_before_uploading(hub: Hub, tokens: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "hocvien1"
    folder = home / COURSE / ASSIGNMENT
    folder.mkdir(parents=True)
    (home / "nbgrader_config.py").write_text(
        "from graders.exchange import use_hub_exchange\nuse_hub_exchange(get_config())\n", encoding="utf-8"
    )
    (folder / NOTEBOOK).write_bytes(TYPICAL.read_bytes())
    (folder / "Ket-qua.csv").write_text("1", encoding="utf-8")
    (folder / "ket-qua.csv").write_text("2", encoding="utf-8")
    out = nbgrader(home, tokens["hocvien1"], hub, "submit", ASSIGNMENT, "--course", COURSE, user="hocvien1",
                   check=False)  # fmt: skip
    assert "differ only in letter case or Unicode form" in out and "hãy đổi tên một tệp" in out


def test_collect_skips_a_broken_stored_submission_and_collects_everyone_else(
    hub: Hub, tokens: dict[str, str], tmp_path: Path
) -> None:
    for learner in ("hocvien1", "hocvien3"):
        response = api(hub, tokens[learner], "POST", SUBMISSIONS, data=tar_gz({NOTEBOOK: TYPICAL.read_bytes()}))
        assert response.status_code == 201, response.text
    # hocvien2's stored submission is what the service accepted before its checks: a file `x` and a file
    # `x/y`. It sorts between the other two, so it used to stop the collect before hocvien3.
    settings = HubSettings.from_run_file(hub.data_dir)
    store = ExchangeStore(Directory(settings.db_url), settings.data_path / "exchange" / "blobs")
    broken = h.file_and_folder()
    store.submit(COURSE, ASSIGNMENT, "hocvien2", "DEMO", broken, ["bai.ipynb"], SubmitPolicy())

    course_dir = ensure_course_dir(tmp_path / "course", load_course(REPO / "courses" / COURSE))
    out = nbgrader(course_dir, tokens["giangvien"], hub, "collect", ASSIGNMENT, check=False)
    submitted = course_dir / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["hocvien1", "hocvien3"], out
    for learner in ("hocvien1", "hocvien3"):
        assert (submitted / learner / ASSIGNMENT / NOTEBOOK).read_bytes() == TYPICAL.read_bytes()
        assert (submitted / learner / ASSIGNMENT / "timestamp.txt").is_file()
    assert "could not collect the submission of hocvien2" in out
    assert "'x' is both a file and a folder" in out and "vừa là tệp vừa là thư mục" in out
    assert "collected the others, but not 1 submission(s)" in out
    assert not list(submitted.glob(".*"))  # no half-extracted staging folder left behind


def _random_submission(size: int) -> bytes:
    return tar_gz({NOTEBOOK: TYPICAL.read_bytes(), "du-lieu.bin": os.urandom(size)})  # does not compress


def test_storage_quota_refuses_before_writing_and_keeps_every_attempt(hub: Hub, tokens: dict[str, str]) -> None:
    blobs = HubSettings.from_run_file(hub.data_dir).data_path / "exchange" / "blobs"
    mine = api(hub, tokens["hocvien1"], "GET", SUBMISSIONS).json()
    assert api(hub, tokens["hocvien1"], "POST", SUBMISSIONS, data=_random_submission(int(1.2 * MiB))).status_code == 201
    stored = sorted(blobs.rglob("*.tar.gz"))
    refused = api(hub, tokens["hocvien1"], "POST", SUBMISSIONS, data=_random_submission(int(1.2 * MiB)))
    assert refused.status_code == 413, refused.text
    body = refused.json()
    assert body["vi"].startswith("hết dung lượng nộp bài") and "Các bài đã nộp vẫn được giữ nguyên" in body["vi"]
    assert f"of {QUOTA_MB:.1f} MB" in body["en"] and "Your earlier submissions are all kept" in body["en"]
    assert sorted(blobs.rglob("*.tar.gz")) == stored  # nothing written for the refused attempt
    after = api(hub, tokens["hocvien1"], "GET", SUBMISSIONS).json()
    assert [a["id"] for a in after] == [a["id"] for a in mine] + [after[-1]["id"]]  # every earlier attempt kept
    # another learner is not affected
    small = tar_gz({NOTEBOOK: TYPICAL.read_bytes()})
    assert api(hub, tokens["hocvien3"], "POST", SUBMISSIONS, data=small).status_code == 201


def test_attempt_rate_is_limited_per_learner_and_assignment(hub: Hub, tokens: dict[str, str]) -> None:
    small = tar_gz({NOTEBOOK: TYPICAL.read_bytes()})
    made = len(api(hub, tokens["hocvien3"], "GET", SUBMISSIONS).json())  # all within this hour
    for _ in range(PER_HOUR - made):
        assert api(hub, tokens["hocvien3"], "POST", SUBMISSIONS, data=small).status_code == 201
    refused = api(hub, tokens["hocvien3"], "POST", SUBMISSIONS, data=small)
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    body = refused.json()
    assert f"{PER_HOUR} lần trong một giờ qua (tối đa {PER_HOUR})" in body["vi"]
    assert f"{PER_HOUR} times in the last hour (at most {PER_HOUR})" in body["en"]
    assert len(api(hub, tokens["hocvien3"], "GET", SUBMISSIONS).json()) == PER_HOUR
    # hocvien2 (one stored attempt) still submits
    assert api(hub, tokens["hocvien2"], "POST", SUBMISSIONS, data=small).status_code == 201


def test_service_still_answers(hub: Hub, tokens: dict[str, str]) -> None:
    assert requests.get(exchange_url(hub) + "api/whoami", timeout=10).status_code == 403
    assert api(hub, tokens["hocvien3"], "GET", "whoami").json()["name"] == "hocvien3"
