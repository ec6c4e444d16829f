"""The signed bytes did not change when the hand-written encoders gave way to `rfc8785` and `base58`.

Every credential issued before that switch was signed over ``json.dumps(sort_keys, compact, ensure_ascii=False)``
and carries a hand-written base58btc proofValue. These tests keep frozen copies of those encoders (here only, as
the reference) and prove that the library-based ones in credential.py give byte-identical output for everything
they accept, refuse exactly the values where RFC 8785 and json.dumps part ways, and that credentials signed by
the old code (tests/certificates/data/) still verify. If a library upgrade or an edit changes one byte, they fail.
"""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from support.certificates_world import ISSUED_AT, World, credential_of

from graders.certificates.credential import (
    JCS_MAX_INT,
    CredentialError,
    b58decode,
    b58encode,
    canonical_bytes,
    multikey,
    parse_json_upload,
    sign,
    verify,
)
from graders.certificates.documents import Award, issuer_profile, status_list_credential

DATA = Path(__file__).parent / "data"
NOW = ISSUED_AT


# ---------------------------------------------------------------- the old encoders, frozen (reference only)

_OLD_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def old_canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def old_b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_OLD_B58[rem])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def old_b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _OLD_B58.find(char)
        if index < 0:
            raise ValueError("not base58btc")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def old_signed_bytes(document: dict) -> bytes:
    """What the old code signed for `document` (a signed credential)."""
    options = {k: v for k, v in document["proof"].items() if k != "proofValue"}
    options["@context"] = document.get("@context")
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    return (
        hashlib.sha256(old_canonical_bytes(options)).digest() + hashlib.sha256(old_canonical_bytes(unsigned)).digest()
    )


def assert_same_or_rightly_refused(value: Any) -> bool:
    """canonical_bytes(value) is the old bytes, or it refuses a value where the old bytes were not JCS (or
    were no bytes at all). True when accepted."""
    try:
        new = canonical_bytes(value)
    except CredentialError:
        try:
            old = old_canonical_bytes(value)
        except (ValueError, TypeError):  # the old code failed too (lone surrogate, float NaN, ...)
            return False
        try:
            jcs = rfc8785.dumps(value)
        except rfc8785.CanonicalizationError:
            return False
        assert jcs != old or _has_fraction(value), f"refused although both encodings agree: {value!r}"
        return False
    assert new == old_canonical_bytes(value), f"bytes drifted for {value!r}"
    return True


def _has_fraction(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_fraction(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_fraction(v) for v in value)
    return False


# ---------------------------------------------------------------- credentials the old code signed


def legacy() -> tuple[list[dict], Ed25519PublicKey]:
    documents = json.loads((DATA / "signed_by_hand_written_encoders.json").read_text(encoding="ascii"))
    key = serialization.load_pem_public_key((DATA / "signed_by_hand_written_encoders.pem").read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    return documents, key


def test_credentials_signed_by_the_old_code_still_verify() -> None:
    documents, key = legacy()
    assert len(documents) == 3  # a plain credential, one full of hostile characters, a status list
    hostile = documents[1]["certificate"]
    assert "\u2028" in hostile["organisation"] and "\x00" in hostile["organisation"]
    assert unicodedata.is_normalized("NFD", hostile["fullName"]) and "\U0001f469" in hostile["fullName"]
    for document in documents:
        result = verify(document, key)
        assert result.ok, (document["id"], result.en)
        unsigned = {k: v for k, v in document.items() if k != "proof"}
        assert canonical_bytes(unsigned) == old_canonical_bytes(unsigned)
        assert b58encode(b58decode(document["proof"]["proofValue"][1:])) == document["proof"]["proofValue"][1:]


def test_credentials_signed_by_the_old_code_still_verify_when_uploaded() -> None:
    """The file as a learner would upload it (not ASCII-escaped, indented), through the upload parser."""
    documents, key = legacy()
    for document in documents:
        body = json.dumps(document, ensure_ascii=False, indent=2).encode()
        assert verify(parse_json_upload(body, 1_000_000), key).ok
        # and one changed character still fails
        altered = json.loads(body)
        altered["validFrom"] = altered["validFrom"].replace("03:00:00", "03:00:01")
        assert not verify(altered, key).ok


def test_the_fixture_is_what_the_old_code_signed() -> None:
    """The signatures are over the old bytes (so the test above really checks the old ones against the new)."""
    documents, key = legacy()
    for document in documents:
        key.verify(old_b58decode(document["proof"]["proofValue"][1:]), old_signed_bytes(document))


# ---------------------------------------------------------------- credentials signed now verify under the old rules


AWARDS = [
    Award("an", "Nguyễn Văn An", "Sở TT&TT Hà Nội", "KNS-K01-2026", date(2026, 5, 30)),
    Award("d", unicodedata.normalize("NFD", "Đặng Thị Hường"), "UBND tỉnh Thừa Thiên – Huế", None, None),
    Award("e", "Lê 👩🏽‍💻 𠜎𠜱", 'Cục "Chuyển đổi số"\\quốc gia\u2028\u2029', "K\tK\n\r\x0b\x7f\x85", None),
    Award("f", "\ue000\uf8ff\ufeff\ufffd\uffff", "\x00\x01\x1f </script> ' / \\u0041", "", date(2026, 1, 1)),
]


@pytest.mark.parametrize("award", AWARDS, ids=["plain", "nfd", "emoji-controls", "private-use"])
def test_new_credentials_have_the_old_bytes(world: World, award: Award) -> None:
    key = Ed25519PrivateKey.generate()
    document = credential_of(world, award, seq=42)
    assert canonical_bytes(document) == old_canonical_bytes(document)
    signed = sign(document, key, NOW)
    # checked with the old encoders: a verifier that never upgraded accepts what we sign now
    key.public_key().verify(old_b58decode(signed["proof"]["proofValue"][1:]), old_signed_bytes(signed))
    assert verify(signed, key.public_key()).ok
    for other in (
        issuer_profile(world.settings, key.public_key()),
        status_list_credential(world.settings, 2026, [0, 42, 131071], key, NOW),
    ):
        assert canonical_bytes(other) == old_canonical_bytes(other)


# ---------------------------------------------------------------- hostile values


HOSTILE_STRINGS = [
    "",
    "Nguyễn Văn Ân",
    unicodedata.normalize("NFD", "Nguyễn Văn Ân"),
    "Tiếng Việt có dấu: ă â đ ê ô ơ ư ạ ả ã ấ ầ ẩ ẫ ậ",
    "👩‍🎓🇻🇳 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀 \U0010ffff",
    '"quoted" \'single\' \\ backslash \\\\ \\" \\u0000 / </script>',
    "".join(chr(i) for i in range(0x20)) + "\x7f" + "".join(chr(i) for i in range(0x80, 0xA0)),
    "\u2028\u2029\u200b\u200c\u200d\u00ad\ufeff\ufffe\uffff\ufffd",
    "\ue000\uf8ff\U000f0000",
    "a\x00b",
]


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_hostile_strings_have_the_old_bytes(text: str) -> None:
    for value in (text, [text, {"x": text}], {text: text, "a": [text]}):
        assert assert_same_or_rightly_refused(value)


def test_every_character_is_written_as_before() -> None:
    """Each code point but the surrogates, as a value and as a key: the string escaping of both is one."""
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert canonical_bytes({"s": every}) == old_canonical_bytes({"s": every})
    bmp = {chr(c): c % 7 for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF}  # UTF-16 order = code points
    assert canonical_bytes(bmp) == old_canonical_bytes(bmp)
    # characters above U+FFFF sort alike in both while no key has one of U+E000-U+FFFF beside them
    low_and_astral = {chr(c): 1 for c in [*range(0xD800), *range(0x10000, 0x110000, 61)]}
    assert canonical_bytes(low_and_astral) == old_canonical_bytes(low_and_astral)


def test_rfc8785_string_example() -> None:
    """RFC 8785 section 3.2.2.2's string example, in both encodings."""
    value = {"s": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/"}
    expected = '{"s":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode()
    assert canonical_bytes(value) == expected == old_canonical_bytes(value)


def test_where_key_orders_differ_the_document_is_refused() -> None:
    """UTF-16 order (JCS) puts 😀 (D83D DE00) before U+FB33; code-point order (old json.dumps) after. RFC 8785
    section 3.2.3's example has both: it is refused, at signing and at upload, rather than signed either way."""
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    assert rfc8785.dumps(value) != old_canonical_bytes(value)
    assert list(json.loads(rfc8785.dumps(value))) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    with pytest.raises(CredentialError, match="sort order is ambiguous"):
        canonical_bytes(value)
    with pytest.raises(CredentialError, match="sort order is ambiguous"):
        canonical_bytes({"proof": {}, "nested": [{"\U0001f600": 1, "\ue000": 2}]})
    with pytest.raises(CredentialError, match="sort order is ambiguous"):
        parse_json_upload(json.dumps({"a": {"\U0001f600": 1, "\uffff": 2}}).encode(), 65536)
    # astral keys next to keys below U+D800 only, or a lone astral key: same order, accepted, same bytes
    for fine in ({"\U0001f600": 1, "\u20ac": 2, "z": 3}, {"\U0001f600": 1}, {"\U0001f600a": 1, "\U0001f600b": 2}):
        assert canonical_bytes(fine) == old_canonical_bytes(fine)


def test_numbers() -> None:
    """Only integers within JCS's exact range (old and new write them alike); no fractions, no -0 to tell."""
    for number in (0, -0, 1, -1, 40, JCS_MAX_INT, -JCS_MAX_INT, True, False, None):
        assert assert_same_or_rightly_refused({"n": number, "l": [number]})
    assert parse_json_upload(b'{"n": -0}', 65536) == {"n": 0}
    assert canonical_bytes(parse_json_upload(b'{"n": -0}', 65536)) == b'{"n":0}'
    for big in (JCS_MAX_INT + 1, -JCS_MAX_INT - 1, 10**19):
        with pytest.raises(CredentialError, match=r"integer beyond"):
            canonical_bytes({"n": big})
        with pytest.raises(CredentialError, match=r"integer beyond"):
            parse_json_upload(json.dumps({"n": [big]}).encode(), 65536)
    for fraction in (0.5, -0.0, 1.0, float("nan"), float("inf")):
        with pytest.raises(CredentialError, match="fractional"):
            canonical_bytes({"n": fraction})


def test_lone_surrogates_are_refused_not_a_crash() -> None:
    """The old encoder raised UnicodeEncodeError on them (a 500 from the upload page); now a clear refusal."""
    with pytest.raises(UnicodeEncodeError):
        old_canonical_bytes({"s": "\ud800"})
    for value in ({"s": "a\ud800"}, {"\udfff": 1}, ["\udc00\ud800"]):
        with pytest.raises(CredentialError, match="lone surrogate"):
            canonical_bytes(value)
    with pytest.raises(CredentialError, match="lone surrogate"):
        parse_json_upload(b'{"proof": {}, "name": "\\ud800"}', 65536)
    documents, key = legacy()
    forged = {**documents[0], "name": "\ud800"}  # as json.loads gives it, past the upload parser
    result = verify(forged, key)
    assert not result.ok and "lone surrogate" in result.en


def test_other_python_values_are_refused() -> None:
    for value in ({"d": date(2026, 1, 1)}, {1: "a"}, {"s": {"a"}}, {"b": b"x"}):
        with pytest.raises(CredentialError):
            canonical_bytes(value)
    assert canonical_bytes({"t": ("a", 1)}) == old_canonical_bytes({"t": ("a", 1)}) == b'{"t":["a",1]}'


def random_value(rng: random.Random, depth: int = 0) -> Any:
    pool = (
        [chr(c) for c in range(0x20)]
        + list("\x7f\x80\x9f\u2028\u2029\u00ad\u200d\ufeff\ufffd\ufffe\uffff\ue000\uf8ff")
        + list("\"\\/'<>&{}[]:, ")
        + list("aăâbcdđeêghiklmnoôơpqrstuưvxy")
        + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0306", "\u0302", "\u031b"]  # Vietnamese marks
        + ["😀", "👩‍🎓", "🇻🇳", "𠀀", "\U0010ffff", "\U0001f3fd"]
    )

    def text() -> str:
        chars = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 12)))
        return unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC", "NFKD"]), chars) if rng.random() < 0.5 else chars

    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return text()
    if kind == 1:
        return rng.choice([None, True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2**31, -(2**53) + 1, 2**53 - 1, 2**53, rng.randrange(-(10**20), 10**20)])
    if kind in (3, 4):
        return text()
    if kind in (5, 6):
        return {text(): random_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))]


def test_random_documents_have_the_old_bytes_or_are_rightly_refused() -> None:
    rng = random.Random(8785)
    accepted = 0
    for _ in range(5000):
        value = {"doc": random_value(rng)}
        accepted += assert_same_or_rightly_refused(value)
        if rng.random() < 0.1:  # through the upload parser too: what it lets pass has the old bytes
            body = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
            try:
                parsed = parse_json_upload(body, 10_000_000)
            except CredentialError:
                continue
            assert canonical_bytes(parsed) == old_canonical_bytes(parsed)
    assert accepted > 3000  # most are fine: the refusals are the rare cases above


# ---------------------------------------------------------------- base58btc


def test_base58_is_the_old_encoding() -> None:
    rng = random.Random(58)
    samples = [b"", b"\0", b"\0" * 7, b"\0\0\x01", b"\x01\0", b"\xff" * 64, bytes(range(256))]
    samples += [b"\0" * rng.randrange(4) + rng.randbytes(rng.randrange(0, 80)) for _ in range(2000)]
    for data in samples:
        text = b58encode(data)
        assert text == old_b58encode(data), data
        assert b58decode(text) == old_b58decode(text) == data
    # the examples of draft-msporny-base58 (leading zero bytes as "1")
    assert b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert b58encode(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    assert b58decode("11233QC4") == bytes.fromhex("0000287fb4cd")


def test_base58_refuses_what_it_refused() -> None:
    for text in ("0", "O", "I", "l", "abc0", "+/", " ", "abc ", "abc\n", " abc", "\tabc", "ễ", "１", "ａ", "z\x00"):
        with pytest.raises(ValueError, match="not base58btc"):
            old_b58decode(text)
        with pytest.raises(ValueError, match="not base58btc"):
            b58decode(text)
    assert b58decode("") == old_b58decode("") == b""


def test_proof_value_with_trailing_whitespace_still_fails() -> None:
    """base58.b58decode alone would strip it and accept the changed file."""
    documents, key = legacy()
    changed = {**documents[0], "proof": {**documents[0]["proof"]}}
    changed["proof"]["proofValue"] += " "
    result = verify(changed, key)
    assert not result.ok and "malformed proof value" in result.en


def test_did_key_is_the_old_encoding() -> None:
    for _ in range(50):
        public = Ed25519PrivateKey.generate().public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert multikey(public) == "z" + old_b58encode(b"\xed\x01" + raw)
    # the W3C did:key Ed25519 test vector decodes to the multicodec prefix and a 32-byte key
    raw = b58decode("6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp")
    assert raw[:2] == b"\xed\x01" and len(raw) == 34
    assert multikey(Ed25519PublicKey.from_public_bytes(raw[2:])) == "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
