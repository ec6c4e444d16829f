"""Signed credentials: Open Badges 3.0 / W3C Verifiable Credential shape, Ed25519 Data Integrity proofs.

What is signed (cryptosuite ``eddsa-jcs-2022`` of W3C "Data Integrity EdDSA Cryptosuites v1.0"):

    canonical(x)  = UTF-8 bytes of ``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``:
                    keys sorted, no whitespace, non-ASCII characters written as themselves. For the values we
                    put in credentials (ASCII keys, strings, integers, booleans, no fractions) this is exactly
                    JCS (RFC 8785), which is what the cryptosuite names; documents with fractional numbers,
                    NaN or duplicate keys are refused rather than guessed at.
    options       = the ``proof`` object without ``proofValue``, plus ``"@context"`` copied from the credential
    signed bytes  = SHA-256(canonical(options)) || SHA-256(canonical(credential without "proof"))   (64 bytes)
    proofValue    = "z" + base58btc(Ed25519 signature of the signed bytes)

The proof options (created, verificationMethod, purpose) are signed too, so they cannot be swapped. The
verification method is a ``did:key`` (the public key itself, multibase), so anyone can check a credential
offline; the school's verification service publishes the same key under its own address, which is what
ties the key to the school.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from graders.text import BilingualError

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CRYPTOSUITE = "eddsa-jcs-2022"
STATUS_LIST_BITS = 131072  # the spec's minimum (16 KiB): a list this size says nothing about how many were issued
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_MULTICODEC = b"\xed\x01"


class CredentialError(BilingualError, ValueError):
    """A document that cannot be a credential of ours; `vi`/`en` say why, for people (HTTP 400 when uploaded)."""

    status = 400


# ---------------------------------------------------------------- canonical bytes and encodings


def canonical_bytes(value: Any) -> bytes:
    """The bytes that are hashed and signed (see module docstring)."""
    _refuse_fractions(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _refuse_fractions(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise CredentialError("có số thập phân (không được ký)", "contains a fractional number (never signed)")
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise CredentialError("khoá không phải chuỗi", "non-string key")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58[rem])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _B58.find(char)
        if index < 0:
            raise ValueError("not base58btc")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def multikey(public_key: Ed25519PublicKey) -> str:
    """The public key as a Multikey ``publicKeyMultibase`` (z6Mk…), also the did:key identifier."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(_ED25519_MULTICODEC + raw)


def did_key_method(public_key: Ed25519PublicKey) -> str:
    mb = multikey(public_key)
    return f"did:key:{mb}#{mb}"


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ---------------------------------------------------------------- the signing key


def ensure_signing_key(path: Path) -> Ed25519PrivateKey:
    """The school's key in `path` (PKCS#8 PEM, mode 0600), generated the first time.

    Two processes starting at once must not end up with two keys: the new key is written to a private
    temporary file and published with link(), which fails if another process published first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its key
        finally:
            tmp.unlink(missing_ok=True)
    return load_signing_key(path)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise CredentialError(
            f"khoá ký {path} có quyền {oct(mode)}: chỉ chủ sở hữu được đọc (chmod 600)",
            f"signing key {path} has mode {oct(mode)}: it must be readable by its owner only (chmod 600)",
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CredentialError(f"{path} không phải khoá Ed25519", f"{path} is not an Ed25519 key")
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# ---------------------------------------------------------------- sign and verify


def utc_stamp(moment: datetime) -> str:
    """XML Schema dateTime in UTC with whole seconds, as the VC data model expects."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(document: dict, options: dict) -> bytes:
    options = {**options, "@context": document.get("@context")}
    return hashlib.sha256(canonical_bytes(options)).digest() + hashlib.sha256(canonical_bytes(document)).digest()


def sign(document: dict, key: Ed25519PrivateKey, created: datetime) -> dict:
    """`document` with a DataIntegrityProof (eddsa-jcs-2022) added; the input is not changed."""
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": utc_stamp(created),
        "verificationMethod": did_key_method(key.public_key()),
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(_hash_data(unsigned, options))
    return {**unsigned, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


@dataclass(frozen=True)
class Verification:
    ok: bool
    vi: str
    en: str


def verify(document: Any, public_key: Ed25519PublicKey) -> Verification:
    """Is `document` signed by `public_key`? Never raises on hostile input: the answer says why not."""
    try:
        _verify(document, public_key)
    except CredentialError as exc:
        return Verification(False, exc.vi, exc.en)
    return Verification(True, "chữ ký hợp lệ", "valid signature")


def _verify(document: Any, public_key: Ed25519PublicKey) -> None:
    if not isinstance(document, dict):
        raise CredentialError("không phải một đối tượng JSON", "not a JSON object")
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("không có chữ ký (proof)", "no proof (signature)")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(
            f"kiểu chữ ký không hỗ trợ (cần {CRYPTOSUITE})", f"unsupported proof (need {CRYPTOSUITE})"
        )
    if proof.get("proofPurpose") != "assertionMethod":
        raise CredentialError("mục đích chữ ký sai", "wrong proof purpose")
    if proof.get("verificationMethod") != did_key_method(public_key):
        raise CredentialError("không được ký bằng khoá của trường", "not signed with this school's key")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z") or len(value) > 200:
        raise CredentialError("giá trị chữ ký sai định dạng", "malformed proof value")
    try:
        signature = b58decode(value[1:])
    except ValueError:
        raise CredentialError("giá trị chữ ký sai định dạng", "malformed proof value") from None
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise CredentialError("@context của chữ ký không khớp", "proof @context does not match")
    options = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    try:
        public_key.verify(signature, _hash_data(unsigned, options))
    except InvalidSignature:
        raise CredentialError(
            "chữ ký không khớp nội dung: tài liệu đã bị sửa hoặc không do trường cấp",
            "signature does not match: the document was altered or not issued by this school",
        ) from None


# What a credential of ours can hold, with room to spare: anything past these is not one, and is refused
# before it reaches code that would choke on it (int() of 4,300+ digits raises, deep nesting recurses).
MAX_INT_DIGITS = 20  # our credentials hold no JSON numbers at all (hours, indexes are strings)
MAX_DEPTH = 16  # ours nest 5 deep
MAX_STRING = 4096  # characters in one string or key; the longest of ours is a ~200-character sentence


def parse_json_upload(body: bytes, limit: int) -> Any:
    """JSON from an untrusted upload: size-limited, strict UTF-8, no NaN, no duplicate keys, no fractions,
    no absurd numbers, nesting or strings (each refused with a CredentialError saying which)."""
    if len(body) > limit:
        raise CredentialError(
            f"tệp quá lớn (tối đa {limit // 1024} KB)", f"file too large (at most {limit // 1024} KB)"
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialError("tệp không phải văn bản UTF-8", "the file is not UTF-8 text") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise CredentialError("JSON có khoá lặp lại", "JSON has a repeated key")
        return result

    def no_constant(name: str) -> Any:
        raise CredentialError(f"JSON có giá trị không hợp lệ {name}", f"JSON has an invalid value {name}")

    def small_int(digits: str) -> int:
        # called with the literal's text, before int() sees it
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise CredentialError(
                f"JSON có số nguyên quá dài ({len(digits)} chữ số, tối đa {MAX_INT_DIGITS})",
                f"JSON has an absurdly long integer ({len(digits)} digits, at most {MAX_INT_DIGITS})",
            )
        return int(digits)

    def no_fraction(literal: str) -> Any:
        raise CredentialError("có số thập phân (không được ký)", "contains a fractional number (never signed)")

    try:
        document = json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_constant=no_constant,
            parse_int=small_int,
            parse_float=no_fraction,
        )
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" (dòng / line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise CredentialError(f"không phải JSON hợp lệ{where}", f"not valid JSON{where}") from None
    _check_shape(document)
    return document


def _check_shape(document: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH and strings longer than MAX_STRING (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_STRING:
                raise CredentialError(
                    f"JSON có chuỗi quá dài ({len(item)} ký tự, tối đa {MAX_STRING})",
                    f"JSON has an absurdly long string ({len(item)} characters, at most {MAX_STRING})",
                )
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise CredentialError(
                f"JSON lồng nhau quá sâu (tối đa {MAX_DEPTH} tầng)",
                f"JSON nested too deep (at most {MAX_DEPTH} levels)",
            )
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((value, depth + 1) for value in item.values())
        else:
            stack.extend((value, depth + 1) for value in item)


# ---------------------------------------------------------------- revocation status list


def encode_status_list(revoked_indexes: Iterable[int], size: int = STATUS_LIST_BITS) -> str:
    """BitstringStatusList `encodedList`: multibase base64url (no padding) of the GZIP'd bitstring,
    bit 0 being the most significant bit of the first byte."""
    indexes = list(revoked_indexes)
    size = max(size, ((max(indexes, default=0) // 8) + 1) * 8)
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def status_bit(encoded_list: str, index: int) -> bool:
    data = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
