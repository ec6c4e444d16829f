"""`truongso kubernetes values|manifests`: this hub's settings as Zero to JupyterHub Helm values and the Kubernetes
objects of our own services (hub.kubernetes.values). On paper: never tested against a cluster (docs/kubernetes.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from graders.text import UserError
from hub.cli.common import add_action, add_verb, load_settings

HEADER = (
    "# {what}, rendered by `truongso {action}` from {data_dir}.\n"
    "# CHƯA được thử trên một cụm Kubernetes thật / NOT tested against a Kubernetes cluster: see docs/kubernetes.md.\n"
)


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "kubernetes", "Kubernetes (Zero to JupyterHub), trên giấy / on paper")
    p = add_action(sub, "values", "giá trị Helm cho Zero to JupyterHub / Zero to JupyterHub Helm values", run_values)
    image = p.add_mutually_exclusive_group()
    image.add_argument("--image", help="image workspace cần chạy / the workspace image to run (e.g. reg/ws@sha256:…)")
    image.add_argument(
        "--pinned",
        action="store_true",
        help="image workspace đã ghim trong registry của cụm / the workspace image pinned in the cluster's registry",
    )
    p.add_argument(
        "--with-secrets",
        action="store_true",
        help="kèm cookie secret, token proxy và token CLI của hub này (giữ phiên đăng nhập khi chuyển) / "
        "include this hub's cookie secret, proxy and CLI tokens (logins survive the move)",
    )
    _add_output(p)
    p = add_action(
        sub,
        "manifests",
        "Deployment/Service/NetworkPolicy của exchange, portal, certificates / our services' Kubernetes objects",
        run_manifests,
    )
    _add_output(p)


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", type=Path, help="ghi ra tệp (quyền 0600) thay vì in ra / write to FILE (mode 0600) instead"
    )


def run_values(args: argparse.Namespace) -> int:
    from hub.kubernetes.values import render_values, to_yaml, validate_values

    settings = load_settings(args.data_dir)
    ref = args.image
    if args.pinned:
        from hub.cluster.registry import pinned_image

        ref = pinned_image(settings, "workspace")
    secrets = None
    if args.with_secrets:
        from hub.cli.common import existing_data_dir
        from hub.keys import HubSecrets

        secrets = HubSecrets.ensure(existing_data_dir(args.data_dir.absolute()))
    values = render_values(settings, secrets, workspace_ref=ref)
    validate_values(values)  # our renderer drifting from the chart's schema is a bug: say so, print nothing
    header = HEADER.format(what="Zero to JupyterHub values", action="kubernetes values", data_dir=settings.data_path)
    _emit(header + to_yaml([values]), args.output)
    return 0


def run_manifests(args: argparse.Namespace) -> int:
    from hub.kubernetes.values import extra_manifests, to_yaml

    settings = load_settings(args.data_dir)
    header = HEADER.format(what="Trường Số services", action="kubernetes manifests", data_dir=settings.data_path)
    _emit(header + to_yaml(extra_manifests(settings)), args.output)
    return 0


def _emit(text: str, output: Path | None) -> None:
    """Print, or write a file only its owner reads: the text holds database URLs and, asked for, secrets."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise UserError(f"không ghi được {output}: {exc.strerror}", f"cannot write {output}: {exc.strerror}") from None
    print(f"Đã ghi / written: {output}", file=sys.stderr)
