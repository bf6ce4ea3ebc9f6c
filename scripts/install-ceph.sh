#!/usr/bin/env bash
# Installs the Debian packages scripts/ceph-dev.sh needs (a mon, a memstore/bluestore OSD and RGW),
# only when radosgw is missing. For CI images and fresh machines; needs root (or sudo).
set -euo pipefail

if command -v radosgw >/dev/null 2>&1 && command -v ceph-mon >/dev/null 2>&1 &&
  command -v ceph-osd >/dev/null 2>&1 && command -v ceph >/dev/null 2>&1; then
  echo "install-ceph: ceph-mon, ceph-osd, radosgw and ceph-common are already installed" >&2
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-ceph: need root or sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
