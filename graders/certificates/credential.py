"""Signed credentials: Open Badges 3.0 / W3C Verifiable Credential shape, Ed25519 Data Integrity proofs.

What is signed (cryptosuite ``eddsa-jcs-2022`` of W3C "Data Integrity EdDSA Cryptosuites v1.0"):

    canonical(x)  = the JSON Canonicalization Scheme (JCS, RFC 8785) of x, made by the ``rfc8785`` library:
                    keys sorted by their UTF-16 code units, no whitespace, strings UTF-8 with only ``"``, ``\\``
                    and U+0000-U+001F escaped (``\\b \\t \\n \\f \\r``, else ``\\u00xx`` in lowercase hex).
                    Refused rather than signed (CredentialError), at issue and at upload: fractional numbers,
                    NaN, integers beyond +-(2**53 - 1), lone surrogates, non-string keys, duplicate keys, and
                    objects whose keys sort differently by UTF-16 code units than by code points (only possible
                    with keys holding characters above U+FFFF). For everything else JCS is byte for byte
                    ``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``,
                    which is what credentials issued before the switch to ``rfc8785`` were signed over, so they
                    keep verifying (proved in tests/certificates/test_credential_encoding.py).
    options       = the ``proof`` object without ``proofValue``, plus ``"@context"`` copied from the credential
    signed bytes  = SHA-256(canonical(options)) || SHA-256(canonical(credential without "proof"))   (64 bytes)
    proofValue    = "z" + base58btc(Ed25519 signature of the signed bytes), base58btc being the bitcoin
                    alphabet of the ``base58`` library, a leading zero byte written as "1"

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
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from graders.text import BilingualError

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CRYPTOSUITE = "eddsa-jcs-2022"
STATUS_LIST_BITS = 131072  # the spec's minimum (16 KiB): a list this size says nothing about how many were issued
_B58_LETTERS = frozenset(base58.BITCOIN_ALPHABET.decode("ascii"))
JCS_MAX_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: larger integers are refused, never rounded
_SURROGATE = re.compile("[\ud800-\udfff]")
_ED25519_MULTICODEC = b"\xed\x01"


class CredentialError(BilingualError, ValueError):
    """A document that cannot be a credential of ours; `vi`/`en` say why, for people (HTTP 400 when uploaded)."""

    status = 400


# ---------------------------------------------------------------- canonical bytes and encodings


def canonical_bytes(value: Any) -> bytes:
    """The bytes that are hashed and signed: RFC 8785 (JCS) by ``rfc8785`` (see module docstring)."""
    _refuse_unsignable(value)
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:  # not reached: _refuse_unsignable lets through only what JCS takes
        raise CredentialError("có giá trị không phải JSON", "contains a value that is not JSON") from None


def _refuse_unsignable(value: Any) -> None:
    """CredentialError unless `value` is JSON whose JCS bytes are also those of the json.dumps that signed
    credentials before the switch to rfc8785 (module docstring): iteratively, so deep nesting cannot recurse."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if abs(item) > JCS_MAX_INT:
                raise CredentialError(
                    "có số nguyên quá lớn (vượt ±(2^53 − 1), không được ký)",
                    "contains an integer beyond ±(2^53 − 1) (never signed)",
                )
        elif isinstance(item, str):
            _refuse_surrogates(item)
        elif isinstance(item, float):
            raise CredentialError("có số thập phân (không được ký)", "contains a fractional number (never signed)")
        elif isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise CredentialError("khoá không phải chuỗi", "non-string key")
            for key in item:
                _refuse_surrogates(key)
            if any(not key.isascii() and max(key) > "\uffff" for key in item) and sorted(item) != sorted(
                item, key=lambda key: key.encode("utf-16-be")
            ):
                raise CredentialError(
                    "có khoá mà thứ tự sắp xếp không rõ ràng (ký tự ngoài U+FFFF)",
                    "has keys whose sort order is ambiguous (characters above U+FFFF)",
                )
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            raise CredentialError("có giá trị không phải JSON", "contains a value that is not JSON")


def _refuse_surrogates(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise CredentialError(
            "có ký tự Unicode không hợp lệ (nửa cặp thay thế)",
            "contains an invalid Unicode character (a lone surrogate)",
        )


def b58encode(data: bytes) -> str:
    """base58btc (bitcoin alphabet), each leading zero byte as "1"."""
    return base58.b58encode(data).decode("ascii")


def b58decode(text: str) -> bytes:
    """The inverse of b58encode; ValueError("not base58btc") for anything else. Only the 58 letters are
    taken: base58.b58decode itself would also drop trailing whitespace (a changed proofValue that still
    verified) and raise UnicodeEncodeError for non-ASCII letters."""
    if not _B58_LETTERS.issuperset(text):
        raise ValueError("not base58btc")
    return base58.b58decode(text)


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
    no absurd numbers, nesting or strings, nothing that canonical_bytes would refuse (each refused with a
    CredentialError saying which)."""
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
    _refuse_unsignable(document)
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
