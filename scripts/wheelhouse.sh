#!/usr/bin/env bash
# Download the wheels an image installs, on the host, so `docker build` needs no
# network and no TLS trust of its own:  scripts/wheelhouse.sh GROUP  (runner | server)
#
# Wheels are for the images' Python (Debian 12: CPython 3.11) and this machine's
# architecture, whatever Python the host runs. They land in build/wheels/GROUP/
# with a requirements.txt the Dockerfile installs from, offline.
set -euo pipefail
group="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/build/wheels/$group"
py="${PYTHON:-$here/.venv/bin/python}"
[[ -x "$py" ]] || py=python3

mkdir -p "$out"
"$py" "$here/scripts/requirements.py" "$group" > "$out/requirements.txt.new"
if cmp -s "$out/requirements.txt.new" "$out/requirements.txt" && [[ -f "$out/.complete" ]]; then
  rm "$out/requirements.txt.new"
  echo "wheelhouse $group: up to date"
  exit 0
fi
mv "$out/requirements.txt.new" "$out/requirements.txt"
rm -f "$out/.complete"

arch="$(uname -m)"
"$py" -m pip download --quiet --disable-pip-version-check \
  --dest "$out" --only-binary=:all: \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform "manylinux_2_28_${arch}" --platform "manylinux_2_17_${arch}" \
  --platform "manylinux2014_${arch}" --platform any \
  -r "$out/requirements.txt"
touch "$out/.complete"
echo "wheelhouse $group: $(ls "$out"/*.whl | wc -l) wheels"
