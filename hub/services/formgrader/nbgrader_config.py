# nbgrader settings of the course formgraders only (on their JUPYTER_CONFIG_PATH), on top of each course's
# own nbgrader_config.py: no autograding inside the formgrader process (see restrictions.py).
c = get_config()  # noqa: F821
c.Autograde.autograde_preprocessors = ["hub.services.formgrader.restrictions.SandboxedGradingOnly"]
c.Autograde.sanitize_preprocessors = ["hub.services.formgrader.restrictions.SandboxedGradingOnly"]
