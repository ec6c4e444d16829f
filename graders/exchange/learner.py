"""What a learner does: list, fetch, submit, fetch feedback — each an nbgrader exchange operation."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from nbgrader.exchange.abc import ExchangeFetchAssignment as ABCFetchAssignment
from nbgrader.exchange.abc import ExchangeFetchFeedback as ABCFetchFeedback
from nbgrader.exchange.abc import ExchangeList as ABCList
from nbgrader.exchange.abc import ExchangeSubmit as ABCSubmit

from graders.exchange import protocol
from graders.exchange.archive import ArchiveError, extract_archive
from graders.exchange.base import Exchange


def _notebooks(path: str) -> list[dict[str, str]]:
    return [
        {"notebook_id": os.path.splitext(os.path.basename(nb))[0], "path": os.path.abspath(nb)}
        for nb in sorted(glob.glob(os.path.join(path, "*.ipynb")))
    ]


class ExchangeList(Exchange, ABCList):
    """Released assignments (default), the learner's own submissions (--cached) or, for instructors,
    everyone's (--inbound). The shapes are nbgrader's, so the JupyterLab assignment list shows them."""

    def copy_files(self) -> None:
        pass

    def list_files(self) -> list[dict[str, Any]]:
        if self.inbound or self.cached:
            return self._submitted()
        return self._released()

    def remove_files(self) -> list[dict[str, Any]]:
        if self.inbound or self.cached:
            self.fail("Không xoá được bài đã nộp / submissions cannot be removed")
        released = self._released()
        for info in released:
            self.api("DELETE", protocol.path("assignment", course=info["course_id"], assignment=info["assignment_id"]))
            info["status"] = "removed"
        return released

    def _released(self) -> list[dict[str, Any]]:
        result = []
        for course_id in self.courses():
            for item in self.get_json(protocol.path("assignments", course=course_id)):
                if self.coursedir.assignment_id and item["assignment_id"] != self.coursedir.assignment_id:
                    continue
                local = self.assignment_root(course_id, item["assignment_id"])
                info = {"course_id": course_id, "assignment_id": item["assignment_id"], "due": item.get("due"),
                        "title": item.get("title")}  # fmt: skip
                if os.path.isdir(local):
                    info.update(status="fetched", path=local, notebooks=_notebooks(local))
                else:
                    remote = self.url + protocol.path("assignment", course=course_id, assignment=item["assignment_id"])
                    notebooks = [{"notebook_id": os.path.splitext(n)[0], "path": n} for n in item["notebooks"]]
                    info.update(status="released", path=remote, notebooks=notebooks)
                result.append(info)
                self.log.info("%s %s%s", course_id, item["assignment_id"],
                              " (already downloaded)" if info["status"] == "fetched" else "")  # fmt: skip
        return result

    def _submitted(self) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for course_id in self.courses():
            params = {"student": self.coursedir.student_id or "*"}
            path = protocol.path("course_submissions", course=course_id)
            if self.coursedir.assignment_id:
                path = protocol.path("submissions", course=course_id, assignment=self.coursedir.assignment_id)
            for sub in self.get_json(path, params=params):
                student = sub.get("student", self.claimed_student() or "")
                info = self._submission_info(course_id, student, sub)
                groups.setdefault((course_id, student, sub["assignment_id"]), []).append(info)
                self.log.info("%s %s %s %s", course_id, student, sub["assignment_id"], sub["timestamp"])
        return [
            {"course_id": c, "student_id": s, "assignment_id": a, "status": "submitted",
             "submissions": sorted(subs, key=lambda x: x["timestamp"])}
            for (c, s, a), subs in sorted(groups.items())
        ]  # fmt: skip

    def _submission_info(self, course_id: str, student: str, sub: dict[str, Any]) -> dict[str, Any]:
        local_dir = os.path.join(self.assignment_root(course_id, sub["assignment_id"]), "feedback", sub["timestamp"])
        notebooks = []
        for name in sub["notebooks"]:
            notebook_id = os.path.splitext(name)[0]
            local = os.path.join(local_dir, f"{notebook_id}.html")
            has_local = os.path.isfile(local)
            notebooks.append({
                "notebook_id": notebook_id, "path": name, "has_local_feedback": has_local,
                "has_exchange_feedback": notebook_id in sub["feedback"],
                "local_feedback_path": local if has_local else None, "feedback_updated": False,
            })  # fmt: skip
        has_local = bool(notebooks) and all(n["has_local_feedback"] for n in notebooks)
        return {
            "course_id": course_id, "student_id": student, "assignment_id": sub["assignment_id"],
            "timestamp": sub["timestamp"], "status": "submitted", "path": sub["id"], "notebooks": notebooks,
            "has_local_feedback": has_local,
            "has_exchange_feedback": bool(notebooks) and all(n["has_exchange_feedback"] for n in notebooks),
            "feedback_updated": False, "local_feedback_path": local_dir if has_local else None,
            "late": sub.get("late", False), "seconds_late": sub.get("seconds_late", 0), "attempt": sub.get("attempt"),
        }  # fmt: skip


class ExchangeFetchAssignment(Exchange, ABCFetchAssignment):
    def init_dest(self) -> None:
        course_id = self.require_course()
        self.dest_path = self.assignment_root(course_id, self.coursedir.assignment_id)
        if os.path.isdir(self.dest_path) and not self.replace_missing_files:
            self.fail(f"Bạn đã có bản tải về của bài này / you already have a copy of the assignment: {self.dest_path}")

    def copy_files(self) -> None:
        course_id, assignment_id = self.coursedir.course_id, self.coursedir.assignment_id
        data = self.api("GET", protocol.path("release_archive", course=course_id, assignment=assignment_id)).content
        try:
            written = extract_archive(data, Path(self.dest_path), self.limits, only_missing=True)
        except ArchiveError as exc:
            self.fail_archive(exc)
        self.log.info("Fetched as: %s %s (%d files)", course_id, assignment_id, len(written))


class ExchangeSubmit(Exchange, ABCSubmit):
    def init_src(self) -> None:
        course_id = self.require_course()
        self.src_path = self.assignment_root(course_id, self.coursedir.assignment_id)
        if not os.path.isdir(self.src_path):
            self.fail(f"Không thấy bài ở / assignment not found at: {self.src_path}")

    def copy_files(self) -> None:
        course_id, assignment_id = self.coursedir.course_id, self.coursedir.assignment_id
        data = self.pack_src()
        path = protocol.path("submissions", course=course_id, assignment=assignment_id)
        result = self.api("POST", path, data=data).json()
        late = " (nộp muộn / late)" if result.get("late") else ""
        self.log.info("Submitted as: %s %s %s%s", course_id, assignment_id, result["timestamp"], late)
        self.submission = result


class ExchangeFetchFeedback(Exchange, ABCFetchFeedback):
    def copy_files(self) -> None:
        course_id = self.require_course()
        path = protocol.path("course_submissions", course=course_id)
        if self.coursedir.assignment_id:
            path = protocol.path("submissions", course=course_id, assignment=self.coursedir.assignment_id)
        fetched = 0
        for sub in self.get_json(path):
            if not sub["feedback"]:
                continue
            dest = Path(self.assignment_root(course_id, sub["assignment_id"]), "feedback", sub["timestamp"])
            data = self.api("GET", protocol.path("feedback", submission=sub["id"])).content
            try:
                fetched += len(extract_archive(data, dest, self.limits))
            except ArchiveError as exc:
                self.fail_archive(exc)
            self.log.info("Fetched feedback: %s %s %s", course_id, sub["assignment_id"], sub["timestamp"])
        if not fetched:
            self.log.warning("Chưa có nhận xét nào / no feedback available yet")
