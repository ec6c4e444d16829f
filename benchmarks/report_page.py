"""The yearly report page at a year's scale, beside the stock tool's nearest equivalent, on the same data, one run.

The data: helper B's synthetic school year (`truongso demo year`, full size by default: 142 classes, 8,686
enrolments, two courses, their nbgrader gradebooks with ~820,000 rows, ~6,700 certificates), loaded into a
temporary data directory, or an existing one given with `--data-dir`.

- ours: GET /services/portal/admin/reports?year=Y as an admin, over HTTP, to the portal's real tornado app served in
  this process (only the hub's OAuth answers are stubbed: tests/support/hub_stubs.py). The first request after the
  portal starts (every gradebook read, every chart drawn) is reported apart; then REPEAT requests; P50/P95.
  The XLSX download (`?format=xlsx`) likewise.
- stock: what nbgrader offers for the same question, `nbgrader export` (its CsvExportPlugin through
  nbgrader's Gradebook, in-process as ExportApp runs it) of both courses' gradebooks: a table of scores per learner
  and assignment, with no classes, completions, certificates, splits or charts. Run in a child process with a
  time limit (it is slow at this size), STOCK_REPEAT times.

Requests alternate: stock, ours×k, stock, …  Prints a table and one HEADLINE line.

    .venv/bin/python benchmarks/report_page.py [--data-dir DIR] [--year 2023] [--scale 1.0] [--repeat 20]
                                               [--stock-repeat 2] [--stock-timeout 900]

Never part of the test suite.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import requests  # noqa: E402
from support.hub_stubs import FakeHub  # noqa: E402
from support.portal_server import SCOPE, running_portal  # noqa: E402

TRUONGSO = str(Path(sys.executable).with_name("truongso"))

STOCK = """
import sys, time
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin
url, course, to = sys.argv[1:4]
start = time.perf_counter()
with Gradebook(url, course_id=course) as gradebook:
    plugin = CsvExportPlugin()
    plugin.to = to
    plugin.export(gradebook)
print(time.perf_counter() - start)
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def load_demo_year(data_dir: Path, year: int, scale: float) -> None:
    if not (data_dir / "truongso.sqlite").exists():
        (data_dir / "secrets").mkdir(parents=True, exist_ok=True)
        print(f"loading the demo year {year} (scale {scale:g}) into {data_dir} …", flush=True)
        done = subprocess.run([TRUONGSO, "demo", "year", "--data-dir", str(data_dir), "--year", str(year),
                               "--scale", str(scale)], capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"truongso demo year failed:\n{done.stderr}")
        print(done.stdout, flush=True)


@contextmanager
def portal(data_dir: Path, warm: bool = False) -> Iterator[tuple[str, requests.Session]]:
    """The portal's app on `data_dir`, served from this process; yields its URL and an admin's browser."""
    from hub.cli.common import load_settings
    from hub.reports.report_charts import warm as warm_up

    hub = FakeHub()
    tokens = {"quantri": hub.add_user("quantri", admin=True, roles=["admin"], scopes=[SCOPE])}

    def prepare(app: Any) -> None:
        if warm:  # what the portal does in a thread at start-up (hub/services/portal/app.py)
            warm_up(app.directory, app.settings)

    with running_portal(data_dir, hub, tokens, hub_settings=load_settings(data_dir), prepare=prepare) as client:
        yield client.url, client.browser("quantri")


def timed_get(browser: requests.Session, url: str) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    r = browser.get(url, timeout=600)
    elapsed = time.perf_counter() - start
    if r.status_code != 200:
        sys.exit(f"GET {url}: {r.status_code}\n{r.text[:2000]}")
    return elapsed, r


def stock_export(data_dir: Path, timeout: float, out: Path) -> float:
    """Seconds `nbgrader export` (CsvExportPlugin) takes over both courses' gradebooks; inf past `timeout`."""
    from hub.cli.common import load_settings

    settings = load_settings(data_dir)
    total = 0.0
    for course in settings.load_courses():
        url = settings.gradebook_url_for(course.id)
        try:
            done = subprocess.run([sys.executable, "-c", STOCK, url, course.id, str(out / f"{course.id}.csv")],
                                  capture_output=True, text=True, timeout=max(1.0, timeout - total))  # fmt: skip
        except subprocess.TimeoutExpired:
            return math.inf
        if done.returncode != 0:
            sys.exit(f"nbgrader export failed:\n{done.stderr[-3000:]}")
        total += float(done.stdout.strip().splitlines()[-1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a data directory holding the demo year (else: a fresh one)")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--stock-repeat", type=int, default=2)
    parser.add_argument("--stock-timeout", type=float, default=900.0)
    parser.add_argument("--warm", action="store_true", help="warm the report up before the first request")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the service's per-request lines, not the measurements
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        load_demo_year(data_dir, args.year, args.scale)
        page_times: list[float] = []
        xlsx_times: list[float] = []
        stock_times: list[float] = []
        with portal(data_dir, args.warm) as (url, browser):
            first, r = timed_get(browser, f"{url}admin/reports?year={args.year}")
            enrolments = r.text.split('data-figure="enrolments"><strong>', 1)[1].split("<", 1)[0]
            classes = r.text.split('data-figure="classes"><strong>', 1)[1].split("<", 1)[0]
            first_xlsx, _ = timed_get(browser, f"{url}admin/reports?year={args.year}&format=xlsx")
            per_stock = max(1, args.repeat // max(1, args.stock_repeat))
            for i in range(args.repeat):
                if i % per_stock == 0 and len(stock_times) < args.stock_repeat:
                    stock_times.append(stock_export(data_dir, args.stock_timeout, Path(tmp)))
                page_times.append(timed_get(browser, f"{url}admin/reports?year={args.year}")[0])
                xlsx_times.append(timed_get(browser, f"{url}admin/reports?year={args.year}&format=xlsx")[0])
    p50, p95 = statistics.median(page_times), percentile(page_times, 95)
    first_kind = "after warm-up" if args.warm else "cold: gradebooks read, charts drawn"
    stock = statistics.median(stock_times) if stock_times else math.nan
    rows = [
        (f"ours: report page, first request ({first_kind})", f"{first:.3f} s", ""),
        (f"ours: report page, P50 / P95 of {len(page_times)}", f"{p50:.3f} s", f"{p95:.3f} s"),
        ("ours: XLSX download, first request", f"{first_xlsx:.3f} s", ""),
        (f"ours: XLSX download, P50 / P95 of {len(xlsx_times)}", f"{statistics.median(xlsx_times):.3f} s",
         f"{percentile(xlsx_times, 95):.3f} s"),
        (f"stock: nbgrader export (CSV) of both gradebooks, median of {len(stock_times)}",
         "> timeout" if math.isinf(stock) else f"{stock:.3f} s", ", ".join(f"{t:.1f}" for t in stock_times)),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"demo year {args.year}: {classes} classes, {enrolments} enrolments (as the page shows them)")
    for what, a, b in rows:
        print(f"{what:<{width}}  {a:>10}  {b}")
    if math.isinf(stock):  # the stock export did not finish: a lower bound
        stock_text, ratio_text = f"> {args.stock_timeout:.0f} s", f"> {args.stock_timeout / p50:.0f}x"
    else:
        stock_text, ratio_text = f"{stock:.1f} s", f"{stock / p50:.1f}x"
    print(f"HEADLINE report page for a year ({enrolments} enrolments): P50 {p50:.3f} s, P95 {p95:.3f} s, "
          f"first {first:.3f} s; stock nbgrader export {stock_text}; ours is {ratio_text} stock speed")  # fmt: skip


if __name__ == "__main__":
    main()
