"""Will a day's classes fit the machine? What the learners need beside what the host has, in numbers.

Two questions, from two figures per workspace:
- idle: every learner's workspace running at once, as measured on the workspaces running now (the
  `workspace_idle_memory` setting when none runs). If that does not fit, pre-warming cannot start everyone.
- limit: every learner using their whole memory limit. If that does not fit, the host is overcommitted: a busy
  class can make the kernel kill workspaces. Usual and acceptable for a class that mostly reads and clicks, but
  the admin should know the ratio.
The host's memory is what the Docker engine reports (the node's, or the cluster's when there is one), less a
tenth for the hub, grading and the system.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from graders.text import Text
from hub.storage import format_size, parse_size

HEADROOM = 0.10  # of the host's memory, kept for the hub, its services, grading sandboxes and the system


@dataclass(frozen=True)
class Capacity:
    learners: int
    mem_limit: int  # bytes, one workspace
    idle_each: int  # bytes, one idle workspace
    measured_on: int  # running workspaces the idle figure comes from (0: the setting)
    host_total: int  # bytes
    used_by_others: int  # bytes used now by running workspaces of people not in these classes

    @property
    def usable(self) -> int:
        return max(0, int(self.host_total * (1 - HEADROOM)) - self.used_by_others)

    @property
    def need_idle(self) -> int:
        return self.learners * self.idle_each

    @property
    def need_limit(self) -> int:
        return self.learners * self.mem_limit

    @property
    def fits_idle(self) -> bool:
        return self.need_idle <= self.usable

    @property
    def fits_limit(self) -> bool:
        return self.need_limit <= self.usable

    def message(self, what: Text) -> Text | None:
        """A warning for the admin about `what` (a session, in both languages), None when it fits."""
        numbers = {
            "n": self.learners,
            "idle": format_size(self.idle_each),
            "how": (f"đo trên {self.measured_on} không gian đang chạy" if self.measured_on else "ước lượng"),
            "how_en": (f"measured on {self.measured_on} running" if self.measured_on else "estimated"),
            "need_idle": format_size(self.need_idle),
            "limit": format_size(self.mem_limit),
            "need_limit": format_size(self.need_limit),
            "usable": format_size(self.usable),
            "total": format_size(self.host_total),
        }
        if not self.fits_idle:
            return _both(
                what,
                Text(
                    "THIẾU BỘ NHỚ cho {what}: {n} học viên × {idle} khi nghỉ ({how}) = {need_idle}, nhưng máy chủ chỉ "
                    "còn dùng được {usable} (tổng {total}). Không thể khởi động trước cho mọi người: giảm số học viên "
                    "học cùng lúc, giảm mem_limit hoặc thêm máy chủ.",
                    "NOT ENOUGH MEMORY for {what}: {n} learners × {idle} idle ({how_en}) = {need_idle}, but the host "
                    "has only {usable} usable (of {total}). Not everyone can be pre-warmed: fewer learners at once, a "
                    "lower mem_limit or more servers.",
                ),
                numbers,
            )
        if not self.fits_limit:
            numbers["ratio"] = self.need_limit / max(1, self.usable)
            return _both(
                what,
                Text(
                    "Cảnh báo bộ nhớ cho {what}: {n} học viên × giới hạn {limit} = {need_limit}, gấp {ratio:.1f} lần "
                    "{usable} máy chủ dùng được (tổng {total}); khi nghỉ cần {need_idle} ({how}). Nếu nhiều học viên "
                    "cùng chạy phép tính lớn, không gian làm việc có thể bị dừng.",
                    "Memory warning for {what}: {n} learners × {limit} limit = {need_limit}, {ratio:.1f}x the host's "
                    "{usable} usable (of {total}); idle they need {need_idle} ({how_en}). If many learners run large "
                    "computations at once, workspaces may be killed.",
                ),
                numbers,
            )
        return None


def _both(what: Text, template: Text, numbers: dict[str, Any]) -> Text:
    return Text(template.vi.format(what=what.vi, **numbers), template.en.format(what=what.en, **numbers))


def workspace_memory(client: Any, prefix: str) -> dict[str, int]:
    """Memory in use now by each running workspace of this hub ({container name: bytes}), page cache excluded
    (as `docker stats` counts it). One-shot stats: no second sample, so one call is quick."""
    usage = {}
    containers = client.containers.list(filters={"label": f"org.truongso.prefix={prefix}", "name": f"{prefix}-ws-"})
    for container in containers:
        try:
            stats = container.stats(stream=False, one_shot=True)["memory_stats"]
        except Exception:  # a container stopping while we look is not an error of the check
            continue
        used = stats.get("usage", 0) - stats.get("stats", {}).get("inactive_file", 0)
        usage[container.name] = max(0, used)
    return usage


def host_memory(client: Any | None) -> int:
    """The Docker engine's memory (the machine workspaces run on); /proc/meminfo without an engine."""
    if client is not None:
        return int(client.info()["MemTotal"])
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def cluster_memory(client: Any) -> int:
    """The memory of the Swarm nodes that take workspaces now (ready and active; drained ones do not)."""
    total = 0
    for node in client.nodes.list():
        attrs = node.attrs
        if attrs["Status"]["State"] == "ready" and attrs["Spec"].get("Availability") == "active":
            total += int(attrs["Description"]["Resources"]["MemoryBytes"])
    return total


def assess(learners: set[str], mem_limit: str, idle_setting: str, host_total: int, running: dict[str, int]) -> Capacity:
    """The capacity check for `learners` (everyone in sessions that overlap, by container name), given the
    memory of the workspaces running now (`workspace_memory`)."""
    idle = list(running.values())
    return Capacity(
        learners=len(learners),
        mem_limit=parse_size(mem_limit),
        idle_each=int(statistics.median(idle)) if idle else parse_size(idle_setting),
        measured_on=len(idle),
        host_total=host_total,
        used_by_others=sum(used for user, used in running.items() if user not in learners),
    )
