"""A learner logs in through the real login page in Chromium and lands in their JupyterLab workspace."""

from __future__ import annotations

import re

from support.hub import Hub


def test_demo_learner_logs_in_and_gets_jupyterlab(demo_hub: Hub, page) -> None:
    page.goto(f"{demo_hub.url}/hub/login")
    assert "Đăng nhập" in page.inner_text("h1")
    page.fill("#username_input", "hocvien2")
    page.fill("#password_input", "sai-mat-khau")
    page.click("#login_submit")
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in page.inner_text(".login_error")

    page.fill("#username_input", "hocvien2")
    page.fill("#password_input", demo_hub.accounts["hocvien2"])
    page.click("#login_submit")
    # the hub starts the workspace and sends the browser on to JupyterLab
    page.wait_for_url(re.compile(r".*/user/hocvien2/lab.*"), timeout=120_000)
    page.wait_for_selector(".jp-Launcher, .jp-LabShell", timeout=120_000)
    assert "hocvien2" in page.url
