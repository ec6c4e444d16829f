"""Verification codes: the unguessable half of a certificate's public address.

Serials (`TS-2026-000123`) are sequential so that people can file and quote them, which also makes them
guessable: anyone could page through the public register. Each certificate therefore also gets a random
verification code, printed on the paper next to the serial and carried in its QR code
(`…/verify/<serial>/<code>`). The public page shows the certificate's contents only for serial + code; a
serial alone says no more than whether that number is registered, in force or revoked.

A code is 12 characters of Crockford's base32 (digits and capitals without I, L, O, U): 60 random bits
from `secrets`, printed in groups of four (`7K3M-Q9XH-PD2A`). At the service's rate limit of 60 requests a
minute per address, guessing one certificate's code takes ~10^13 years per address. People type codes
from paper, so input is forgiving the way Crockford's alphabet intends: case, spaces and dashes are
ignored, O reads as 0 and I/L as 1.
"""

from __future__ import annotations

import hmac
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_TYPED_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_RE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
# A serial, then optionally a code, as the last parts of a verification URL (or typed with a space).
_REFERENCE_RE = re.compile(r"([A-Za-z]{1,6}-\d{4}-\d{6})(?:[/\s]+([0-9A-Za-z\- ]{1,40}))?/?")


def new_code() -> str:
    """A fresh code in its stored form (12 characters, no dashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_code(text: str | None) -> str | None:
    """The stored form of a code as a person typed it, or None if it cannot be one."""
    if not text:
        return None
    compact = "".join(text.split()).replace("-", "").upper().translate(_TYPED_AS)
    return compact if _CODE_RE.fullmatch(compact) else None


def format_code(code: str) -> str:
    """As printed: groups of four joined by dashes."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def codes_match(given: str | None, stored: str | None) -> bool:
    """Compare in constant time, so response timing does not tell how much of a guess was right."""
    code = normalize_code(given)
    if code is None or not stored:
        return False
    return hmac.compare_digest(code.encode(), stored.encode())


def parse_reference(text: str) -> tuple[str | None, str | None]:
    """(serial, raw code or None) from what someone typed or scanned: a serial, `serial code`, or a
    verification URL ending in `/verify/<serial>` or `/verify/<serial>/<code>`."""
    text = text.strip()
    for start in (text.rfind("/verify/") + len("/verify/") if "/verify/" in text else -1, 0):
        if start < 0:
            continue
        match = _REFERENCE_RE.fullmatch(text[start:].split("?", 1)[0].split("#", 1)[0].strip())
        if match:
            return match.group(1).upper(), (match.group(2) or "").strip() or None
    return None, None
