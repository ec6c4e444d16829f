# nbgrader in a learner's workspace: every exchange operation goes to the hub's exchange service
# ($TRUONGSO_EXCHANGE_URL, set by the spawner) with the workspace's own hub token.
from graders.exchange import use_hub_exchange

c = get_config()  # noqa: F821
use_hub_exchange(c)

# `nbgrader validate` in a terminal says its verdicts in Vietnamese first (the Validator's configurable warnings;
# the Validate button and the portal's "Nộp bài" page have their own words).
c.Validator.type_changed_warning = (
    "{num_changed} Ô ĐÃ BỊ ĐỔI LOẠI! Dù bây giờ các kiểm tra đều qua, khi chấm bài có thể không được tính đúng.\n"
    "THE TYPES OF {num_changed} CELL(S) HAVE CHANGED! Grading may not count them.\n"
)
c.Validator.changed_warning = (
    "{num_changed} Ô KIỂM TRA ĐÃ BỊ SỬA! Khi chấm, các ô kiểm tra gốc được dùng lại.\n"
    "THE CONTENTS OF {num_changed} TEST CELL(S) HAVE CHANGED! Grading uses the original tests.\n"
)
c.Validator.failed_warning = (
    "{num_failed} Ô KIỂM TRA CHƯA ĐẠT! Nếu nộp bây giờ, bạn sẽ không được đủ điểm.\n"
    "VALIDATION FAILED ON {num_failed} CELL(S)! Submitted as it is, the work will not get full marks.\n"
)
c.Validator.passed_warning = "{num_passed} Ô ĐÃ ĐẠT! / NOTEBOOK PASSED ON {num_passed} CELL(S)!\n"
