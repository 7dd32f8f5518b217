#!/usr/bin/env bash
# Make sure the base image every Corral Dockerfile starts FROM exists locally,
# and print the name of the image to use on stdout (progress goes to stderr).
#
#   scripts/base-image.sh [IMAGE]      (default: $BASE_IMAGE or debian:bookworm-slim)
#
# 1. If IMAGE is already in the local engine: use it.
# 2. If IMAGE is a public image, try `docker pull` (people who are online).
# 3. Otherwise build a Debian 12 base with debootstrap (minbase + python3 + venv),
#    `docker import` it as corral/base:bookworm (or $LOCAL_IMAGE) and use that.
#    The Debian mirror is read from this host's apt sources, never hard-coded.
#
# With SYSTEMD=1 the rootfs also gets systemd (the Molecule platform image).
set -euo pipefail

requested="${1:-${BASE_IMAGE:-debian:bookworm-slim}}"
suite="${DEBIAN_SUITE:-bookworm}"
cache_dir="${CORRAL_CACHE_DIR:-${HOME}/.cache/corral}"

if docker image inspect "$requested" >/dev/null 2>&1; then
  echo "base image $requested: present" >&2
  echo "$requested"
  exit 0
fi

if [[ "$requested" != corral/* ]]; then
  if timeout 120 docker pull "$requested" >/dev/null 2>&1; then
    echo "base image $requested: pulled" >&2
    echo "$requested"
    exit 0
  fi
  echo "base image $requested: cannot be pulled; building a local Debian base with debootstrap" >&2
  image="${LOCAL_IMAGE:-corral/base:bookworm}"
else
  image="$requested"
fi

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image: present" >&2
  echo "$image"
  exit 0
fi

debian_mirror() {
  # deb822 sources first (Debian 12 default), then the one-line format.
  local uri
  uri=$(grep -hs -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{print $2}' | grep -v -E 'security' | head -n1 || true)
  if [[ -z "$uri" ]]; then
    uri=$(grep -hs -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
          | grep -v -E 'security' | awk '{for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' \
          | head -n1 || true)
  fi
  [[ -n "$uri" ]] || { echo "no Debian mirror found in /etc/apt/sources*; set DEBIAN_MIRROR" >&2; exit 1; }
  echo "$uri"
}

command -v debootstrap >/dev/null || {
  echo "debootstrap is not installed: apt-get install -y debootstrap" >&2; exit 1; }

mirror="${DEBIAN_MIRROR:-$(debian_mirror)}"
packages="python3,python3-venv,ca-certificates,tzdata"
if [[ "${SYSTEMD:-0}" == 1 ]]; then
  packages="$packages,systemd,systemd-sysv,dbus,sudo,iproute2,procps,python3-apt,gnupg,curl"
fi

# debootstrap is the slow part (~45 s); keep its tarball between runs.
mkdir -p "$cache_dir"
tarball="$cache_dir/rootfs-${suite}-$(echo "$packages" | sha256sum | cut -c1-12).tar"
if [[ ! -s "$tarball" ]]; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap $suite from $mirror ($packages)" >&2
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >/dev/null
  # Same mirror inside the image, so Dockerfiles can apt-get install over it.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" \
    > "$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi

change=(--change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]')
if [[ "${SYSTEMD:-0}" == 1 ]]; then
  change=(--change 'ENV container=docker' --change 'CMD ["/sbin/init"]')
fi
docker import "${change[@]}" "$tarball" "$image" >/dev/null
echo "base image $image: built from $tarball" >&2
echo "$image"
