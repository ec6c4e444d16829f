"""`truongso images build`: the workspace and grader images, built with no registry (images.build)."""

from __future__ import annotations

import argparse

from graders.text import UserError
from hub.cli.common import add_action, add_verb
from hub.engine import connect_docker


def register(verbs: argparse._SubParsersAction) -> None:
    sub = add_verb(verbs, "images", "image Docker / Docker images")
    p = add_action(
        sub,
        "build",
        "xây dựng image (không cần registry) / build the images (no registry needed)",
        run_build,
        data_dir=False,
    )
    p.add_argument("--base", help="image nền có sẵn / an existing local base image (default: made with debootstrap)")
    p.add_argument("--only", choices=["workspace", "grader"], help="chỉ một image / only this image")
    p = add_action(
        sub,
        "push",
        "đẩy image lên registry riêng của cụm, ghim digest / push to the cluster's private registry, pin digests",
        run_push,
    )
    p.add_argument("--registry", metavar="HOST:PORT", help="registry (default: setting [cluster] registry)")
    p.add_argument(
        "--only", choices=["workspace", "grader", "gateway"], action="append", help="chỉ image này / only this one"
    )


def run_build(args: argparse.Namespace) -> int:
    from hub.cli.progress import step_status
    from images.build import IMAGE_NAMES, ImageBuildError, build_images

    which = (args.only,) if args.only else IMAGE_NAMES
    try:
        with step_status("Xây dựng image / building images") as on_step:
            report = build_images(
                base=args.base, which=which, progress=lambda line: print(line, flush=True), on_step=on_step
            )
    except ImageBuildError as exc:
        raise UserError(f"không xây dựng được image: {exc}", f"cannot build the images: {exc}") from None
    print(report.summary())
    state = "tất cả dùng lại / everything reused" if report.all_reused else "xong / done"
    print(f"Image: {', '.join(report.images.values())} — {state}")
    return 0


def run_push(args: argparse.Namespace) -> int:
    from hub.cli.common import load_settings
    from hub.cluster.registry import PINNED_FILE, PUSHED_IMAGES, push_images

    settings = load_settings(args.data_dir, {"registry": args.registry} if args.registry else None)
    client = connect_docker(600)
    pinned = push_images(settings, client, tuple(args.only or PUSHED_IMAGES), progress=print)
    for name, ref in pinned.items():
        print(f"{name}: {ref}")
    print(f"Đã ghi / recorded: {settings.data_path / PINNED_FILE}")
    return 0
