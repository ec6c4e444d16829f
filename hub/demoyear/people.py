"""Vietnamese names, usernames and e-mail addresses for synthetic people; pure functions of a random.Random.

Family names are drawn with roughly their shares in Vietnam (Nguyễn about 38%, Trần 11%, Lê 9.5%…); middle
and given names by sex. Usernames follow the habit of Vietnamese offices, the given name then the initials
of the family and middle names (Nguyễn Văn An → `annv`), numbered from 2 when taken.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

DEMO_EMAIL_DOMAIN = "demo.truongso.invalid"  # .invalid can never be a real address (RFC 2606)

FAMILY_NAMES = (
    ("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 31), ("Huỳnh", 20), ("Phan", 45),
    ("Vũ", 20), ("Võ", 19), ("Đặng", 21), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13), ("Dương", 10),
    ("Lý", 5), ("Đinh", 7), ("Trương", 6), ("Lâm", 4), ("Mai", 4), ("Cao", 4), ("Đào", 4), ("Lương", 3),
    ("Hà", 4), ("Tạ", 2), ("Tô", 2), ("Chu", 2), ("Thái", 2), ("Kiều", 1), ("Triệu", 1), ("La", 1),
)  # fmt: skip
MALE_MIDDLE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thanh", "Xuân", "Ngọc", "Hoàng",
               "Trọng", "Duy", "Quốc", "Tiến", "Thế", "Đình", "Anh", "Mạnh")  # fmt: skip
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Thùy", "Minh", "Kim", "Hồng", "Phương",
                 "Mai", "Diệu", "Khánh", "Hải")  # fmt: skip
FEMALE_SECOND_MIDDLE = ("Bích", "Thu", "Thanh", "Minh", "Ngọc", "Hồng", "Kim", "Phương", "Thùy")
MALE_GIVEN = ("An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy",
              "Khánh", "Khoa", "Kiên", "Long", "Lâm", "Mạnh", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân",
              "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Tiến", "Toàn", "Trung", "Tuấn", "Tùng", "Việt",
              "Vinh", "Hưng", "Lộc", "Hậu", "Tâm")  # fmt: skip
FEMALE_GIVEN = ("An", "Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng",
                "Hương", "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh",
                "Phương", "Quyên", "Quỳnh", "Thảo", "Thanh", "Thu", "Thủy", "Trang", "Trinh", "Uyên", "Vân",
                "Yến", "Xuân", "Hường", "Liên", "Tuyết")  # fmt: skip

_FAMILY, _FAMILY_WEIGHTS = zip(*FAMILY_NAMES, strict=True)


@dataclass(frozen=True)
class Name:
    family: str
    middle: str  # one or two words
    given: str

    @property
    def full(self) -> str:
        return f"{self.family} {self.middle} {self.given}"


def random_name(rng: random.Random) -> Name:
    family = rng.choices(_FAMILY, _FAMILY_WEIGHTS)[0]
    if rng.random() < 0.55:  # civil servants on data courses: a little more women than men
        middle = rng.choice(FEMALE_MIDDLE)
        if middle == "Thị" and rng.random() < 0.35:
            middle = f"Thị {rng.choice(FEMALE_SECOND_MIDDLE)}"
        given = rng.choice(FEMALE_GIVEN)
    else:
        middle, given = rng.choice(MALE_MIDDLE), rng.choice(MALE_GIVEN)
    if middle.endswith(given):  # "Thị Thu Thu"
        given = "Trang" if given != "Trang" else "Linh"
    return Name(family, middle, given)


def ascii_fold(text: str) -> str:
    """`Nguyễn Đức` → `Nguyen Duc`: diacritics off, đ/Đ to d/D (NFD leaves them whole)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def username_base(name: Name) -> str:
    initials = "".join(word[0] for word in f"{name.family} {name.middle}".split())
    return ascii_fold(f"{name.given}{initials}").lower()


class Usernames:
    """Unique usernames: `annv`, then `annv2`, `annv3`… skipping every name in `taken` (the real accounts)."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.next: dict[str, int] = {}

    def make(self, name: Name) -> str:
        base = username_base(name)
        n = self.next.get(base, 1)
        candidate = base if n == 1 else f"{base}{n}"
        while candidate in self.taken:
            n += 1
            candidate = f"{base}{n}"
        self.next[base] = n + 1
        self.taken.add(candidate)
        return candidate


def email_for(username: str) -> str:
    return f"{username}@{DEMO_EMAIL_DOMAIN}"
