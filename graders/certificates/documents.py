"""The JSON documents the school publishes: a certificate's credential, the issuer profile, status lists.

Shapes follow Open Badges 3.0 (OpenBadgeCredential, Profile, Achievement) on the W3C VC 2.0 data model,
with revocation through a W3C BitstringStatusList (one list per year, the index is the serial's number).
What the paper certificate prints lives in one extra object, `certificate`, signed with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from graders.certificates.codes import format_code
from graders.certificates.config import CertificateSettings
from graders.certificates.credential import (
    OB_CONTEXT,
    VC_CONTEXT,
    did_key_method,
    encode_status_list,
    multikey,
    public_key_pem,
    sign,
    utc_stamp,
)
from graders.curriculum import Course


def hours_string(hours: float) -> str:
    """Hours as text ("40", "16.5"): credentials carry no fractional JSON numbers (see credential.py)."""
    return f"{hours:g}"


@dataclass(frozen=True)
class Award:
    """Everything one certificate says, gathered before it is numbered and signed."""

    username: str
    full_name: str
    organisation: str
    class_name: str | None
    completed_on: date | None


def issuer_id(settings: CertificateSettings) -> str:
    return f"{settings.service_url}issuer"


def credential_for(
    settings: CertificateSettings,
    course: Course,
    award: Award,
    *,
    serial: str,
    seq: int,
    year: int,
    issued_at: datetime,
    issued_on: date,
    decision: str,
    code: str,
) -> dict[str, Any]:
    """The unsigned credential of one certificate; `code` is its verification code (codes.py)."""
    url = settings.verify_url(serial, code)  # the QR code's address: serial + code show the certificate
    hours = hours_string(course.hours)
    rule = course.completion
    narrative = (
        f"Nộp đủ các bài bắt buộc và đạt tối thiểu {rule.min_overall_percent:g}% tổng điểm. / "
        f"All required assignments submitted and at least {rule.min_overall_percent:g}% of the total points."
    )
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Giấy chứng nhận hoàn thành khoá học / Certificate of completion: {course.title.vi}",
        "issuer": {"id": issuer_id(settings), "type": ["Profile"], "name": settings.school_name},
        "validFrom": utc_stamp(issued_at),
        "awardedDate": utc_stamp(issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": award.full_name}
            ],
            "achievement": {
                "id": f"{settings.service_url}courses/{course.id}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "humanCode": course.id,
                "name": course.title.vi,
                "description": f"{course.title.vi} ({hours} giờ) / {course.title.get('en')} ({hours} hours)",
                "criteria": {"narrative": narrative},
            },
        },
        "credentialStatus": {
            "id": f"{settings.service_url}status/{year}#{seq}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(seq),
            "statusListCredential": f"{settings.service_url}status/{year}",
        },
        "certificate": {
            "serial": serial,
            "fullName": award.full_name,
            "organisation": award.organisation,
            "courseId": course.id,
            "courseTitle": {"vi": course.title.vi, "en": course.title.get("en")},
            "hours": hours,
            "className": award.class_name or "",
            "completedOn": award.completed_on.isoformat() if award.completed_on else "",
            "issuedOn": issued_on.isoformat(),
            "decision": decision,
            "verificationCode": format_code(code),  # printed next to the serial, for people who type it
            "school": {"vi": settings.school_name, "en": settings.school_name_en},
            "governingBody": settings.governing_body,
            "signerTitle": {"vi": settings.signer_title, "en": settings.signer_title_en},
            "signerName": settings.signer_name,
            "place": settings.place,
        },
    }


def issuer_profile(settings: CertificateSettings, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The school as an Open Badges Profile, with the public key that signs its credentials."""
    method = did_key_method(public_key)
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT, "https://w3id.org/security/multikey/v1"],
        "id": issuer_id(settings),
        "type": ["Profile"],
        "name": settings.school_name,
        "description": settings.school_name_en,
        "url": settings.public_url,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": issuer_id(settings),
                "publicKeyMultibase": multikey(public_key),
            }
        ],
        "assertionMethod": [method],
        "publicKeyPem": public_key_pem(public_key),
    }


def status_list_credential(
    settings: CertificateSettings, year: int, revoked: list[int], key: Ed25519PrivateKey, now: datetime
) -> dict[str, Any]:
    """The signed BitstringStatusListCredential of one year's serials (bit n set: number n revoked)."""
    url = f"{settings.service_url}status/{year}"
    document = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(settings),
        "validFrom": utc_stamp(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(revoked),
        },
    }
    return sign(document, key, now)
