"""`truongso bundle`: the offline install archive for a school on a closed network (hub/offline)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "bundle", help="gói cài đặt không cần mạng / write the offline install bundle (no registry needed to install)"
    )
    p.add_argument(
        "--output", type=Path, help="tệp sẽ ghi / archive to write (default: ./truongso-<version>-offline.tar)"
    )
    p.add_argument(
        "--no-images",
        action="store_true",
        help="không kèm image Docker (máy đích tự xây) / leave the Docker images out (the target builds them)",
    )
    p.add_argument(
        "--cluster",
        action="store_true",
        help="kèm image gateway và registry của cụm Swarm / add a Swarm cluster's gateway and registry images",
    )
    p.set_defaults(run=run_bundle)


def run_bundle(args: argparse.Namespace) -> int:
    from hub.offline.bundle import REPO, bundle_version, write_bundle

    output = args.output or Path(f"truongso-{bundle_version(REPO)}-offline.tar")
    from graders.text import UserError

    if args.no_images and args.cluster:
        raise UserError("--cluster cần các image (bỏ --no-images)", "--cluster needs the images (drop --no-images)")
    bundle = write_bundle(
        output, images=not args.no_images, cluster=args.cluster, progress=lambda line: print(line, flush=True)
    )
    print(f"Đã ghi / written: {bundle.archive} ({bundle.size / 1e9:.2f} GB)")
    print("  " + ", ".join(f"{part}: {count}" for part, count in bundle.parts.items()))
    print(f"  SHA-256: {bundle.digest} ({bundle.checksum_file.name})")
    print("Trên máy không có mạng / on the closed machine:")
    print(f"  sha256sum -c {bundle.checksum_file.name} && tar xf {bundle.archive.name}")
    print(f"  bash {bundle.top}/scripts/offline-install.sh")
    return 0
