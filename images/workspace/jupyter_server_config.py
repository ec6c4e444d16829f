# System-wide server config of the learner's workspace (a learner's own ~/.jupyter is not read:
# the hub sets disable_user_config). A full home disk is explained on save (truongso_contents.py).
c = get_config()  # noqa: F821
c.ServerApp.contents_manager_class = "truongso_contents.ContentsManager"
