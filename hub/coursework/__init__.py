"""The records of coursework: releases, per-class deadlines, submission attempts and feedback, and who may
touch them. A library, not a service: the exchange service (hub/services/exchange, nbgrader's side of it)
and the portal (hub/services/portal, the instructors' pages) both call it, so a rule is written once.

- `models`: the tables (alembic branch `exchange`, graders/migrations); `blobs`: the files, content-addressed.
- `store`: reads and writes, with the quota and rate rules; `access`: who is calling, from the hub's answer.
- `deadlines`: the one way a deadline is set, with its one permission check.
"""
