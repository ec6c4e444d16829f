# nbgrader settings of the course formgraders only (on their JUPYTER_CONFIG_PATH), on top of each course's
# own nbgrader_config.py: no autograding inside the formgrader process (see restrictions.py).
c = get_config()  # noqa: F821
c.Autograde.autograde_preprocessors = ["hub.services.formgrader.restrictions.SandboxedGradingOnly"]
c.Autograde.sanitize_preprocessors = ["hub.services.formgrader.restrictions.SandboxedGradingOnly"]
# Submitted notebooks are shown cleaned of anything that would run in the instructor's browser, also those
# graded before the autograder cleaned them (graders/autograde/sanitize.py).
c.HTMLExporter.preprocessors = ["graders.autograde.sanitize.SanitizeForDisplay"]
# Feedback pages in Vietnamese: nbgrader's "feedback" template, translated, found before nbgrader's own
# (graders/feedback); the formgrader's other views keep nbgrader's templates.
from graders.feedback import exporter_config  # noqa: E402

c.HTMLExporter.extra_template_basedirs = exporter_config()["extra_template_basedirs"]
# nbgrader shows the whole loaded configuration on its assignments page: the gradebook's URL among it.
c.FormgradeExtension.debug = False
