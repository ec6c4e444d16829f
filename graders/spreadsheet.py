"""The one formula-neutraliser of every spreadsheet we write (certificate registry, reports, audit log, grades).

Excel and LibreOffice run a cell that starts with = + - @ (or a tab / carriage return before one) as a formula:
a learner named '=HYPERLINK(…)' must stay text in an admin's download."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """`value`, with a leading apostrophe when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
