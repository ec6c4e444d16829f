"""Make `before_utc.sql`: a SQLite database written by the code before times were stored in UTC.

Run by hand (not a test): `.venv/bin/python tests/unit/old_databases/make_before_utc.py`. It takes the
`hub/` and `graders/` packages of commit OLD_COMMIT out of git, writes through *that* code (the exchange
store, the portal form's conversion, the directory and registry models) and dumps the result as SQL text,
so the test of the migration reads exactly what the old code left behind.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OLD_COMMIT = "5b394db"  # main before issue 10's time fixes
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

# Runs inside the old code. Each write goes the way the old code path did it.
WRITER = r"""
import sys
from pathlib import Path
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from graders.certificates.models import AuditEntry
from graders.certificates.store import CertificateStore
from hub.directory.db import Directory, upgrade_schema
from hub.directory.models import Person
from hub.coursework.store import MIGRATIONS, ExchangeStore, SubmitPolicy

url, blobs = sys.argv[1], sys.argv[2]
directory = Directory(url)
directory.ensure_schema()
upgrade_schema(directory.engine, MIGRATIONS)
CertificateStore(url).ensure_schema()
store = ExchangeStore(directory, Path(blobs))
VN = ZoneInfo("Asia/Ho_Chi_Minh")
C, A = "phan-tich-du-lieu", "01-python-co-ban"


def portal(value):  # hub/services/portal/handlers.py DeadlineHandler, as it was
    return datetime.fromisoformat(value).replace(tzinfo=VN)


def submit(student, class_name, moment):
    store.submit(C, A, student, class_name, b"x", ["a.ipynb"], SubmitPolicy(), now=moment)


# a release whose gradebook due date (naive UTC, tagged UTC by the client) is every class's default
store.release(C, A, b"release", ["a.ipynb"], "giangvien", False, datetime(2026, 12, 27, 10, 0, tzinfo=UTC))
store.set_deadline(C, A, "DEMO", portal("2026-12-20T17:00"), "giangvien")  # the portal's form
# the exchange API, called by a script with a machine-made UTC value
store.set_deadline(C, A, "API", datetime(2026, 12, 21, 3, 4, 5, 678901, tzinfo=UTC), "giangvien")
submit("hocvien1", "DEMO", datetime(2026, 12, 20, 9, 59, tzinfo=UTC))  # 16:59 in Vietnam: on time
submit("hocvien2", "DEMO", datetime(2026, 12, 20, 10, 1, tzinfo=UTC))  # 17:01: late
submit("hocvien3", "DEMO", datetime(2026, 12, 20, 16, 30, tzinfo=UTC))  # 23:30: late, but the old code said not
submit("hocvien4", "OTHER", datetime(2026, 12, 27, 11, 0, tzinfo=UTC))  # the default deadline: an hour late
submit("hocvien5", "API", datetime(2026, 12, 21, 3, 0, tzinfo=UTC))  # before the API's deadline
# a class deadline moved after a submission: the submission keeps the old one
store.set_deadline(C, A, "MOVED", portal("2026-12-18T17:00"), "giangvien")
submit("hocvien6", "MOVED", datetime(2026, 12, 18, 12, 0, tzinfo=UTC))  # 19:00 in Vietnam: 2 h late
store.set_deadline(C, A, "MOVED", portal("2026-12-19T17:00"), "giangvien")
with directory.session() as s:
    s.add(Person(username="hocvien1", full_name="Nguyễn Văn An", email="an@example.vn",
                 created_at=datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)))
with CertificateStore(url).session() as s:
    s.add(AuditEntry(at=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC), actor="admin", action="issue",
                     serial="TS-2026-000001", username="hocvien1", course_id=C, detail="{}"))
"""

TABLES = (
    "exchange_",
    "truongso_exchange_version",
    "truongso_alembic_version",
    "people",
    "certificate_audit",
    "truongso_certificates_version",
)


def main() -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", OLD_COMMIT, "hub", "graders"],
                             check=True, capture_output=True).stdout  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp)  # our own git archive: trusted
        db = Path(tmp) / "old.sqlite"
        subprocess.run([sys.executable, "-c", WRITER, f"sqlite:///{db}", str(Path(tmp) / "blobs")],
                       cwd=tmp, env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"}, check=True)  # fmt: skip
        import sqlite3

        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
            lines = [
                line
                for line in conn.iterdump()
                if not line.startswith("INSERT") or any(f'INTO "{t}' in line for t in TABLES)
            ]
    (HERE / "before_utc.sql").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
