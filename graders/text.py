"""Vietnamese first, English second: the one format for messages shown to people.

At the bottom of the layers: graders/ and hub/ both use it, and it imports nothing of ours."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """A message in both languages; str() gives `vi / en` on one line."""

    vi: str
    en: str

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}"

    def format(self, **values: object) -> Text:
        return Text(self.vi.format(**values), self.en.format(**values))


class BilingualError(Exception):
    """The one error family: a reason in both languages (`text`, or `vi`/`en`) and, for errors a service answers
    with, the HTTP `status` (a class default, or per instance). Services render it; nobody parses its message."""

    status: int | None = None

    def __init__(self, vi: str, en: str, status: int | None = None) -> None:
        self.text = Text(vi, en)
        if status is not None:
            self.status = status
        super().__init__(str(self.text))

    @property
    def vi(self) -> str:
        return self.text.vi

    @property
    def en(self) -> str:
        return self.text.en


class UserError(BilingualError):
    """An error the person at the keyboard can fix; shown as one bilingual line, never a traceback."""
