"""In Chromium: a learner's encoded `javascript:` links, handlers and scripted output do nothing in the
instructor's manual-grading page of the formgrader.

The submission is graded for real (`truongso grade`, sandboxed, with the grader image); the autograded
notebook is then opened in the formgrader as the instructor, and every link in the learner's content is
clicked while Playwright listens for dialogs (`alert`). A control page, nbconvert's rendering of the same
notebook without our cleaning, shows that the listener catches these attacks when they are live.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell
from support.browser import ARTIFACTS, browser_login
from support.english_ui import english_left, formgrader_strings, visible_text_without
from support.hub import Hub, truongso

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"
NOTEBOOK = "python-co-ban"
STUDENT = "hocvien1"
REPO = Path(__file__).resolve().parents[2]
SOLVED = REPO / "tests" / "grading" / "submissions" / "solution" / f"{NOTEBOOK}.ipynb"

LINKS_MARKDOWN = (
    "Câu trả lời có liên kết: [a1](javascript:alert('a1')) [a2](javascript&colon;alert('a2')) "
    "[a3](&#106;avascript:alert('a3')) [a4](&#x6A;avascript:alert('a4')) [a5](JaVaScRiPt:alert('a5')) "
    "<javascript:alert('a6')> [a7][r] [a8](vbscript:alert('a8'))\n\n"
    "[r]: javascript:alert('a7')\n\n"
    "<a href=\"java&#x09;script:alert('a9')\">a9</a> <a href=\"jav&#x0A;ascript:alert('a10')\">a10</a> "
    "<a href=\"&#x6a;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert('a11')\">a11</a> "
    "<img src=x onerror=\"alert('a12')\"> <b onclick=\"alert('a13')\">a13</b>"
)
OUTPUT_CODE = (
    "from IPython.display import HTML, Markdown, display\n"
    "display(HTML('<a href=\"java\\tscript:alert(\\'h1\\')\">h1</a> <img src=x onerror=\"alert(\\'h2\\')\">'"
    " '<svg onload=\"alert(\\'h3\\')\"></svg><details open ontoggle=\"alert(\\'h4\\')\">h4</details>'))\n"
    "display(Markdown(\"[m1](javascript&colon;alert('m1')) [m2](&#106;avascript:alert('m2'))\"))\n"
)


def hostile_submission() -> nbformat.NotebookNode:
    nb = nbformat.read(SOLVED, as_version=4)
    for cell in nb.cells:  # the written answer the instructor grades by hand
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "tl7-tu-dong-hoa":
            cell.source = LINKS_MARKDOWN
    nb.cells.append(new_markdown_cell(LINKS_MARKDOWN))
    nb.cells.append(new_code_cell(OUTPUT_CODE))
    return nb


def click_every_link(page, back_to: str, hub_url: str) -> int:
    """Click each link of the learner's content (rendered cells and outputs); return how many."""
    selector = ".text_cell_render a, .output_subarea a, .rendered_html a, .output_area a"
    count = page.locator(selector).count()
    for index in range(count):
        link = page.locator(selector).nth(index)
        try:
            link.scroll_into_view_if_needed(timeout=5_000)
            link.click(timeout=5_000, no_wait_after=True)
        except Exception as exc:  # a link made inert may have no box to click: say so, go on
            print(f"link {index} not clickable: {exc}")
        page.wait_for_timeout(300)
        if page.url.split("#")[0] != back_to and urlparse(page.url).netloc == urlparse(hub_url).netloc:
            page.goto(back_to)
    return count


@pytest.fixture(scope="module")
def graded_hub(demo_hub: Hub, docker_prefix: str, grader_image: str) -> Hub:
    root = demo_hub.data_dir / "courses" / COURSE
    dest = root / "submitted" / STUDENT / ASSIGNMENT
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(hostile_submission(), dest / f"{NOTEBOOK}.ipynb")
    (dest / "timestamp.txt").write_text("2026-01-05 08:00:00.000000 UTC", encoding="utf-8")
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:  # sandboxes named for this session
        fh.write(f"c.SandboxGrader.name_prefix = {docker_prefix + '-xss'!r}\n")
    args = ("grade", COURSE, ASSIGNMENT, "--data-dir", str(demo_hub.data_dir), "--image", grader_image,
            "--student", STUDENT)  # fmt: skip
    run = truongso(*args, timeout=900)
    if run.returncode != 0 and "No such container" in run.stderr:  # another session's sandbox vanished mid-list
        run = truongso(*args, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return demo_hub


def test_autograded_notebook_is_cleaned_and_flagged(graded_hub: Hub) -> None:
    root = graded_hub.data_dir / "courses" / COURSE
    report = json.loads((root / "autograde-reports" / f"{ASSIGNMENT}.json").read_text(encoding="utf-8"))
    kinds = {f["kind"] for f in report["submissions"][STUDENT]["findings"]}
    assert "active_content" in kinds, kinds
    nb = nbformat.read(root / "autograded" / STUDENT / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    # What the formgrader renders as HTML: markdown cells and outputs (code is shown as escaped text).
    rendered = [c.source for c in nb.cells if c.cell_type == "markdown"]
    rendered += [json.dumps(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "\n".join(rendered).lower()
    # No live scheme in a link or source attribute and no event handler; the words may stay as plain text.
    attribute = r"""(?:href|src|action|formaction|xlink:href)\s*=\s*\\?["']?\s*"""
    live = re.findall(attribute + r"(?:javascript|vbscript|&#|&colon)", text)
    assert not live, live
    handlers = re.findall(r"""<[^>]*\son[a-z]+\s*=""", text)
    assert not handlers, handlers


@pytest.mark.browser
def test_no_link_in_the_manual_grading_page_runs_script(graded_hub: Hub, browser) -> None:
    from nbgrader.api import Gradebook

    hub = graded_hub
    root = hub.data_dir / "courses" / COURSE
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=COURSE) as gb:
        submission_id = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT).id
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    # Links that leave the hub go nowhere (no network needed, nothing loaded from outside).
    host = urlparse(hub.url).netloc
    page.route(re.compile(r"^https?://"), lambda route: route.continue_() if urlparse(route.request.url).netloc
               == host else route.abort())  # fmt: skip
    browser_login(page, hub, "giangvien")
    page.wait_for_url(re.compile(r".*/(hub|services)/.*"), timeout=120_000)
    url = f"{hub.url}/services/{COURSE}/formgrader/submissions/{submission_id}/"
    page.goto(url)
    page.wait_for_selector(".text_cell_render", timeout=120_000)
    page.wait_for_timeout(1_000)  # images' onerror would have fired by now
    body = page.content()
    assert "Câu trả lời có liên kết" in body and "a13" in body  # the learner's content is there, cleaned
    # the manual grading view's own words are Vietnamese (hub/services/formgrader/translation.py)
    # (the learner's notebook itself — markdown, code, outputs — is data, not the page's words)
    shown = page.evaluate(visible_text_without(".text_cell_render, .input_area, .output_subarea"))
    english = english_left(shown, formgrader_strings())
    assert not english, english
    clicked = click_every_link(page, page.url.split("#")[0], hub.url)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "formgrader-xss-cleaned.png"), full_page=True)
    assert clicked >= 10, clicked  # the learner's links are still there (made inert), and were clicked
    assert fired == [], fired
    hrefs = page.eval_on_selector_all(".text_cell_render a, .output_subarea a", "els => els.map(e => e.href)")
    assert not any(h.lower().startswith(("javascript:", "vbscript:", "data:")) for h in hrefs), hrefs
    context.close()


@pytest.mark.browser
def test_the_dialog_listener_catches_live_attacks(browser) -> None:
    """Control: nbconvert's rendering of the same notebook, uncleaned, fires dialogs on load and on click."""
    nb = hostile_submission()
    nb.cells[-1].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<img src=x onerror=\"alert('h2')\">"})
    ]
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    context = browser.new_context()
    page = context.new_page()
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    page.set_content(f"<html><body>{body}</body></html>")
    page.wait_for_timeout(1_000)
    for index in range(page.locator(".text_cell_render a").count()):
        page.locator(".text_cell_render a").nth(index).click(timeout=5_000, no_wait_after=True)
        page.wait_for_timeout(200)
    context.close()
    assert {"a1", "a12", "h2"} <= set(fired), fired
