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


class UserError(Exception):
    """An error the person at the keyboard can fix; shown as one bilingual line, never a traceback."""

    def __init__(self, vi: str, en: str) -> None:
        self.text = Text(vi, en)
        super().__init__(str(self.text))
