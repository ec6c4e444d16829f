"""In a real browser, a learner goes from the portal's "Làm bài" to "Nộp bài" without opening JupyterLab's
Assignments tab: the work is fetched and opened in their own container, checked and confirmed in Vietnamese,
and received by the exchange; with the workspace stopped, "Làm bài" starts it again and reopens the same work."""

from __future__ import annotations

import re

from support.browser import ARTIFACTS, browser_login

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"  # released by demo mode
NOTEBOOK = "python-co-ban.ipynb"
LEARNER = "hocvien2"  # test_assignment_loop_browser works as hocvien1 on the same hub


def one_click(page, hub, action: str):
    page.goto(f"{hub.url}/services/portal/")
    cell = page.locator(f'#learn-{COURSE} td.one-click[data-assignment="{ASSIGNMENT}"]')
    return cell.locator(f"a.{action}")


def stop_workspace(page, hub) -> None:
    """What "Stop My Server" does on the hub's home page: the hub API with the page's XSRF token."""
    page.goto(f"{hub.url}/hub/home")
    status = page.evaluate(
        """async (name) => {
            const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || "";
            const r = await fetch(`/hub/api/users/${name}/server`,
                                  {method: "DELETE", headers: {"X-XSRFToken": decodeURIComponent(xsrf)}});
            return r.status;
        }""",
        LEARNER,
    )
    assert status in (202, 204), status
    for _ in range(120):
        state = page.evaluate(
            """async (name) => (await (await fetch(`/hub/api/users/${name}`)).json()).servers""", LEARNER
        )
        if not state:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"the workspace of {LEARNER} did not stop: {state}")


def test_from_lam_bai_to_nop_bai_without_the_assignments_tab(docker_demo_hub, browser) -> None:
    hub = docker_demo_hub
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(locale="vi-VN").new_page()
    browser_login(page, hub, LEARNER)
    page.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab.*"), timeout=180_000)

    lam_bai = one_click(page, hub, "lam-bai")
    assert lam_bai.inner_text().startswith("Làm bài")
    lam_bai.click()
    page.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab/tree/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}$"), timeout=180_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name=re.compile(re.escape(NOTEBOOK))).wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "oneclick-lam-bai.png"))

    nop_bai = one_click(page, hub, "nop-bai")
    assert nop_bai.inner_text().startswith("Nộp bài")
    nop_bai.click()
    result = page.locator(f'.validation .notebook[data-notebook="{NOTEBOOK}"]')
    result.wait_for(timeout=300_000)  # the Validator runs the notebook in the container
    # the released notebook, untouched: its tests fail, said in plain Vietnamese, and submitting is still allowed
    assert "verdict-failed" in (result.get_attribute("class") or "")
    assert "ô kiểm tra chưa đạt" in result.inner_text()
    page.screenshot(path=str(ARTIFACTS / "oneclick-nop-bai-confirm.png"), full_page=True)
    page.locator("button.confirm-submit").click()
    receipt = page.locator(".receipt .received")
    receipt.wait_for(timeout=120_000)
    received = receipt.inner_text()
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(giờ Việt Nam, UTC\+7\)", received), received
    page.screenshot(path=str(ARTIFACTS / "oneclick-nop-bai-receipt.png"), full_page=True)

    # the portal now lists the submission, received at the same minute
    page.goto(f"{hub.url}/services/portal/")
    row = page.locator(f"#learn-{COURSE} tr", has=page.locator(f'td.one-click[data-assignment="{ASSIGNMENT}"]'))
    assert "1 lần" in row.inner_text() and received[:16] in row.inner_text()  # dd/mm/yyyy HH:MM

    # with the workspace stopped, the same click starts it and opens the same (kept) notebook
    stop_workspace(page, hub)
    one_click(page, hub, "lam-bai").click()
    page.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab/tree/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}$"), timeout=300_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "oneclick-lam-bai-after-stop.png"))
