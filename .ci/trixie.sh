#!/usr/bin/env bash
# Builds the project and runs its engine and gst suites on Debian 13
# (trixie, GStreamer 1.26) inside a debootstrap chroot, so that CI on a
# Debian 12 machine also covers GStreamer >= 1.24 (GstAnalytics metas).
#
#   .ci/trixie.sh            build/refresh the chroot, then test
#   .ci/trixie.sh --prepare  only build/refresh the chroot
#   .ci/trixie.sh --shell    a shell in the chroot, the source at /src
#   .ci/trixie.sh -- CMD...  run CMD in the chroot (in /src)
#
# The chroot is cached in $MOBILEONE_TRIXIE_ROOT (default
# /var/cache/mobileone-trixie) and rebuilt when .ci/trixie-packages or this
# script's setup changes. The mirror is the host's own Debian mirror, read
# from its apt sources ($MOBILEONE_DEBIAN_MIRROR overrides it). Needs root and
# debootstrap; without them, or without the mirror, it prints a SKIP line and
# exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
root=${MOBILEONE_TRIXIE_ROOT:-/var/cache/mobileone-trixie}
suite=trixie

skip() {
  echo "SKIP trixie: $*"
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (apt-get install debootstrap)"
[ -e /usr/share/debootstrap/scripts/$suite ] || skip "this debootstrap does not know $suite"

# The host's Debian mirror: the first apt source that serves the host's own
# release (deb822 .sources or one-line .list).
host_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 0
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] || continue
      awk -v c="$codename" '
        /^[ \t]*$/ { if (u != "" && s) { print u; done = 1; exit } u = ""; s = 0; next }
        tolower($1) == "uris:" { u = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == c) s = 1 }
        END { if (!done && u != "" && s) print u }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed 's/\[[^]]*\]//' |
      awk -v c="$codename" '$1 == "deb" && $3 == c { print $2 }'
  } | head -n 1
}

mirror=${MOBILEONE_DEBIAN_MIRROR:-$(host_mirror || true)}
[ -n "$mirror" ] || skip "no Debian mirror in the host's apt sources (set MOBILEONE_DEBIAN_MIRROR)"

mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[i]}" 2>/dev/null || true
  done
  mounts=()
}
trap cleanup EXIT INT TERM HUP PIPE

mount_in() {
  # mount_in OPTIONS SOURCE TARGET-IN-CHROOT
  mkdir -p "$root$3"
  mount $1 "$2" "$root$3"
  mounts+=("$root$3")
}

# Nothing may be mounted under the chroot before it is deleted.
safe_remove() {
  local d=$1
  if awk -v d="$(realpath -m "$d")/" 'index($2 "/", d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "trixie: $d still has mounts; not removing it" >&2
    exit 1
  fi
  rm -rf --one-file-system "$d"
}

# libgstreamer-plugins-bad1.0-dev (libgstanalytics's headers and .pc) depends
# on libopencv-dev, a few hundred packages that were most of the chroot's
# size and time: its files are unpacked (dpkg-deb -x), not installed.
unpack_only=libgstreamer-plugins-bad1.0-dev

stamp=$( (cat .ci/trixie-packages; echo "$suite minbase unpack:$unpack_only v2") |
  sha256sum | cut -d' ' -f1)

prepare() {
  if [ -f "$root/.mobileone-stamp" ] && [ "$(cat "$root/.mobileone-stamp")" = "$stamp" ]; then
    return 0
  fi
  local new=$root.new t0=$SECONDS
  echo "trixie: building the chroot in $root from $mirror (a few minutes)"
  mkdir -p "$(dirname "$root")"
  [ -e "$new" ] && safe_remove "$new"
  if ! debootstrap --variant=minbase "$suite" "$new" "$mirror" >"$new.log" 2>&1; then
    if grep -q -i -E "resolve|connect|download|release" "$new.log"; then
      tail -n 5 "$new.log" >&2
      safe_remove "$new"
      rm -f "$new.log"
      skip "debootstrap could not fetch $suite from $mirror (see above)"
    fi
    tail -n 30 "$new.log" >&2
    exit 1
  fi
  cp /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null || true
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod +x "$new/usr/sbin/policy-rc.d"
  local save=$root
  root=$new
  mount_in "-t proc" proc /proc
  chroot "$new" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  chroot "$new" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    -o Dpkg::Options::=--force-unsafe-io \
    --no-install-recommends $(cat .ci/trixie-packages) >"$new.log" 2>&1 ||
    { tail -n 30 "$new.log" >&2; exit 1; }
  chroot "$new" sh -c "cd /var/cache/apt/archives && apt-get download -qq $unpack_only &&
    for d in ${unpack_only// /_*.deb }_*.deb; do dpkg-deb -x \$d /; done" >>"$new.log" 2>&1 ||
    { tail -n 30 "$new.log" >&2; exit 1; }
  chroot "$new" apt-get clean
  cleanup
  root=$save
  echo "$stamp" >"$new/.mobileone-stamp"
  [ -e "$root" ] && safe_remove "$root"
  mv "$new" "$root"
  rm -f "$new.log"
  echo "trixie: chroot ready in $((SECONDS - t0)) s"
}

enter() {
  mount_in "-t proc" proc /proc
  mount_in "--bind" /dev /dev
  mount_in "-o bind,ro" "$src" /src
  # ../shared (Apple's weights, COCO pictures), where the tests look for it.
  if [ -d "$src/../shared" ]; then
    mount_in "-o bind,ro" "$(realpath "$src/../shared")" /shared
  fi
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    ${CK_TIMEOUT_MULTIPLIER:+CK_TIMEOUT_MULTIPLIER=$CK_TIMEOUT_MULTIPLIER} \
    sh -c 'cd /src && exec "$@"' sh "$@"
}

# One user of the chroot at a time (CI jobs on the same machine).
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

case "${1:-}" in
  --prepare) prepare ;;
  --shell) prepare; enter bash ;;
  --) shift; prepare; enter "$@" ;;
  "")
    t0=$SECONDS
    prepare
    status=0
    enter sh -c 'rm -rf /tmp/build && meson setup /tmp/build /src >/tmp/setup.log 2>&1 ||
        { cat /tmp/setup.log; exit 1; }
      grep -E "gstreamer-1.0|gstreamer-analytics" /tmp/setup.log
      ninja -C /tmp/build >/tmp/ninja.log 2>&1 || { tail -n 40 /tmp/ninja.log; exit 1; }
      meson test -C /tmp/build --suite engine --suite gst --print-errorlogs --num-processes 2' \
      > >(tee "$root.summary.txt") || status=1
    wait
    # .ci/run restates the meson summary; a failed setup or build has none.
    [ $status = 0 ] || echo "FAIL trixie: the build or a test failed in the Debian 13 chroot (above)"
    echo "trixie: chroot, build and tests in $((SECONDS - t0)) s"
    exit $status
    ;;
  *) echo "usage: $0 [--prepare | --shell | -- CMD...]" >&2; exit 2 ;;
esac
