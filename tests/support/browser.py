"""Helpers for the browser tests (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots a person can look at


def browser_login(page, hub, username: str) -> None:
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", username)
    page.fill("#password_input", hub.accounts[username])
    page.click("#login_submit")
