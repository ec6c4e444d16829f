"""nbgrader's learner lab extensions in Vietnamese: the Assignments tab and the Validate button.

nbgrader's JupyterLab extension has no translation hooks (no ITranslator in its sources), so the built bundle
of the pinned release is rewritten at image build time, one exact JavaScript fragment at a time. Every file
must have the digest it had when this table was written and every fragment must be found: an nbgrader upgrade
that changes them stops the image build with the file or fragment named, instead of a half-English screen.
Vietnamese is written as \\u escapes, so the bundle stays ASCII whatever charset it is served with.

    python nbgrader_lab_vi.py PREFIX      (PREFIX: the venv; rewrites share/jupyter/labextensions/@jupyter/nbgrader)
    python nbgrader_lab_vi.py PREFIX --check   (only checks digests and fragments)
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

EXTENSION = Path("share/jupyter/labextensions/@jupyter/nbgrader/static")
# nbgrader 0.9.6's bundle holding the assignment list, course list, validate button and create-assignment.
BUNDLE = "161.290a640318af4049.js"
BUNDLE_SHA256 = "2b750db4bf124d21fce83bacafe078dd0c6573fb355708f7b96be5804d806cdc"

# "2026-12-04 14:57:06.296852 UTC" -> "04/12/2026 21:57:06 (giờ Việt Nam)"; unreadable text is left as it is.
VIETNAM_TIME = (
    '(t=>{let d=new Date(String(t).replace(" UTC","Z").replace(" ","T"));if(isNaN(d))return t;let p={};'
    'for(const x of new Intl.DateTimeFormat("en-GB",{timeZone:"Asia/Ho_Chi_Minh",year:"numeric",month:"2-digit",'
    'day:"2-digit",hour:"2-digit",minute:"2-digit",second:"2-digit",hourCycle:"h23"}).formatToParts(d))'
    "p[x.type]=x.value;return`${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second} (giờ Việt Nam)`})"
)

# (English fragment as it stands in the bundle, Vietnamese). The fragment carries its context so that only the
# text shown is changed, never a name the code compares.
TRANSLATIONS: list[tuple[str, str]] = [
    ('label:"Assignment List"', 'label:"Danh sách bài tập"'),
    ('label:"Validate"', 'label:"Kiểm tra bài"'),
    ('innerText="Validate"', 'innerText="Kiểm tra bài"'),
    ('innerText="Validating..."', 'innerText="Đang kiểm tra..."'),
    ('this.setButtonLabel("Saving...")', 'this.setButtonLabel("Đang lưu...")'),
    ('this.setButtonLabel("Validating...")', 'this.setButtonLabel("Đang kiểm tra...")'),
    # the label the button gets back once a validation is over (its default argument)
    ('setButtonLabel(e="Validate")', 'setButtonLabel(e="Kiểm tra bài")'),
    ('tooltip:"Validate Assignment"', 'tooltip:"Kiểm tra bài (chạy lại cả sổ và các ô kiểm tra)"'),
    (
        ">Released, downloaded, and submitted assignments for course:<",
        ">Bài đã phát, đã tải về và đã nộp của khoá học:<",
    ),
    ('title="Refresh assignments list"', 'title="Tải lại danh sách bài"'),
    ("\\n        Released assignments\\n", "\\n        Bài đã phát (chưa tải về)\\n"),
    ("\\n        Downloaded assignments\\n", "\\n        Bài đã tải về (đang làm)\\n"),
    ("\\n        Submitted assignments\\n", "\\n        Bài đã nộp\\n"),
    ("<div> There are no assignments to fetch. </div>", "<div> Không có bài nào để tải về. </div>"),
    ("<div> There are no downloaded assignments. </div>", "<div> Chưa tải bài nào về. </div>"),
    ("<div> There are no submitted assignments. </div>", "<div> Chưa nộp bài nào. </div>"),
    ("<div> Loading, please wait... </div>", "<div> Đang tải, xin chờ... </div>"),
    ('textContent="Loading, please wait..."', 'textContent="Đang tải, xin chờ..."'),
    ('innerText="Fetch"', 'innerText="Tải về"'),
    ('innerText="Fetching..."', 'innerText="Đang tải về..."'),
    ('innerText="Submit"', 'innerText="Nộp bài"'),
    ('innerText="submitting..."', 'innerText="đang nộp..."'),
    ('innerText="Fetch Feedback"', 'innerText="Tải nhận xét"'),
    ('innerText="Fetching Feedback..."', 'innerText="Đang tải nhận xét..."'),
    ('innerText=" (feedback available to fetch)"', 'innerText=" (có nhận xét, hãy tải về)"'),
    ('innerText=" (view feedback)"', 'innerText=" (xem nhận xét)"'),
    ('innerText="Error fetching assignment."', 'innerText="Không tải được bài."'),
    ('innerText="Error fetching courses!"', 'innerText="Không tải được danh sách khoá học!"'),
    ('innerText="Error fetching feedback."', 'innerText="Không tải được nhận xét."'),
    ('innerText="Error submitting assignment."', 'innerText="Không nộp được bài."'),
    ('innerText="Error validating assignment."', 'innerText="Không kiểm tra được bài."'),
    ('innerText="No courses found."', 'innerText="Không có khoá học nào."'),
    ('"Assignment not submitted:"', '"Bài chưa được nộp:"'),
    ('title:"Invalid Submission"', 'title:"Chưa nộp được"'),
    ('title:"Validation Results"', 'title:"Kết quả kiểm tra"'),
    ('title:"Validation failed"', 'title:"Không kiểm tra được"'),
    ('body:"Cannot save notebook"', 'body:"Không lưu được sổ"'),
    ("body:`Cannot validate: ${e}`", "body:`Không kiểm tra được: ${e}`"),
    ("body:`Cannot check version: ${e}`", "body:`Không kiểm tra được phiên bản: ${e}`"),
    ('title:"Version Mismatch"', 'title:"Phiên bản không khớp"'),
    ('innerText="Success! Your notebook passes all the tests."', 'innerText="Tốt! Sổ của bạn qua mọi ô kiểm tra."'),
    ('innerText="The following cell failed:"', 'innerText="Ô sau chưa đạt:"'),
    ('innerText="The following cell passed:"', 'innerText="Ô sau đã đạt:"'),
    (
        'innerText="The source of the following cell has changed, but it should not have!"',
        'innerText="Ô sau là ô kiểm tra bị khoá nhưng đã bị sửa!"',
    ),
    ('innerText="There was an error running the validate command:"', 'innerText="Lỗi khi chạy kiểm tra:"'),
    (
        "innerText=`The following ${e.type_changed[s].old_type} cell has changed to a ${e.type_changed[s].new_type} "
        "cell, but it should not have!`",
        "innerText=`Ô ${e.type_changed[s].old_type} sau đã bị đổi thành ô ${e.type_changed[s].new_type}, "
        "điều này không được phép!`",
    ),
    ('innerText="Total points:"', 'innerText="Tổng điểm:"'),
    ('<span class="sr-only">Toggle Dropdown</span>', '<span class="sr-only">Mở danh sách</span>'),
    ('n.title.label="Assignments"', 'n.title.label="Bài tập"'),
    # A submission's time: nbgrader shows the exchange's UTC timestamp as it is; here in Vietnam time, labelled.
    (
        'var s=document.createElement("span").innerText=this.data.timestamp;',
        'var s=document.createElement("span").innerText=' + VIETNAM_TIME + "(this.data.timestamp);",
    ),
]


def escape_js(text: str) -> str:
    """Non-ASCII characters as \\uXXXX (every Vietnamese letter is in the BMP)."""
    return "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in text)


class TranslationError(RuntimeError):
    pass


def translate(source: str) -> str:
    missing = [en for en, _ in TRANSLATIONS if en not in source]
    if missing:
        raise TranslationError(
            "nbgrader's lab extension no longer holds these strings (an nbgrader upgrade?); update "
            "images/workspace/nbgrader_lab_vi.py: " + "; ".join(missing)
        )
    for en, vi in TRANSLATIONS:
        source = source.replace(en, escape_js(vi))
    return source


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    bundle = Path(argv[0]) / EXTENSION / BUNDLE
    if not bundle.is_file():
        print(f"{bundle} is missing: nbgrader's lab extension changed; update images/workspace/nbgrader_lab_vi.py",
              file=sys.stderr)  # fmt: skip
        return 1
    data = bundle.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != BUNDLE_SHA256:
        print(f"{bundle} has sha256 {digest}, not the translated {BUNDLE_SHA256}: nbgrader's lab extension "
              "changed; update images/workspace/nbgrader_lab_vi.py", file=sys.stderr)  # fmt: skip
        return 1
    try:
        translated = translate(data.decode("utf-8"))
    except TranslationError as exc:
        print(exc, file=sys.stderr)
        return 1
    if "--check" not in argv:
        bundle.write_text(translated, encoding="utf-8")
    print(f"nbgrader lab extension: {len(TRANSLATIONS)} strings in Vietnamese ({bundle.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
