# System-wide kernel config of the learner's workspace: a full home disk is explained under the traceback
# and announced when nearly full (truongso_workspace.py). A learner's own profile may override this.
c = get_config()  # noqa: F821
c.InteractiveShellApp.extensions = ["truongso_workspace"]
