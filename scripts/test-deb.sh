#!/usr/bin/env bash
# The Debian package, tested as a user gets it: `cpack -G DEB` in build/, a clean Debian 12 made with
# debootstrap (cached in build/deb-root.tar, made once), `apt-get install ./signsweep_*.deb` in it (which must
# pull every dependency from Debian), then the installed quickstart sweep and its report in the chroot.
# As root, with network access to a Debian mirror; about 10 minutes the first time.
#   bash scripts/test-deb.sh
set -euo pipefail
main() {
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "test-deb: run as root (debootstrap and chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
bash scripts/setup.sh
cmake --workflow --preset default
(cd build && cpack -G DEB >/dev/null)
local deb
deb=$(ls -t build/signsweep_*.deb | head -1)
echo "test-deb: $deb depends on: $(dpkg-deb -f "$deb" Depends)"

local root=build/deb-root
rm -rf "$root"
if [[ -f build/deb-root.tar ]]; then
  mkdir -p "$root" && tar xf build/deb-root.tar -C "$root"
else
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
  tar cf build/deb-root.tar -C "$root" .
fi
cp "$deb" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
trap "umount '$root/proc' 2>/dev/null || true" EXIT  # expanded now: root is local to main
chroot "$root" /bin/bash -euo pipefail -c "
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq /tmp/$(basename "$deb") dataset-fashion-mnist >/dev/null
  cd /tmp
  signsweep --version | grep '^data '
  signsweep run /usr/share/signsweep/experiments/quickstart-sweep.yaml --out /tmp/quickstart >/tmp/run.txt 2>&1
  grep -E '^(done|failed) ' /tmp/run.txt
  signsweep report /tmp/quickstart --plots /tmp/quickstart-report | tail -1
"
echo "test-deb: PASS (the package installed on a clean Debian 12 and ran the quickstart sweep)"
}
main "$@"
