"""The exchange's wire format, one definition for both ends: the client (graders.exchange, inside every
workspace) builds its requests from it and the service (hub/services/exchange) routes and limits by it.

- Every request carries the caller's hub token (`Authorization: token …`); who a learner is comes only
  from the hub's answer about that token. `STUDENT_HEADER` is a claim (`--student`, $JUPYTERHUB_USER)
  that the service compares with the token's owner and refuses on a mismatch.
- Archives travel as `ARCHIVE_TYPE` (.tar.gz), checked on both ends by graders.exchange.archive.Limits.
- Errors come back as JSON {"status", "vi", "en", "message"}: `error_message` reads one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

API = "api/"  # under the service's prefix (/services/exchange/)
STUDENT_HEADER = "X-Nbgrader-Student"
ARCHIVE_TYPE = "application/gzip"
SMALL_BODY = 64 * 1024  # every route that takes no archive (deadlines are a few bytes of JSON)

# name -> path under API; {fields} are one path segment each ({submission}: the service's hex id)
ROUTES: dict[str, str] = {
    "whoami": "whoami",
    "assignments": "courses/{course}/assignments",
    "assignment": "courses/{course}/assignments/{assignment}",
    "release_archive": "courses/{course}/assignments/{assignment}/archive",
    "submissions": "courses/{course}/assignments/{assignment}/submissions",
    "course_submissions": "courses/{course}/submissions",
    "deadline": "courses/{course}/assignments/{assignment}/deadlines/{class_name}",
    "submission_archive": "submissions/{submission}/archive",
    "feedback": "submissions/{submission}/feedback",
}
_SEGMENT = {"submission": "([0-9a-f]{1,32})"}  # any other field: one segment, checked by the handler
_FIELD = re.compile(r"\{(\w+)\}")


def path(route: str, **fields: str) -> str:
    """The client's path of `route` under the service's URL, every field quoted as one segment."""
    return API + ROUTES[route].format(**{name: quote(str(value), safe="") for name, value in fields.items()})


def pattern(route: str) -> str:
    """The service's tornado pattern of `route` under its prefix (one capture group per field, in order)."""
    return API + _FIELD.sub(lambda m: _SEGMENT.get(m.group(1), "([^/]+)"), ROUTES[route])


def error_message(body: Any, status: int) -> str:
    """One line from an error answer of the service (both languages), or a generic one."""
    try:
        return f"{body['vi']} / {body['en']} (HTTP {status})"
    except (KeyError, TypeError):
        return f"Kho bài tập trả lỗi / the exchange answered HTTP {status}"
