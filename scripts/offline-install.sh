#!/usr/bin/env bash
# Install and run Trường Số from an offline bundle (`truongso bundle`, hub/offline) with no registry at all:
#   1. check every file against SHA256SUMS, and that offline/ and the image wheels hold nothing unlisted
#      (pip would prefer a planted wheel); a damaged or partial bundle installs nothing;
#   2. install the Debian packages this machine lacks from offline/debs (make, Docker, Node.js…);
#   3. load the images from offline/images.tar into the Docker engine when it lacks them;
#   4. `make run` (the Makefile sends pip and npm to offline/). `--check` stops after step 1.
# Arguments after --check (or all of them without it) go to make, e.g. PORT=8080.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f SHA256SUMS ] || [ ! -f offline/MANIFEST.json ]; then
  echo "Đây không phải gói cài đặt offline / this is not an offline bundle (no SHA256SUMS, offline/MANIFEST.json)" >&2
  exit 1
fi
echo "Kiểm tra từng tệp / checking every file of the bundle…"
damaged=$(sha256sum --quiet --strict -c SHA256SUMS 2>&1 || true)
unlisted=$(comm -13 <(cut -c67- SHA256SUMS | grep -E '^(offline|build/images/wheels)/' | sort) \
                    <(find offline build/images/wheels -type f | sort))
if [ -n "$damaged" ] || [ -n "$unlisted" ]; then
  {
    echo "Gói cài đặt bị hỏng, thiếu hoặc thừa tệp; chưa cài gì / the bundle is damaged, incomplete or has files it"
    echo "should not; nothing was installed:"
    printf '%s\n' "$damaged" "${unlisted:+unlisted: $unlisted}" | sed '/^$/d' | head -20
  } >&2
  exit 1
fi
if [ "${1:-}" = --check ]; then
  echo "Gói cài đặt nguyên vẹn / the bundle is complete and intact"
  exit 0
fi
TRUONGSO_OFFLINE_DIR="$PWD/offline" bash scripts/ensure-system.sh run
if [ -f offline/images.tar ]; then
  bash scripts/ensure-docker.sh
  missing=$(python3 -c 'import json; print(" ".join(json.load(open("offline/MANIFEST.json"))["images"]))' |
    xargs -rn1 sh -c 'docker image inspect "$0" >/dev/null 2>&1 || echo "$0"')
  if [ -n "$missing" ]; then
    echo "Nạp image / loading the images: $missing"
    docker load --quiet --input offline/images.tar
  fi
fi
exec make run "$@"
