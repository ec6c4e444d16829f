"""JupyterHub configuration of Trường Số: settings in, apply_* out. Keep it this thin.

`truongso up` runs JupyterHub in the data directory with this file; settings come from
`run/settings.json` there. Files in `<data_dir>/jupyterhub_config.d/*.py` are loaded last (escape hatch).
"""

from pathlib import Path

from hub.configure import apply_all
from hub.keys import HubSecrets
from hub.settings import HubSettings

c = get_config()  # noqa: F821
settings = HubSettings.from_run_file(Path.cwd())
apply_all(settings, HubSecrets.ensure(settings.data_path), c)

for extra in sorted((settings.data_path / "jupyterhub_config.d").glob("*.py")):
    load_subconfig(str(extra))  # noqa: F821
