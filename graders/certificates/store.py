"""The registry's database: connection, schema (alembic branch `certificates` of graders/migrations), queries, audit."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from graders.certificates.models import AuditEntry, Certificate, utcnow
from graders.db import Database, check_sqlite_file, upgrade_schema
from graders.db import make_engine as database_engine

SCHEMA_BRANCH = "certificates"
SERIAL_RE = re.compile(r"([A-Z]{1,6})-(\d{4})-(\d{6})")


class StoreError(RuntimeError):
    """The registry database cannot be used; the message says why in one line."""


class NotFound(LookupError):
    pass


class AlreadyRevoked(ValueError):
    pass


def parse_serial(text: str) -> str | None:
    """The serial in `text` (a serial or a verification URL), or None."""
    text = text.strip()
    match = SERIAL_RE.fullmatch(text) or SERIAL_RE.search(text.rsplit("/", 1)[-1])
    return match.group(0) if match else None


def make_engine(url: str) -> Engine:
    check_sqlite_file(url)
    return database_engine(url)  # same pragmas (WAL, busy timeout) as the directory on the same file


class CertificateStore(Database):
    """One registry database: an engine and a session factory."""

    def __init__(self, url: str) -> None:
        try:
            super().__init__(url)
        except Exception as exc:  # DatabaseFileError from the file check, or a bad URL
            raise StoreError(f"cannot open database {url!r}: {exc}") from None

    def ensure_schema(self) -> None:
        """Create or upgrade the registry tables (safe to repeat, safe from two processes at once)."""
        upgrade_schema(self.engine, SCHEMA_BRANCH, error=StoreError)

    def has_schema(self) -> bool:
        try:
            return "certificates" in inspect(self.engine).get_table_names()
        except (DatabaseError, OperationalError) as exc:
            raise StoreError(f"cannot read database {self.engine.url!r}: {exc.orig}") from None

    # ------------------------------------------------------------ reads

    def get(self, serial: str) -> Certificate | None:
        with self.session() as s:
            return s.scalar(select(Certificate).where(Certificate.serial == serial))

    def for_user(self, username: str) -> list[Certificate]:
        with self.session() as s:
            return list(s.scalars(select(Certificate).where(Certificate.username == username).order_by(Certificate.id)))

    def listing(self, *, year: int | None = None, course_id: str | None = None) -> list[Certificate]:
        query = select(Certificate).order_by(Certificate.year, Certificate.seq)
        if year is not None:
            query = query.where(Certificate.year == year)
        if course_id is not None:
            query = query.where(Certificate.course_id == course_id)
        with self.session() as s:
            return list(s.scalars(query))

    def recent(self, limit: int = 50) -> list[Certificate]:
        with self.session() as s:
            return list(s.scalars(select(Certificate).order_by(Certificate.id.desc()).limit(limit)))

    def holders(self, course_id: str) -> dict[str, list[Certificate]]:
        """Every certificate of a course (revoked too), by username."""
        out: dict[str, list[Certificate]] = {}
        with self.session() as s:
            for cert in s.scalars(select(Certificate).where(Certificate.course_id == course_id)):
                out.setdefault(cert.username, []).append(cert)
        return out

    def revoked_seqs(self, year: int) -> tuple[list[int], Any]:
        """Numbers revoked in `year` and a value that changes whenever that list does (for caching)."""
        with self.session() as s:
            rows = s.execute(
                select(Certificate.seq, Certificate.revoked_at).where(
                    Certificate.year == year, Certificate.revoked_at.is_not(None)
                )
            ).all()
        return [r.seq for r in rows], (len(rows), max((r.revoked_at for r in rows), default=None))

    def audit(self, serial: str | None = None) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if serial is not None:
            query = query.where(AuditEntry.serial == serial)
        with self.session() as s:
            return list(s.scalars(query))

    def count(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.count(Certificate.id))) or 0

    def counts_by_state(self) -> dict[str, int]:
        """valid / revoked: what the registry holds now."""
        with self.session() as s:
            total = s.scalar(select(func.count(Certificate.id))) or 0
            revoked = s.scalar(select(func.count(Certificate.id)).where(Certificate.revoked_at.is_not(None))) or 0
        return {"valid": total - revoked, "revoked": revoked}

    # ------------------------------------------------------------ writes

    def revoke(self, serial: str, reason: str, actor: str, at: datetime | None = None) -> Certificate:
        """Mark a certificate revoked, with an audit entry, in one transaction."""
        at = at or utcnow()
        with self.session() as s:
            cert = s.scalar(select(Certificate).where(Certificate.serial == serial).with_for_update())
            if cert is None:
                raise NotFound(serial)
            if cert.revoked_at is not None:
                raise AlreadyRevoked(serial)
            cert.revoked_at, cert.revoked_reason, cert.revoked_by = at, reason, actor
            add_audit(s, "revoke", cert, actor, {"reason": reason}, at)
        return cert


def add_audit(
    session: Session, action: str, cert: Certificate, actor: str, detail: dict[str, Any], at: datetime | None = None
) -> None:
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor,
            action=action,
            serial=cert.serial,
            username=cert.username,
            course_id=cert.course_id,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )
    )


def open_store(url: str, *, create: bool = True) -> CertificateStore:
    store = CertificateStore(url)
    if create:
        store.ensure_schema()
    return store


def serials(certs: Sequence[Certificate]) -> list[str]:
    return [c.serial for c in certs]
