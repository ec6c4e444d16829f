"""The formgrader's words in Vietnamese: for each file of nbgrader's formgrader (path under
nbgrader/server_extensions/formgrader), its sha256 as shipped by the pinned nbgrader and the (English fragment,
Vietnamese) pairs that translation.py replaces. A fragment carries enough context (tags, quotes, the property
it is assigned to) that only displayed text is changed, never a value the code compares or sends.

Terms as in the rest of Trường Số: bài tập (assignment), bài nộp (submission), học viên (student), phát bài /
thu hồi (release / unrelease), thu bài (collect), chấm tự động (autograde), chấm tay (manual grading), nhận xét
(feedback, comments), hạn nộp (due date), bản phát (the student version), sổ (notebook).

Left in English on purpose: the keys in the manual-grading view's shortcut list ("tab", "control-."), which are
key names; the command lines and option names in <code>/<pre>; the logs nbgrader's actions return (logs.py
rewrites those into one bilingual line)."""

from __future__ import annotations

# Added to utils.js, which every page of the formgrader loads (the lists after DataTables, the manual-grading
# view without it): DataTables' own words in Vietnamese, and formatVietnamTime for the times the lists show.
# nbgrader's API gives a due date or a submission time as naive UTC ("2026-12-04T14:57:06.296852"); shown as
# "04/12/2026 21:57 (giờ Việt Nam)". Anything it cannot read is shown as it came.
UTILS_ADDITIONS = r"""// Trường Số: the formgrader in Vietnamese (hub/services/formgrader/vietnamese.py).
if (typeof jQuery !== "undefined" && jQuery.fn && jQuery.fn.dataTable) {
    jQuery.extend(true, jQuery.fn.dataTable.defaults, {
        language: {
            emptyTable: "Không có dữ liệu",
            info: "Dòng _START_ đến _END_ trong tổng số _TOTAL_ dòng",
            infoEmpty: "Không có dòng nào",
            infoFiltered: "(lọc từ _MAX_ dòng)",
            infoThousands: ".",
            lengthMenu: "Hiện _MENU_ dòng",
            loadingRecords: "Đang tải...",
            processing: "Đang xử lý...",
            search: "Tìm kiếm:",
            zeroRecords: "Không tìm thấy dòng nào phù hợp",
            paginate: {first: "Đầu", last: "Cuối", next: "Tiếp", previous: "Trước"},
            aria: {sortAscending: ": sắp xếp tăng dần", sortDescending: ": sắp xếp giảm dần"}
        }
    });
}

// A time as nbgrader's API gives it, in UTC ("2026-12-04T14:57:06.296852"; also "2026-12-04 14:57:06 UTC",
// "...Z" or with an offset such as "+07:00") -> "04/12/2026 21:57 (giờ Việt Nam)". Anything else: as it came.
var formatVietnamTime = function (value) {
    if (value === null || value === undefined) {
        return value;
    }
    var match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/
        .exec(String(value).trim());
    if (!match) {
        return value;
    }
    var millis = Date.UTC(+match[1], +match[2] - 1, +match[3], +match[4], +match[5], +(match[6] || 0));
    var check = new Date(millis);
    if (isNaN(millis) || check.getUTCMonth() !== +match[2] - 1 || check.getUTCDate() !== +match[3]
            || +match[4] > 23 || +match[5] > 59) {
        return value;
    }
    var zone = match[7];
    if (zone && zone !== "Z" && zone !== "UTC") {
        var digits = zone.replace(":", "");
        var minutes = parseInt(digits.slice(1, 3), 10) * 60 + parseInt(digits.slice(3, 5), 10);
        millis -= (digits.charAt(0) === "-" ? -1 : 1) * minutes * 60000;
    }
    var parts = {};
    try {
        new Intl.DateTimeFormat("en-GB", {
            timeZone: "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit", day: "2-digit",
            hour: "2-digit", minute: "2-digit", hourCycle: "h23"
        }).formatToParts(new Date(millis)).forEach(function (part) {
            parts[part.type] = part.value;
        });
    } catch (e) {
        return value;
    }
    return parts.day + "/" + parts.month + "/" + parts.year + " " + parts.hour + ":" + parts.minute
        + " (giờ Việt Nam)";
};

"""

# The label of the gradebook's "show/hide all names" button is also what its script compares to know the
# state: the template and the script get the same words (the test checks they agree).
SHOW_ALL_NAMES = "Hiện tất cả tên"
HIDE_ALL_NAMES = "Ẩn tất cả tên"

# Trường Số's top bar, as on the portal's pages (hub/services/portal/templates/base.html).
TOP_BAR = (
    '<header style="background:#0b3d6e;color:#fff;padding:.7rem 1.2rem;display:flex;gap:1.2rem;align-items:center;'
    'font-family:system-ui,sans-serif">'
    '<a style="color:#fff;font-weight:700" href="{{ base_url }}/../../hub/home">Trường Số</a>'
    '<a style="color:#fff" href="{{ base_url }}/../../hub/home">Trang chủ</a>'
    '<a style="color:#fff" href="{{ base_url }}/../portal/">Khoá học của tôi</a>'
    '<a style="color:#fff" href="{{ base_url }}/../certificates/me">Giấy chứng nhận</a>'
    '<a style="color:#fff;margin-left:auto" href="{{ base_url }}/../../hub/logout">Đăng xuất</a></header>'
)
# The formgrader's "not found" page: nbgrader leaves it to jupyter-server's English one (translation.py).
NOT_FOUND = """{%- extends 'base.tpl' -%}
{%- block title -%}Không có trang này{%- endblock -%}
{%- block body -%}
<div class="panel-body">
Không có trang này trong phần chấm bài của khoá học. Hãy chọn một mục ở bên trái.
<span id="error-{{ error_code }}"></span>
</div>
{%- endblock -%}"""

UPSTREAM_SHA256: dict[str, str] = {
    "templates/base.tpl": "d206a94d41438f2897d5f6355f34877637ba37e8e391f44394282d8ef4dd1835",
    "templates/base_403.tpl": "2d198706be4e302ae09ac812a42dcd4ede2768da5aa3a98980756a95a1633bc7",
    "templates/base_500.tpl": "e04e1f39b090c83c0e77d373c23dd0fe87ab4873177e3897548ebf874e26a53f",
    "templates/formgrade_404.tpl": "0eb265b320c3197ab3dece5a3a5dc87a79788bada0ca6a465979529d262814ca",
    "templates/gradebook_assignments.tpl": "78460d266ac27b11cb84145fc48d4c23d1549f6df4020c4af302deced8f316a6",
    "templates/gradebook_base.tpl": "8c26028a36dea407a755278c152ecec0dbe24367127061b17b45300979280cc2",
    "templates/gradebook_notebook_submissions.tpl": "6ba31e53a5cd3c07a420dc6bfdddd7482f0cb239e956551b74e501ce30dd6018",
    "templates/gradebook_notebooks.tpl": "82397c92104b1d186119c5d6913f1710cf3466a4804731610031e229adc47b84",
    "templates/manage_assignments.tpl": "b0119b6950738c28afd5cb73f0302ce14b8188411962edda568b2cc758a56803",
    "templates/manage_students.tpl": "0932178cf83a164e6524730cc4dbb4b3d52aeb8c5979b5563f881c4b716ef6e5",
    "templates/manage_students_assignments.tpl": "cdb9b9ac6ccbca77753bebe4e19094b1b118dfa4be7f51c37672f56ac7013e88",
    "templates/manage_students_base.tpl": "d186f462b0ee4271c01783218a74fcded90ef3bb2e9907c54c9f94c4417bebbb",
    "templates/manage_students_notebook_submissions.tpl": (
        "571edb1ad5a753a1c31833ef75b7a06a9ee8cc521a356c93f6693601139b4e68"
    ),
    "templates/manage_submissions.tpl": "b482829c57d325ea0b05eccab8a6e6aed8c4788171704783c1c297d3926dca75",
    "templates/formgrade/index.html.j2": "7a7a2c7539d2327c381f44cd7b37aa8965716d5c5bee5e98b38abaaccb65564f",
    "templates/formgrade/formgrade_macros.html.j2": "5eed6cc257f4aa3ba233812d878f47b1435da3528c7dbcfb4dbf2da5b40ce30e",
    "static/js/utils.js": "bf49532f75071613ab5439a3aaed26f89515634fc7e0e95f4729579cfec18272",
    "static/js/formgrade.js": "53db14a9ea4a17ffbeb11ebc5e5ccd392fec01f78b6290d26fc1f86a47d96cbb",
    "static/js/formgrade_keyboardmanager.js": "4273e983197cc3947daa365808ea9f59651196a7a3920fe9323c83b50f870093",
    "static/js/formgrade_models.js": "cf65a763c01f137e98e4786115b0bee116549973f811d5278daf40a9b5d8cebb",
    "static/js/gradebook_assignments.js": "c886c6a5727f8c03a2c2ca419ffc9404196dffa37a62e79d2219766739917ef9",
    "static/js/gradebook_notebooks.js": "bbc0efad0bb967892f650db5c4afad39f7d808b7f97300701c30f5e391d5c4cd",
    "static/js/gradebook_notebook_submissions.js": "c8418c99ad5ae93f0e87c30b331c292aec42162e272f9816fe1089a36d206613",
    "static/js/manage_assignments.js": "28668414f89c397fef9091cdebe90776563919cb9a4f28cf660d262be03fe554",
    "static/js/manage_students.js": "14379bf5c7471fac3377f63ea5b5ec10ae70b073901e23553120e09db8c4a09f",
    "static/js/manage_students_assignments.js": "c6d6e52b376aaac0e2bcfb87d68e2510b3785c78482b50f618d26d7a8f030764",
    "static/js/manage_students_notebook_submissions.js": (
        "b970149ba92067b5f54c2d3a84d59c4fbe3091bf2f7114acc1e3e48a4c138098"
    ),
    "static/js/manage_submissions.js": "530b74e8c265089d8ae1f40f2cff442fd13bef79cb6236758a35aeca7158e06b",
}

# The sidebar every list page repeats (each page overrides base.tpl's block with its own copy).
_SIDEBAR = [
    (">Manage Assignments</a></li>", ">Quản lý bài tập</a></li>"),
    (">Manual Grading</a></li>", ">Chấm tay</a></li>"),
    (">Manage Students</a></li>", ">Quản lý học viên</a></li>"),
]
_LOADING = [(">Loading, please wait...</td>", ">Đang tải, xin chờ...</td>")]
# Score columns of the gradebook and student pages
_SCORES = [
    ('<th class="text-center">Overall Score</th>', '<th class="text-center">Tổng điểm</th>'),
    ('<th class="text-center">Code Score</th>', '<th class="text-center">Điểm mã</th>'),
    ('<th class="text-center">Written Score</th>', '<th class="text-center">Điểm phần viết</th>'),
    ('<th class="text-center">Task Score</th>', '<th class="text-center">Điểm nhiệm vụ</th>'),
]
# Cells the list scripts mark for DataTables' search box ("needs manual grade" finds the rows that do): the
# words an instructor types, so in Vietnamese; no code reads them.
_SEARCH_NEEDS_MANUAL = [
    ('.attr("data-search", "needs manual grade")', '.attr("data-search", "cần chấm tay")'),
]
_SEARCH_FAILED_FLAGGED = [
    ('.attr("data-search", "tests failed")', '.attr("data-search", "không qua kiểm thử")'),
    ('.attr("data-search", "flagged")', '.attr("data-search", "đã gắn cờ")'),
]
_MODAL_BUTTONS = [
    ('.text("Save"));', '.text("Lưu"));'),
    ('.text("Cancel"));', '.text("Huỷ"));'),
    ('this.$modal_save.text("Saving...");', 'this.$modal_save.text("Đang lưu...");'),
]
_RESULT_TITLES = [
    ('"success-modal",\n                "Success",', '"success-modal",\n                "Thành công",'),
    ('"error-modal",\n                "Error",', '"error-modal",\n                "Lỗi",'),
    ('"error-modal",\n            "Error",', '"error-modal",\n            "Lỗi",'),
]
_PLEASE_WAIT = [('.text("Please wait...");', '.text("Xin chờ...");')]
_HTML_LANG = [("<!DOCTYPE html>\n<html>\n<head>", '<!DOCTYPE html>\n<html lang="vi">\n<head>')]
_SUBMISSION_HEADING = [
    ('<span class="pull-right">Submission {{', '<span class="pull-right">Bài nộp {{'),
]

FRAGMENTS: dict[str, list[tuple[str, str]]] = {
    "templates/base.tpl": [
        ("<!doctype html>\n<head>", '<!doctype html>\n<html lang="vi">\n<head>\n  <meta charset="utf-8">'),
        ("<title>nbgrader formgrade</title>", "<title>Chấm bài (nbgrader)</title>"),
        ("<h1>nbgrader</h1>", "<h1>Chấm bài</h1>"),
        # The top bar of every Trường Số page (home, my courses, certificates, log out); the formgrader is at
        # /services/COURSE, so the portal and the hub are found relative to its base_url.
        ('<body>\n  <div class="container-fluid">', f'<body>\n  {TOP_BAR}\n  <div class="container-fluid">'),
        (">Manage Assignments</a></li>", ">Quản lý bài tập</a></li>"),
        # base.tpl's own sidebar (only the error pages keep it) calls this link "Gradebook", every other page
        # "Manual Grading": one name for one page.
        (">Gradebook</a></li>", ">Chấm tay</a></li>"),
        (">Manage Students</a></li>", ">Quản lý học viên</a></li>"),
    ],
    "templates/base_403.tpl": [
        ("\nNot Authorized\n", "\nKhông có quyền truy cập\n"),
        (
            "\nSorry, you are not authorized to access the formgrader.\n",
            "\nXin lỗi, bạn không có quyền vào trang chấm bài của khoá học này.\n",
        ),
    ],
    "templates/base_500.tpl": [
        ("\nError\n", "\nLỗi\n"),
        (
            "\nSorry, the formgrader encountered an error. Please contact the administrator of\n"
            "the formgrader for further assistance.\n",
            "\nXin lỗi, trang chấm bài gặp lỗi. Xin liên hệ quản trị viên\nđể được hỗ trợ.\n",
        ),
    ],
    "templates/formgrade_404.tpl": [
        *_HTML_LANG,
        *_SUBMISSION_HEADING,
        (
            "Error: Submission notebook file not found: {{ resources.filename }}",
            "Lỗi: không tìm thấy tệp sổ (notebook) của bài nộp: {{ resources.filename }}",
        ),
    ],
    "templates/gradebook_base.tpl": [
        ("\nManual Grading\n", "\nChấm tay\n"),
        *_SIDEBAR,
    ],
    "templates/gradebook_assignments.tpl": [
        ('<li class="active">Manual Grading</li>', '<li class="active">Chấm tay</li>'),
        ("<th>Assignment ID</th>", "<th>Bài tập</th>"),
        ('<th class="text-center">Due Date</th>', '<th class="text-center">Hạn nộp</th>'),
        ('<th class="text-center">Submissions</th>', '<th class="text-center">Số bài nộp</th>'),
        ('<th class="text-center">Score</th>', '<th class="text-center">Điểm trung bình</th>'),
        *_LOADING,
    ],
    "templates/gradebook_notebooks.tpl": [
        ('/formgrader/gradebook">Manual Grading</a></li>', '/formgrader/gradebook">Chấm tay</a></li>'),
        ("<th>Notebook ID</th>", "<th>Sổ (notebook)</th>"),
        ('<th class="text-center">Avg. Score</th>', '<th class="text-center">Điểm TB</th>'),
        ('<th class="text-center">Avg. Code Score</th>', '<th class="text-center">Điểm mã TB</th>'),
        ('<th class="text-center">Avg. Written Score</th>', '<th class="text-center">Điểm phần viết TB</th>'),
        ('<th class="text-center">Avg. Task Score</th>', '<th class="text-center">Điểm nhiệm vụ TB</th>'),
        ('<th class="text-center">Needs Manual Grade?</th>', '<th class="text-center">Cần chấm tay?</th>'),
        *_LOADING,
    ],
    "templates/gradebook_notebook_submissions.tpl": [
        ('/formgrader/gradebook">Manual Grading</a></li>', '/formgrader/gradebook">Chấm tay</a></li>'),
        (
            '<button id="toggle_names" onclick="toggleAllNames()">Show All Names</button>',
            f'<button id="toggle_names" onclick="toggleAllNames()">{SHOW_ALL_NAMES}</button>',
        ),
        ("<th>Submission ID</th>", "<th>Bài nộp</th>"),
        *_SCORES,
        ('<th class="text-center">Needs Manual Grade?</th>', '<th class="text-center">Cần chấm tay?</th>'),
        ('<th class="text-center">Tests Failed?</th>', '<th class="text-center">Không qua kiểm thử?</th>'),
        ('<th class="text-center">Flagged?</th>', '<th class="text-center">Đã gắn cờ?</th>'),
        *_LOADING,
    ],
    "templates/manage_assignments.tpl": [
        ("\nManage Assignments\n", "\nQuản lý bài tập\n"),
        *_SIDEBAR,
        ('<li class="active">Assignments</li>', '<li class="active">Bài tập</li>'),
        ("Instructions (click to expand)", "Hướng dẫn (bấm để mở)"),
        (
            '<li>To <b>create</b> an assignment, click the "Add new assignment..." button below.</li>',
            "<li>Để <b>tạo</b> bài tập, bấm «Thêm bài tập mới...» ở cuối bảng.</li>",
        ),
        (
            "<li>To <b>edit assignment files</b>, click on the name of an assignment.</li>",
            "<li>Để <b>sửa các tệp của bài tập</b>, bấm vào tên bài tập.</li>",
        ),
        (
            "<li>To <b>edit the assignment metadata</b>, click on the edit button.</li>",
            "<li>Để <b>sửa thông tin bài tập</b> (hạn nộp), bấm nút sửa.</li>",
        ),
        (
            "<li>To <b>generate</b> the student version of an assignment, click on the generate button.</li>",
            "<li>Để <b>tạo bản phát</b> (bản cho học viên) của bài tập, bấm nút tạo bản phát.</li>",
        ),
        (
            "<li>To <b>preview</b> the student version of an assignment, click on the preview button.</li>",
            "<li>Để <b>xem trước</b> bản phát của bài tập, bấm nút xem trước.</li>",
        ),
        (
            "<li><i>(JupyterHub only)</i> To <b>release</b> the assignment to students, click the release button.\n"
            '          You can "unrelease" an assignment by clicking again, though note some students may have\n'
            "          already accessed the assignment. <b>Note</b> that for the release button to become\n"
            "          available, the <code>course_id</code> option must be set in <code>nbgrader_config.py</code>.\n"
            "          For details, see <a ",
            "<li><i>(chỉ trên JupyterHub)</i> Để <b>phát bài</b> cho học viên, bấm nút phát bài.\n"
            "          Bấm lần nữa để thu hồi bài đã phát, nhưng lưu ý có thể một số học viên\n"
            "          đã nhận bài. <b>Lưu ý</b>: nút phát bài chỉ hiện khi\n"
            "          tuỳ chọn <code>course_id</code> đã được đặt trong <code>nbgrader_config.py</code>.\n"
            "          Xem chi tiết trong <a ",
        ),
        (">the documentation</a>.</li>", ">tài liệu của nbgrader</a> (tiếng Anh).</li>"),
        (
            "<li><i>(JupyterHub only)</i> To <b>collect</b> assignments, click the collect button.</li>",
            "<li><i>(chỉ trên JupyterHub)</i> Để <b>thu bài</b>, bấm nút thu bài.</li>",
        ),
        (
            "<li>To <b>autograde</b> submissions, click on the number of collected submissions. You must run\n"
            "          the autograder on the submissions before you can manually grade them.</li>",
            "<li>Để <b>chấm tự động</b> các bài nộp, bấm vào số bài nộp đã thu. Phải chấm tự động\n"
            "          các bài nộp trước khi chấm tay.</li>",
        ),
        ("Current configuration (click to expand)", "Cấu hình hiện tại (bấm để mở)"),
        (
            'Windows operating system detected. Please note that the "release" and "collect"\n'
            "functionality will not be available.",
            "Máy chủ chạy hệ điều hành Windows: chức năng «phát bài» và «thu bài»\nsẽ không dùng được.",
        ),
        (
            "The exchange directory at <code>{{ exchange }}</code> does not exist and could\n"
            'not be created. The "release" and "collect" functionality will not be available.',
            "Thư mục trao đổi bài <code>{{ exchange }}</code> không có và không\n"
            "tạo được. Chức năng «phát bài» và «thu bài» sẽ không dùng được.",
        ),
        (
            'The course id has not been set in <code>nbgrader_config.py</code>. The "release"\n'
            'and "collect" functionality will not be available.',
            "Chưa đặt mã khoá học <code>course_id</code> trong <code>nbgrader_config.py</code>. Chức năng «phát bài»\n"
            "và «thu bài» sẽ không dùng được.",
        ),
        ("Please see the documentation on", "Xem hướng dẫn"),
        (
            ">Setting Up The Exchange</a>\nfor instructions.",
            ">thiết lập thư mục trao đổi bài</a>\ntrong tài liệu của nbgrader (tiếng Anh).",
        ),
        ("<th>Name</th>", "<th>Tên</th>"),
        ('<th class="text-center">Due Date</th>', '<th class="text-center">Hạn nộp</th>'),
        ('<th class="text-center">Status</th>', '<th class="text-center">Trạng thái</th>'),
        ('<th class="text-center no-sort">Edit</th>', '<th class="text-center no-sort">Sửa</th>'),
        ('<th class="text-center no-sort">Generate</th>', '<th class="text-center no-sort">Tạo bản phát</th>'),
        ('<th class="text-center no-sort">Preview</th>', '<th class="text-center no-sort">Xem trước</th>'),
        ('<th class="text-center no-sort">Release</th>', '<th class="text-center no-sort">Phát bài</th>'),
        ('<th class="text-center no-sort">Collect</th>', '<th class="text-center no-sort">Thu bài</th>'),
        ('<th class="text-center"># Submissions</th>', '<th class="text-center">Số bài nộp</th>'),
        (
            '<th class="text-center no-sort">Generate Feedback</th>',
            '<th class="text-center no-sort">Tạo nhận xét</th>',
        ),
        (
            '<th class="text-center no-sort">Release Feedback</th>',
            '<th class="text-center no-sort">Gửi nhận xét</th>',
        ),
        *_LOADING,
        (">Add new assignment...</a>", ">Thêm bài tập mới...</a>"),
    ],
    "templates/manage_submissions.tpl": [
        ("\nManage Submissions\n", "\nQuản lý bài nộp\n"),
        *_SIDEBAR,
        ('/formgrader/manage_assignments">Assignments</a></li>', '/formgrader/manage_assignments">Bài tập</a></li>'),
        ("Instructions (click to expand)", "Hướng dẫn (bấm để mở)"),
        # Trường Số grades in a sandbox, never in this process, and the formgrader has no terminal: the note
        # says where grading happens instead of sending the instructor to `nbgrader autograde` in /terminals/1.
        (
            "<b>Note:</b> Here you can autograde individual students' submissions by\n"
            "          clicking on the autograde icons below. If you want to autograde\n"
            "          all submissions at once, you will need to do this via the\n"
            '          <a target="_blank" href="{{ base_url }}/terminals/1">command line</a>:\n'
            "        </p>\n"
            "        <p>\n"
            "        <pre>\n"
            'cd "{{ course_dir }}"\n'
            'nbgrader autograde "{{ assignment_id }}"</pre>',
            "<b>Lưu ý:</b> Bài nộp được chấm tự động trong hộp cát, không chấm ở trang này: dùng nút\n"
            "          «Chấm tự động» ở trang Khoá học của Trường Số\n"
            '          (<a href="{{ base_url }}/../portal/">Khoá học của tôi</a>), hoặc lệnh sau trên máy chủ:\n'
            "        </p>\n"
            "        <p>\n"
            "        <pre>\n"
            "truongso grade {{ course_dir.rstrip('/').split('/')[-1] }} \"{{ assignment_id }}\"</pre>",
        ),
        ("<th>Student Name</th>", "<th>Họ tên học viên</th>"),
        ('<th class="text-center">Student ID</th>', '<th class="text-center">Mã học viên</th>'),
        ('<th class="text-center">Timestamp</th>', '<th class="text-center">Thời điểm nộp</th>'),
        ('<th class="text-center">Status</th>', '<th class="text-center">Trạng thái</th>'),
        ('<th class="text-center">Score</th>', '<th class="text-center">Điểm</th>'),
        ('<th class="text-center no-sort">Autograde</th>', '<th class="text-center no-sort">Chấm tự động</th>'),
        (
            '<th class="text-center no-sort">Generate Feedback</th>',
            '<th class="text-center no-sort">Tạo nhận xét</th>',
        ),
        (
            '<th class="text-center no-sort">Release Feedback</th>',
            '<th class="text-center no-sort">Gửi nhận xét</th>',
        ),
        ("<td>Loading, please wait...</td>", "<td>Đang tải, xin chờ...</td>"),
    ],
    "templates/manage_students_base.tpl": [
        ("\nManage Students\n", "\nQuản lý học viên\n"),
        *_SIDEBAR,
    ],
    "templates/manage_students.tpl": [
        ('<li class="active">Students</li>', '<li class="active">Học viên</li>'),
        ("<th>Name</th>", "<th>Họ tên</th>"),
        ('<th class="text-center">Student ID</th>', '<th class="text-center">Mã học viên</th>'),
        ('<th class="text-center">Overall Score</th>', '<th class="text-center">Tổng điểm</th>'),
        ('<th class="text-center no-sort">Edit Student</th>', '<th class="text-center no-sort">Sửa</th>'),
        *_LOADING,
        (">Add new student...</a>", ">Thêm học viên mới...</a>"),
    ],
    "templates/manage_students_assignments.tpl": [
        ('/formgrader/manage_students">Students</a></li>', '/formgrader/manage_students">Học viên</a></li>'),
        ("<th>Assignment ID</th>", "<th>Bài tập</th>"),
        *_SCORES,
        ('<th class="text-center">Needs Manual Grade?</th>', '<th class="text-center">Cần chấm tay?</th>'),
        *_LOADING,
    ],
    "templates/manage_students_notebook_submissions.tpl": [
        ('/formgrader/manage_students">Students</a></li>', '/formgrader/manage_students">Học viên</a></li>'),
        ("<th>Notebook ID</th>", "<th>Sổ (notebook)</th>"),
        *_SCORES,
        ('<th class="text-center">Needs manual grade?</th>', '<th class="text-center">Cần chấm tay?</th>'),
        ('<th class="text-center">Tests failed?</th>', '<th class="text-center">Không qua kiểm thử?</th>'),
        ('<th class="text-center">Flagged?</th>', '<th class="text-center">Đã gắn cờ?</th>'),
        *_LOADING,
    ],
    # The manual-grading view (nbconvert's exporter renders it with these two).
    "templates/formgrade/index.html.j2": [
        *_HTML_LANG,
        *_SUBMISSION_HEADING,
        (
            '<button type="button" class="btn btn-warning mark-graded">Resolve</button>',
            '<button type="button" class="btn btn-warning mark-graded">Xác nhận đã chấm</button>',
        ),
        (
            '<button type="button" class="btn btn-success full-credit">Full credit</button>',
            '<button type="button" class="btn btn-success full-credit">Điểm tối đa</button>',
        ),
        (
            '<button type="button" class="btn btn-danger no-credit">No credit</button>',
            '<button type="button" class="btn btn-danger no-credit">0 điểm</button>',
        ),
        ('type="number" /> (extra credit)', 'type="number" /> (điểm cộng)'),
        (
            '<span class="nbgrader-label">Student\'s task</span>',
            '<span class="nbgrader-label">Nhiệm vụ của học viên</span>',
        ),
        (
            '<span class="nbgrader-label">Student\'s answer</span>',
            '<span class="nbgrader-label">Bài làm của học viên</span>',
        ),
    ],
    "templates/formgrade/formgrade_macros.html.j2": [
        ('title="{{ resources.index }} remaining"', 'title="Còn {{ resources.index }} bài trước"'),
        ("&larr; Prev\n", "&larr; Trước\n"),
        ('/formgrader/gradebook">Manual Grading</a></li>', '/formgrader/gradebook">Chấm tay</a></li>'),
        ('title="Open live notebook"', 'title="Mở sổ (notebook) này"'),
        ("Submission #{{ resources.index + 1 }}", "Bài nộp #{{ resources.index + 1 }}"),
        (
            'title="{{ resources.total - (resources.index + 1) }} remaining"',
            'title="Còn {{ resources.total - (resources.index + 1) }} bài sau"',
        ),
        ("Next &rarr;\n", "Tiếp &rarr;\n"),
        ('tooltip({title: "Show student name",', 'tooltip({title: "Hiện tên học viên",'),
        ('tooltip({title: "Hide student name",', 'tooltip({title: "Ẩn tên học viên",'),
    ],
    "static/js/utils.js": [
        ('.attr("aria-label", "Close")', '.attr("aria-label", "Đóng")'),
        ('.text("OK"));', '.text("Đóng"));'),
        ('.text("Log Output"));', '.text("Nhật ký"));'),
        ('.text("Traceback"));', '.text("Chi tiết lỗi"));'),
        (
            "var roundToPrecision = function (num, precision) {",
            UTILS_ADDITIONS + "var roundToPrecision = function (num, precision) {",
        ),
    ],
    "static/js/formgrade.js": [
        (
            '"help": "Move to the next score or comment input"',
            '"help": "Chuyển tới ô điểm hoặc nhận xét kế tiếp"',
        ),
        (
            '"help": "Move to the previous score or comment input"',
            '"help": "Chuyển tới ô điểm hoặc nhận xét trước đó"',
        ),
        (
            '"help": "Defocus and save the current score or comment input"',
            '"help": "Rời ô điểm hoặc nhận xét đang sửa và lưu lại"',
        ),
        (
            '"help": "Refocus the most recent score or comment input"',
            '"help": "Quay lại ô điểm hoặc nhận xét vừa sửa"',
        ),
        (
            '"help": "Move to the same score or comment input of the next submission"',
            '"help": "Chuyển tới cùng ô đó ở bài nộp tiếp theo"',
        ),
        (
            '"help": "Move to the same score or comment input of the next submission with failed tests"',
            '"help": "Chuyển tới cùng ô đó ở bài nộp tiếp theo không qua kiểm thử"',
        ),
        (
            '"help": "Move to the same score or comment input of the previous submission"',
            '"help": "Chuyển tới cùng ô đó ở bài nộp trước đó"',
        ),
        (
            '"help": "Move to the same score or comment input of the previous submission with failed tests"',
            '"help": "Chuyển tới cùng ô đó ở bài nộp trước đó không qua kiểm thử"',
        ),
        ('"help": "Flag the submission"', '"help": "Gắn cờ hoặc bỏ cờ bài nộp"'),
        ('elem.text("Submission flagged");', 'elem.text("Đã gắn cờ bài nộp");'),
        ('elem.text("Submission unflagged");', 'elem.text("Đã bỏ cờ bài nộp");'),
    ],
    "static/js/formgrade_keyboardmanager.js": [
        ('.attr("aria-label", "Close")', '.attr("aria-label", "Đóng")'),
        ('.text("Keyboard shortcuts"));', '.text("Phím tắt"));'),
        ('.text("Close"));', '.text("Đóng"));'),
    ],
    "static/js/formgrade_models.js": [
        (
            'var default_msg = "Type any comments here (supports Markdown and MathJax)";',
            'var default_msg = "Nhập nhận xét ở đây (dùng được Markdown và MathJax)";',
        ),
    ],
    "static/js/gradebook_assignments.js": [
        (
            '            display_duedate = "None";\n        }\n',
            '            display_duedate = "Không có";\n'
            "        } else {\n"
            "            display_duedate = formatVietnamTime(duedate);\n"
            "        }\n",
        ),
    ],
    "static/js/gradebook_notebooks.js": [
        *_SEARCH_NEEDS_MANUAL,
    ],
    "static/js/gradebook_notebook_submissions.js": [
        ('.text("Submission #" + (', '.text("Bài nộp #" + ('),
        (
            "$('span.glyphicon.name-hidden').tooltip({title: \"Show student name\"});",
            "$('span.glyphicon.name-hidden').tooltip({title: \"Hiện tên học viên\"});",
        ),
        (
            "$('span.glyphicon.name-shown').tooltip({title: \"Hide student name\"});",
            "$('span.glyphicon.name-shown').tooltip({title: \"Ẩn tên học viên\"});",
        ),
        *_SEARCH_NEEDS_MANUAL,
        *_SEARCH_FAILED_FLAGGED,
        # the button's label, set here and compared below: the same words as in the template
        ('label="Show All Names"', f'label="{SHOW_ALL_NAMES}"'),
        ('label="Hide All Names"', f'label="{HIDE_ALL_NAMES}"'),
        ('button.innerHTML = "Show All Names";', f'button.innerHTML = "{SHOW_ALL_NAMES}";'),
        ('button.innerHTML = "Hide All Names";', f'button.innerHTML = "{HIDE_ALL_NAMES}";'),
        ('(button.innerHTML === "Show All Names")', f'(button.innerHTML === "{SHOW_ALL_NAMES}")'),
    ],
    "static/js/manage_assignments.js": [
        ('.addClass("align-middle").text("Name"));', '.addClass("align-middle").text("Tên"));'),
        (
            '.text("Due date (optional)"));',
            '.text("Hạn nộp (không bắt buộc), tính theo múi giờ ở dòng dưới"));',
        ),
        (
            '.text("Timezone as UTC offset (optional)"));',
            '.text("Múi giờ, dạng độ lệch so với UTC (không bắt buộc): +0000 là giờ UTC, +0700 là giờ Việt Nam"));',
        ),
        *_MODAL_BUTTONS,
        (
            'createModal("edit-assignment-modal", "Editing " + this.model.get("name"), body, footer);',
            'createModal("edit-assignment-modal", "Sửa bài tập " + this.model.get("name"), body, footer);',
        ),
        (
            '            display_duedate = "None";\n        }\n',
            '            display_duedate = "Không có";\n'
            "        } else {\n"
            "            display_duedate = formatVietnamTime(duedate);\n"
            "        }\n",
        ),
        ('.addClass("label label-info").text("draft")', '.addClass("label label-info").text("nháp")'),
        ('.addClass("label label-success").text("released")', '.addClass("label label-success").text("đã phát")'),
        *_PLEASE_WAIT,
        *_RESULT_TITLES,
        (
            '"Successfully created the student version of \'" + this.model.get("name") + "\':",',
            '"Đã tạo bản phát của bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error creating the student version of \'" + this.model.get("name") + "\':",',
            '"Có lỗi khi tạo bản phát của bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error creating the student version of \'" + this.model.get("name") + "\'.");',
            '"Có lỗi khi tạo bản phát của bài tập “" + this.model.get("name") + "”.");',
        ),
        (
            '"Successfully unreleased \'" + this.model.get("name") + "\'.",',
            '"Đã thu hồi bài tập “" + this.model.get("name") + "”.",',
        ),
        (
            '"There was an error unreleasing \'" + this.model.get("name") + "\':",',
            '"Có lỗi khi thu hồi bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error unreleasing \'" + this.model.get("name") + "\'.");',
            '"Có lỗi khi thu hồi bài tập “" + this.model.get("name") + "”.");',
        ),
        (
            '"Successfully released \'" + this.model.get("name") + "\'.",',
            '"Đã phát bài tập “" + this.model.get("name") + "”.",',
        ),
        (
            '"There was an error releasing \'" + this.model.get("name") + "\':",',
            '"Có lỗi khi phát bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error releasing \'" + this.model.get("name") + "\'.");',
            '"Có lỗi khi phát bài tập “" + this.model.get("name") + "”.");',
        ),
        (
            '"Successfully collected submissions of \'" + this.model.get("name") + "\'.",',
            '"Đã thu bài nộp của bài tập “" + this.model.get("name") + "”.",',
        ),
        (
            '"There was an error collecting \'" + this.model.get("name") + "\':",',
            '"Có lỗi khi thu bài nộp của bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error collecting submissions of \'" + this.model.get("name") + "\'.");',
            '"Có lỗi khi thu bài nộp của bài tập “" + this.model.get("name") + "”.");',
        ),
        (
            '"Successfully generated feedback of \'" + this.model.get("name") + "\'.",',
            '"Đã tạo nhận xét cho bài tập “" + this.model.get("name") + "”.",',
        ),
        (
            '"There was an error generating feedback of \'" + this.model.get("name") + "\':",',
            '"Có lỗi khi tạo nhận xét cho bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error generating feedback of \'" + this.model.get("name") + "\'.");',
            '"Có lỗi khi tạo nhận xét cho bài tập “" + this.model.get("name") + "”.");',
        ),
        (
            '"Successfully released feedback of \'" + this.model.get("name") + "\'.",',
            '"Đã gửi nhận xét của bài tập “" + this.model.get("name") + "”.",',
        ),
        (
            '"There was an error releasing feedback of \'" + this.model.get("name") + "\':",',
            '"Có lỗi khi gửi nhận xét của bài tập “" + this.model.get("name") + "”:",',
        ),
        (
            '"There was an error releasing feedback of \'" + this.model.get("name") + "\'.");',
            '"Có lỗi khi gửi nhận xét của bài tập “" + this.model.get("name") + "”.");',
        ),
        (
            "err.text(\"Assignment names may not include the '+' character.\");",
            'err.text("Tên bài tập không được chứa ký tự “+”.");',
        ),
        (
            'createModal("add-assignment-modal", "Add New Assignment", body, footer);',
            'createModal("add-assignment-modal", "Thêm bài tập mới", body, footer);',
        ),
    ],
    "static/js/manage_submissions.js": [
        # a learner without a name in the roster: shown, and sorted, as "(chưa có)"
        ('if (last_name === null) last_name = "None";', 'if (last_name === null) last_name = "(chưa có)";'),
        ('if (first_name === null) first_name = "None";', 'if (first_name === null) first_name = "(chưa có)";'),
        (
            '            display_timestamp = "None";\n        }\n',
            '            display_timestamp = "Không có";\n'
            "        } else {\n"
            "            display_timestamp = formatVietnamTime(timestamp);\n"
            "        }\n",
        ),
        ('.text("needs autograding"));', '.text("cần chấm tự động"));'),
        ('.text("needs manual grading"));', '.text("cần chấm tay"));'),
        ('.text("graded"));', '.text("đã chấm"));'),
        ('this.$student_name.text("Please wait...");', 'this.$student_name.text("Xin chờ...");'),
        *_RESULT_TITLES,
        (
            '"Successfully autograded \'" + assignment + "\' for student \'" + student + "\'.",',
            '"Đã chấm tự động bài “" + assignment + "” của học viên “" + student + "”.",',
        ),
        (
            '"There was an error autograding \'" + assignment + "\' for student \'" + student + "\':",',
            '"Có lỗi khi chấm tự động bài “" + assignment + "” của học viên “" + student + "”:",',
        ),
        (
            '"There was an error autograding \'" + assignment + "\' for student \'" + student + "\'.");',
            '"Có lỗi khi chấm tự động bài “" + assignment + "” của học viên “" + student + "”.");',
        ),
        (
            '"Successfully generated feedback for \'" + assignment + "\' for student \'" + student + "\'.",',
            '"Đã tạo nhận xét bài “" + assignment + "” cho học viên “" + student + "”.",',
        ),
        (
            '"There was an error generating feedback for \'" + assignment + "\' for student \'" + student + "\':",',
            '"Có lỗi khi tạo nhận xét bài “" + assignment + "” cho học viên “" + student + "”:",',
        ),
        (
            '"There was an error generating feedback for \'" + assignment + "\' for student \'" + student + "\'.");',
            '"Có lỗi khi tạo nhận xét bài “" + assignment + "” cho học viên “" + student + "”.");',
        ),
        (
            '"Successfully released feedback for \'" + assignment + "\' for student \'" + student + "\'.",',
            '"Đã gửi nhận xét bài “" + assignment + "” cho học viên “" + student + "”.",',
        ),
        (
            '"There was an error releasing feedback for \'" + assignment + "\' for student \'" + student + "\':",',
            '"Có lỗi khi gửi nhận xét bài “" + assignment + "” cho học viên “" + student + "”:",',
        ),
        (
            '"There was an error releasing feedback for \'" + assignment + "\' for student \'" + student + "\'.");',
            '"Có lỗi khi gửi nhận xét bài “" + assignment + "” cho học viên “" + student + "”.");',
        ),
    ],
    "static/js/manage_students.js": [
        ('.text("Student ID"));', '.text("Mã học viên"));'),
        ('.text("First name (optional)"));', '.text("Tên (không bắt buộc)"));'),
        ('.text("Last name (optional)"));', '.text("Họ (không bắt buộc)"));'),
        ('.text("Email (optional)"));', '.text("Email (không bắt buộc)"));'),
        *_MODAL_BUTTONS,
        (
            'createModal("edit-student-modal", "Editing " + this.model.get("id"), body, footer);',
            'createModal("edit-student-modal", "Sửa học viên " + this.model.get("id"), body, footer);',
        ),
        ('if (last_name === null) last_name = "None";', 'if (last_name === null) last_name = "(chưa có)";'),
        ('if (first_name === null) first_name = "None";', 'if (first_name === null) first_name = "(chưa có)";'),
        ('if (email === null) email = "None";', 'if (email === null) email = "(chưa có)";'),
        (
            'createModal("add-student-modal", "Add New Student", body, footer);',
            'createModal("add-student-modal", "Thêm học viên mới", body, footer);',
        ),
    ],
    "static/js/manage_students_assignments.js": [
        ('this.$name.text(name + " (no submission)");', 'this.$name.text(name + " (chưa nộp)");'),
        ('this.$name.text(name + " (not autograded)");', 'this.$name.text(name + " (chưa chấm tự động)");'),
        *_SEARCH_NEEDS_MANUAL,
    ],
    "static/js/manage_students_notebook_submissions.js": [
        ('this.$name.append(name + " (file missing)");', 'this.$name.append(name + " (thiếu tệp)");'),
        *_SEARCH_NEEDS_MANUAL,
        *_SEARCH_FAILED_FLAGGED,
    ],
}
