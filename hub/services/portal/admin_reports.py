"""Placeholder: filled by the work on issue 14."""

from __future__ import annotations

handlers: list = []
