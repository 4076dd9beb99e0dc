#!/usr/bin/env bash
# Installs the minimal Debian packages needed for a local, single-node Ceph
# radosgw (S3-compatible) test server: a monitor, one memstore OSD, radosgw.
# Idempotent: exits quickly when everything is already there.
set -euo pipefail

PACKAGES=(ceph-mon ceph-osd radosgw curl)
BINARIES=(ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool ceph curl)

missing=0
for b in "${BINARIES[@]}"; do
  command -v "$b" >/dev/null 2>&1 || { missing=1; break; }
done
if [ "$missing" = 0 ]; then
  echo "install.sh: ceph radosgw already installed ($(ceph-mon --version 2>/dev/null | awk '{print $3}'))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install.sh: must run as root (or have sudo)" >&2; exit 1; }
  SUDO="sudo"
fi

start=$(date +%s)
echo "install.sh: installing ${PACKAGES[*]} ..."
# Lock timeout: wait (instead of failing at once) if another apt/dpkg run holds the lock.
APT_OPTS=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${APT_OPTS[@]}" update -qq
# ceph-osd/ceph-base pull in ~60 packages (lvm2, sudo, python3-ceph, ...); recommends are not needed.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
  "${PACKAGES[@]}" >/dev/null
for b in "${BINARIES[@]}"; do
  command -v "$b" >/dev/null 2>&1 || { echo "install.sh: $b still missing after install" >&2; exit 1; }
done
echo "install.sh: done in $(( $(date +%s) - start ))s"
