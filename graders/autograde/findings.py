"""What the autograder noticed about a submission: one bilingual catalogue, one record type."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from graders.text import Text

# severity: tamper = faked results (affected tests score 0); limit = a resource or time limit stopped the
# code (tests not run score 0); restored = the notebook's structure was repaired from the gradebook;
# active = content that would run in the instructor's browser was neutralised; info = for the record.
_TABLE = (  # kind, severity, Vietnamese, English
    (
        "suppressed_errors",
        "tamper",
        "che giấu lỗi: một kiểm tra bắt buộc phải lỗi lại không báo lỗi",
        "errors hidden: a check that must fail did not report its error",
    ),
    (
        "kernel_tampering",
        "tamper",
        "can thiệp vào kernel/IPython (hook, traceback, transformer)",
        "kernel/IPython hooks changed (traceback, transformers, handlers)",
    ),
    (
        "monkeypatch",
        "tamper",
        "thay thế hàm thư viện hoặc hàm có sẵn mà bài kiểm tra dùng",
        "replaced a library or builtin function the tests use",
    ),
    ("always_equal", "tamper", "đối tượng so sánh luôn đúng (__eq__ giả)", "objects whose comparisons are always true"),
    (
        "shadowed_builtin",
        "tamper",
        "bài làm gán lại tên có sẵn của Python mà bài kiểm tra dùng",
        "the submission reassigned a Python builtin the test uses",
    ),
    (
        "bridge_failed",
        "limit",
        "kernel của bài làm không trả lời bộ chấm; bài kiểm tra tính 0 điểm",
        "the learner's kernel did not answer the checker; the test scores zero",
    ),
    ("probe_silenced", "tamper", "bộ kiểm tra toàn vẹn không báo cáo được", "the integrity check could not report"),
    ("forged_result", "tamper", "giả mạo kết quả chấm", "tried to forge the grader's result"),
    ("timeout", "limit", "ô chạy quá thời gian cho phép", "a cell ran past its time limit"),
    ("deadline", "limit", "bài chạy quá tổng thời gian cho phép", "the submission ran past its total time limit"),
    ("unresponsive", "limit", "kernel không phản hồi sau khi bị ngắt", "the kernel ignored the interrupt"),
    (
        "kernel_died",
        "limit",
        "kernel dừng đột ngột (os._exit, lỗi nghiêm trọng…)",
        "the kernel died (os._exit, crash…)",
    ),
    ("out_of_memory", "limit", "vượt giới hạn bộ nhớ", "ran out of memory"),
    ("pids_exhausted", "limit", "tạo quá nhiều tiến trình", "started too many processes"),
    ("output_truncated", "limit", "đầu ra quá lớn đã bị cắt bớt", "excess output was dropped"),
    ("too_large", "limit", "notebook quá lớn, không chấm", "notebook too large to grade"),
    ("invalid_notebook", "limit", "tệp notebook hỏng, không đọc được", "the notebook file is not valid"),
    ("sandbox_failed", "limit", "môi trường chấm không trả kết quả hợp lệ", "the sandbox returned no valid result"),
    ("runner_error", "limit", "kernel gửi dữ liệu không hợp lệ", "the kernel sent invalid data"),
    ("deleted_cell", "restored", "ô chấm điểm bị xoá, đã khôi phục", "a graded cell was deleted; restored"),
    ("retyped_cell", "restored", "ô chấm điểm bị đổi loại, đã khôi phục", "a graded cell changed type; restored"),
    ("duplicated_cell", "restored", "ô chấm điểm bị nhân bản; bản thừa bị bỏ", "a graded cell was duplicated"),
    (
        "changed_cell",
        "restored",
        "ô khoá/kiểm tra bị sửa (nội dung, checksum, điểm), đã khôi phục",
        "a locked/test cell was edited (source, checksum, points); restored",
    ),
    (
        "changed_metadata",
        "restored",
        "siêu dữ liệu nbgrader bị sửa, đã khôi phục",
        "nbgrader metadata was edited; restored",
    ),
    ("unknown_cell", "restored", "ô có mã chấm điểm lạ, bỏ qua", "a cell with an unknown grade id"),
    ("duplicate_cell_ids", "restored", "trùng mã ô (cell id), đã sửa", "duplicate cell ids; repaired"),
    (
        "skip_tag",
        "restored",
        "ô kiểm tra bị gắn thẻ bỏ qua; vẫn chạy",
        "a test cell was tagged to be skipped; run anyway",
    ),
    (
        "active_content",
        "active",
        "nội dung HTML/SVG/JavaScript có thể chạy trong trình duyệt, đã vô hiệu hoá",
        "HTML/SVG/JavaScript that would run in a browser; neutralised",
    ),
    ("non_utf8_output", "info", "đầu ra không phải UTF-8, đã thay ký tự", "non-UTF-8 output; replaced"),
    ("system_exit", "info", "mã gọi sys.exit()/exit()", "code called sys.exit()/exit()"),
    ("large_notebook", "info", "notebook rất lớn", "very large notebook"),
    ("missing_notebook", "info", "thiếu notebook, chấm 0 điểm", "notebook missing; scored zero"),
    ("suspicious_code", "info", "mã đáng chú ý, nên xem lại", "code worth a look"),
    ("late", "info", "nộp muộn", "submitted late"),
)
KINDS: dict[str, tuple[str, Text]] = {k: (sev, Text(vi, en)) for k, sev, vi, en in _TABLE}
FLAGGING = frozenset({"tamper", "limit", "restored", "active"})


@dataclass(frozen=True)
class Finding:
    kind: str
    notebook: str | None = None
    cell: str | None = None  # grade id, or "cell <n>"
    detail: str = ""

    @property
    def severity(self) -> str:
        return KINDS.get(self.kind, ("info", None))[0]

    @property
    def text(self) -> Text:
        entry = KINDS.get(self.kind)
        return entry[1] if entry else Text(self.kind, self.kind)

    @property
    def flags(self) -> bool:
        return self.severity in FLAGGING

    def line(self) -> str:
        where = "/".join(x for x in (self.notebook, self.cell) if x)
        tail = f" ({self.detail})" if self.detail else ""
        return f"{where + ': ' if where else ''}{self.text}{tail}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity, "vi": self.text.vi, "en": self.text.en}


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    out = []
    for f in findings:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out
