"""In a real browser: the instructor releases from the formgrader, a learner fetches and submits from
JupyterLab's assignment list (its Vietnamese buttons) in their own container, the instructor collects and sees
the submission, and the learner's Validate button ("Kiểm tra bài") gives its results in Vietnamese. Every screen
is checked against the pinned nbgrader's English (tests/support/english_ui.py)."""

from __future__ import annotations

import re

from support.browser import ARTIFACTS, browser_login
from support.english_ui import VISIBLE_TEXT, english_left, formgrader_strings, lab_strings

COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "02-lam-sach-du-lieu"
NOTEBOOK = "lam-sach-du-lieu.ipynb"


def dismiss_result(page) -> None:
    """The formgrader reports each action in a modal dialog; read it and close it."""
    modal = page.locator("#success-modal, #error-modal").first
    modal.wait_for(state="visible", timeout=180_000)
    assert modal.get_attribute("id") == "success-modal", modal.inner_text()
    modal.locator("button").last.click()
    modal.wait_for(state="hidden", timeout=30_000)


def test_release_submit_collect_in_the_browser(docker_demo_hub, browser) -> None:
    hub = docker_demo_hub
    ARTIFACTS.mkdir(exist_ok=True)
    instructor = browser.new_context(locale="vi-VN").new_page()
    browser_login(instructor, hub, "giangvien")
    instructor.goto(f"{hub.url}/services/portal/")
    with instructor.expect_popup() as popup:
        instructor.click(f'a.formgrader-link[href$="/{COURSE}/formgrader"]')
    formgrader = popup.value
    console: list[str] = []
    formgrader.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    formgrader.on("requestfailed", lambda r: console.append(f"failed: {r.url} {r.failure}"))
    formgrader.on("response", lambda r: r.status >= 400 and console.append(f"{r.status}: {r.url}"))
    formgrader.wait_for_url(re.compile(r".*/formgrader/manage_assignments"))
    listed = formgrader.locator("tr", has_text=ASSIGNMENT).first.locator("td.assign a")
    try:
        listed.wait_for(timeout=30_000)
    except Exception:
        # Seen twice in ~10 runs on a loaded machine: nbgrader's page never asked for its assignment list.
        # Kept visible (artifact, console) rather than hidden; a reload is what the instructor would do.
        formgrader.screenshot(path=str(ARTIFACTS / "formgrader-empty.png"), full_page=True)
        print("formgrader list empty after 30 s; console:\n" + "\n".join(console))
        formgrader.reload()
        try:
            listed.wait_for(timeout=60_000)
        except Exception:
            raise AssertionError("formgrader did not list the assignments:\n" + "\n".join(console)) from None
    row = formgrader.locator("tr", has_text=ASSIGNMENT).first
    row.locator("td.assign a").click()  # generate the student version
    dismiss_result(formgrader)
    row.locator("td.release a").wait_for(timeout=120_000)
    row.locator("td.release a").click()
    dismiss_result(formgrader)
    formgrader.locator("tr", has_text=ASSIGNMENT).first.locator('td.status[data-order="released"]').wait_for(
        timeout=120_000
    )
    formgrader.screenshot(path=str(ARTIFACTS / "formgrader-released.png"), full_page=True)

    learner = browser.new_context(locale="vi-VN").new_page()
    browser_login(learner, hub, "hocvien1")
    learner.wait_for_url(re.compile(r".*/user/hocvien1/lab.*"), timeout=180_000)
    learner.wait_for_selector(".jp-LabShell", timeout=120_000)
    learner.get_by_text("Nbgrader", exact=True).click()
    learner.get_by_text("Danh sách bài tập", exact=True).click()  # nbgrader's Assignment List, translated
    panel = learner.locator(".nbgrader-assignment-list, #nbgrader-assignment-list, [id^=nbgrader-assignment]").first
    panel.wait_for(timeout=60_000)
    learner.get_by_role("button", name="Tải về").first.wait_for(timeout=60_000)
    # hocvien1 is in a class of each demo course: the list shows one course at a time, chosen here.
    if (learner.locator("#course_list_default").inner_text() or "").strip() != COURSE:
        learner.locator("#course_list_dropdown").click()
        learner.locator("#course_list li a", has_text=COURSE).click()
    panel_text = panel.inner_text()
    for heading in ("Bài đã phát", "Bài đã tải về", "Bài đã nộp"):
        assert heading in panel_text, panel_text
    # none of the tab's English (the pinned bundle's texts, tests/support/english_ui.py) is left on screen
    assert not english_left(panel_text, lab_strings()), panel_text
    learner.screenshot(path=str(ARTIFACTS / "assignment-list-released.png"), full_page=True)
    fetch = learner.locator(".list_item", has_text=ASSIGNMENT).get_by_role("button", name="Tải về").first
    fetch.wait_for(timeout=60_000)
    fetch.click()
    submit = learner.locator(".list_item", has_text=ASSIGNMENT).get_by_role("button", name="Nộp bài").first
    submit.wait_for(timeout=60_000)
    submit.click()
    # the server's receipt time, in Vietnam time and labelled (nbgrader shows UTC as it is)
    learner.get_by_text(re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(giờ Việt Nam\)")).first.wait_for(timeout=60_000)
    assert not english_left(panel.inner_text(), lab_strings())  # fetched and submitted: still Vietnamese
    learner.screenshot(path=str(ARTIFACTS / "assignment-list-submitted.png"), full_page=True)

    formgrader.reload()
    row = formgrader.locator("tr", has_text=ASSIGNMENT).first
    row.locator("td.collect a").click()
    dismiss_result(formgrader)
    formgrader.locator("tr", has_text=ASSIGNMENT).first.locator("td.num-submissions", has_text="1").wait_for(
        timeout=120_000
    )
    formgrader.goto(f"{hub.url}/services/{COURSE}/formgrader/manage_submissions/{ASSIGNMENT}")
    formgrader.get_by_text("hocvien1").first.wait_for(timeout=60_000)
    formgrader.screenshot(path=str(ARTIFACTS / "formgrader-submissions.png"), full_page=True)
    assert not english_left(formgrader.evaluate(VISIBLE_TEXT), formgrader_strings())  # with a submission listed

    # the fetched notebook's Validate button and its result dialog (the released notebook: its tests fail)
    learner.goto(f"{hub.url}/user/hocvien1/lab/tree/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}")
    validate = learner.get_by_role("button", name="Kiểm tra bài").first
    validate.wait_for(timeout=180_000)
    validate.click()
    dialog = learner.locator(".jp-Dialog").filter(has_text="Kết quả kiểm tra").first
    dialog.wait_for(timeout=300_000)  # the Validator runs the notebook in the learner's container
    learner.screenshot(path=str(ARTIFACTS / "assignment-validate-result.png"), full_page=True)
    shown = dialog.inner_text()
    assert "Ô sau chưa đạt" in shown and not english_left(shown, lab_strings()), shown
    dialog.get_by_role("button").last.click()
    # once the validation is over the button takes its label back: in Vietnamese too
    button = learner.locator(".validate-button").first
    button.get_by_text("Kiểm tra bài").wait_for(timeout=30_000)
    assert not english_left(button.inner_text(), lab_strings()), button.inner_text()
