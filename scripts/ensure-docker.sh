#!/usr/bin/env bash
# Start a Docker engine when none answers (root on Debian: dockerd from docker.io). Safe to repeat.
# Exit 0 when an engine answers; non-zero (with one line) when it cannot be started.
set -uo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then
  echo "Không có Docker engine / no Docker engine answers (and this user cannot start dockerd)" >&2
  exit 1
fi
log=/var/log/truongso-dockerd.log
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  systemctl start docker >/dev/null 2>&1 || true
fi
if ! docker info >/dev/null 2>&1; then
  nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "Docker engine không khởi động được / dockerd did not start; see $log" >&2
tail -5 "$log" >&2 || true
exit 1
