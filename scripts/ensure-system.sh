#!/usr/bin/env bash
# Install the Debian packages Trường Số needs, when they are missing. Safe to repeat.
#   ensure-system.sh run    what `make run` needs (Docker engine, debootstrap for air-gapped images)
#   ensure-system.sh test   plus what the tests need (Chromium, PostgreSQL, PDF and QR tools, fonts, OpenLDAP)
set -euo pipefail
want=(python3-venv nodejs npm docker.io debootstrap fonts-dejavu-core fonts-noto-core)
if [ "${1:-run}" = test ]; then
  want+=(chromium postgresql poppler-utils zbar-tools slapd)  # slapd: a real LDAP server for ministry sign-in
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# node/npm may come from elsewhere (e.g. NodeSource): accept working commands.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Thiếu gói hệ thống / missing system packages: ${missing[*]} (cài bằng quyền root / install them as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "${TRUONGSO_OFFLINE_DIR:-}" ]; then
  # An offline bundle (truongso bundle): its debs/ hold these packages and everything they depend on; install
  # those this machine lacks or has older (a dependency may need the newer one: libssl3 for libssl-dev), with no
  # index and no mirror. (The test list is not in a bundle: run only.)
  debs=()
  for deb in "$TRUONGSO_OFFLINE_DIR"/debs/*.deb; do
    read -r pkg ver < <(dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb")
    have=$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null || true)
    if [[ "$have" == "install ok installed "* ]] && dpkg --compare-versions "${have##* }" ge "$ver"; then
      continue
    fi
    debs+=("$deb")
  done
  echo "Cài gói hệ thống từ gói offline / installing system packages from the offline bundle: ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
  exit 0
fi
echo "Cài gói hệ thống / installing system packages: ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
