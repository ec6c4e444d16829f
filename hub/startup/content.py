"""The hub's database, the courses' folders (with demo releases in demo mode) and the accounts."""

from __future__ import annotations

from graders.text import UserError
from hub.cli.common import open_directory
from hub.directory import accounts
from hub.directory.db import Directory, DirectoryError, check_sqlite_file
from hub.settings import HubSettings


def ensure_databases(settings: HubSettings) -> Directory:
    """JupyterHub's SQLite file usable (a clear error otherwise) and the directory database up to date."""
    try:
        check_sqlite_file(settings.hub_db_url)
    except DirectoryError as exc:
        raise UserError(f"không dùng được cơ sở dữ liệu: {exc}", f"cannot use the database: {exc}") from None
    return open_directory(settings)


def ensure_course_folders(settings: HubSettings, directory: Directory) -> None:
    """Each course's nbgrader folder, owned by the formgraders' user; in demo mode each course's first
    assignment released (nbgrader writes files, so ownership is set again after)."""
    from hub.services.formgrader import ensure_course_dirs

    ensure_course_dirs(settings)
    if settings.demo:
        from hub.demo import ensure_demo_releases

        ensure_demo_releases(settings, directory)
        ensure_course_dirs(settings, warn=False)


def ensure_accounts(settings: HubSettings, directory: Directory, admin_password: str | None) -> tuple[str | None, list]:
    """The admin account (its generated password, shown once, if it was created now) and, in demo mode, the
    demo accounts with new passwords."""
    with directory.session() as session:
        generated = accounts.ensure_admin(session, admin_password)
        demo = accounts.ensure_demo(session, course_ids(settings)) if settings.demo else []
    return generated, demo


def course_ids(settings: HubSettings) -> set[str]:
    from graders.curriculum import CourseError

    try:
        return {c.id for c in settings.load_courses()}
    except CourseError as exc:
        raise UserError(f"học liệu lỗi: {exc}", f"the curriculum is broken: {exc}") from None
