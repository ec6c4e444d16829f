# System-wide server config of the learner's workspace (a learner's own ~/.jupyter is not read:
# the hub sets disable_user_config). A full home disk is explained on save (truongso_contents.py).
c = get_config()  # noqa: F821
c.ServerApp.contents_manager_class = "truongso_contents.ContentsManager"
# A kernel started ahead, with pandas imported, for the learner's next notebook (truongso_kernels.py).
c.ServerApp.kernel_manager_class = "truongso_kernels.PooledKernelManager"
