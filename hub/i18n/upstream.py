"""The upstream templates our translated copies follow, with the digest of the version translated.

A copy exists only where the words sit outside any Jinja block we could override. When the pinned JupyterHub
changes one of these files, tests/unit/test_i18n.py fails and names it: carry the change into our copy in
hub/auth/templates, then update the digest here.
"""

from __future__ import annotations

import sys
from pathlib import Path

# JupyterHub 5's share/jupyterhub/templates/<name>: sha256
JUPYTERHUB_TEMPLATES = {
    "404.html": "51c6d536817fb288c6dc1a092fad7e460bb736810bff0cce40ed1503376b73b6",
    "accept-share.html": "b401a2e38b329a53c68b70e3ae530106769f12ca4f09ab2a7e112b3a4d92f54e",
    "logout.html": "9366fbcecf7b8466e38cad3513857a8848ea3cee1f723ed65f056a359e3df173",
    "oauth.html": "346b0ea582dab2ede2a08d28ed28754b9d31ad922e4c860317334077de0011d0",
    "spawn.html": "4c31adff20afa915d8f3adf50b3f8dbda154bda3509d83cba95862b51e96761d",
    "stop_pending.html": "42b845ad37de7b6498c5ca3cb514bb8a28b7ab2fbd82ca4fda1edc14b36efa10",
    "token.html": "9b6e304b23efb360bf3d987edfc639292f87cadf2ebc20c8907e7ae7dc4535b0",
}


def jupyterhub_templates() -> Path:
    """The installed JupyterHub's own templates (JupyterHub's default template path)."""
    return Path(sys.prefix) / "share" / "jupyterhub" / "templates"
