"""Completion certificates: official, numbered, verifiable by anyone, revocable, never duplicated.

- `rules`: course.yaml completion rules evaluated on the nbgrader gradebook, with bilingual reasons;
- `issue`: who gets one, numbering (`<prefix>-<year>-<6 digits>`, sequential per year, safe concurrently);
- `documents` / `credential`: Open Badges 3.0 credential signed with Ed25519 (eddsa-jcs-2022);
- `pdf` / `outputs`: the printed certificate (A4 landscape, QR code to the verification page);
- `store` / `models`: the registry tables and audit log in the hub's database (own alembic history);
- `export`: the registry as CSV (UTF-8 with BOM) and XLSX.
"""
