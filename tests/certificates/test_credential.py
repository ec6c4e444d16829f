"""Signed credentials: exactly what bytes are signed, and every tampering fails."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from support.certificates_world import ISSUED_AT, World, credential_of

from graders.certificates.credential import (
    CredentialError,
    b58decode,
    b58encode,
    canonical_bytes,
    encode_status_list,
    ensure_signing_key,
    multikey,
    parse_json_upload,
    sign,
    status_bit,
    verify,
)
from graders.certificates.documents import Award

NOW = ISSUED_AT


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def signed(world: World, key: Ed25519PrivateKey) -> dict:
    award = Award("an", "Nguyễn Văn An", "Sở TT&TT Hà Nội", "KNS-K01-2026", date(2026, 5, 30))
    return sign(credential_of(world, award, seq=7), key, NOW)


def test_valid_credential_verifies_and_has_the_open_badges_shape(signed: dict, key: Ed25519PrivateKey) -> None:
    assert verify(signed, key.public_key()).ok
    assert signed["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert signed["credentialStatus"]["statusListIndex"] == "7"
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert signed["certificate"]["fullName"] == "Nguyễn Văn An"


def test_signed_bytes_are_the_documented_ones(signed: dict, key: Ed25519PrivateKey) -> None:
    """SHA-256(canonical(proof options + @context)) || SHA-256(canonical(credential without proof))."""
    proof = dict(signed["proof"])
    signature = b58decode(proof.pop("proofValue")[1:])
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    expected_canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_bytes(unsigned) == expected_canonical
    assert "Nguyễn".encode() in expected_canonical  # UTF-8, not \\u escapes
    options = {**proof, "@context": signed["@context"]}
    data = hashlib.sha256(canonical_bytes(options)).digest() + hashlib.sha256(expected_canonical).digest()
    key.public_key().verify(signature, data)  # raises if not exactly these bytes


def flip_last(value: str) -> str:
    """The same base58 string with its last character changed."""
    return value[:-1] + ("2" if value[-1] != "2" else "3")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["certificate"].__setitem__("fullName", "Nguyễn Văn Ân"),  # one diacritic
        lambda d: d["certificate"].__setitem__("issuedOn", "2026-06-06"),
        lambda d: d["certificate"].__setitem__("serial", "TS-2026-000008"),
        lambda d: d.__setitem__("validFrom", "2025-06-05T03:00:00Z"),
        lambda d: d["credentialSubject"]["identifier"][0].__setitem__("identityHash", "Nguyễn Văn Anh"),
        lambda d: d["proof"].__setitem__("created", "2026-06-05T03:00:01Z"),
        lambda d: d["proof"].__setitem__("proofValue", flip_last(d["proof"]["proofValue"])),
        lambda d: d.pop("proof"),
        lambda d: d.__setitem__("extra", "thêm"),
    ],
    ids=["name", "date", "serial", "validFrom", "subject", "proof-created", "signature", "no-proof", "added-field"],
)
def test_any_tampering_fails(signed: dict, key: Ed25519PrivateKey, tamper) -> None:
    altered = copy.deepcopy(signed)
    tamper(altered)
    result = verify(altered, key.public_key())
    assert not result.ok and result.vi and result.en


def test_one_changed_character_in_the_file_fails(signed: dict, key: Ed25519PrivateKey) -> None:
    text = json.dumps(signed, ensure_ascii=False, indent=2)
    altered = text.replace("Sở TT&TT Hà Nội", "Sở TT&TT Hà Nộj")
    assert altered != text
    assert verify(parse_json_upload(text.encode(), 65536), key.public_key()).ok
    assert not verify(parse_json_upload(altered.encode(), 65536), key.public_key()).ok


def test_credential_signed_by_another_key_fails(signed: dict, key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    forged = sign({k: v for k, v in signed.items() if k != "proof"}, other, NOW)
    assert verify(forged, other.public_key()).ok
    assert not verify(forged, key.public_key()).ok
    # the same forgery claiming our key as its verification method still fails
    forged["proof"]["verificationMethod"] = signed["proof"]["verificationMethod"]
    assert not verify(forged, key.public_key()).ok


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"\xff\xfe\x00{}",
        b"[1, 2]",
        b'{"a": NaN}',
        b'{"a": 1, "a": 2}',
        b'{"a": 1.5}',
        b"[" * 100000,
        b'{"proof": "x"}',
        b'{"proof": {"type": 5}}',
        b"null",
        b'"text"',
    ],
)
def test_hostile_documents_are_refused_without_exceptions(body: bytes, key: Ed25519PrivateKey) -> None:
    try:
        document = parse_json_upload(body, 1_000_000)
    except CredentialError as exc:
        assert exc.vi and exc.en
        return
    assert not verify(document, key.public_key()).ok


def test_upload_size_limit() -> None:
    with pytest.raises(CredentialError, match="too large"):
        parse_json_upload(b" " * 70000, 65536)


def test_key_is_generated_once_with_owner_only_mode(tmp_path) -> None:
    path = tmp_path / "secrets" / "k.pem"
    first = ensure_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert multikey(ensure_signing_key(path).public_key()) == multikey(first.public_key())
    path.chmod(0o644)
    with pytest.raises(CredentialError, match="readable by its owner only"):
        ensure_signing_key(path)


def test_base58_and_multikey_round_trip(key: Ed25519PrivateKey) -> None:
    for data in (b"", b"\0\0abc", bytes(range(256))):
        assert b58decode(b58encode(data)) == data
    mb = multikey(key.public_key())
    raw = b58decode(mb[1:])
    assert mb.startswith("z6Mk") and raw[:2] == b"\xed\x01"
    assert Ed25519PublicKey.from_public_bytes(raw[2:]) == key.public_key()


def test_status_list_bits() -> None:
    encoded = encode_status_list([3, 131071])
    assert encoded.startswith("u")
    assert status_bit(encoded, 3) and status_bit(encoded, 131071)
    assert not status_bit(encoded, 4) and not status_bit(encoded, 0)
