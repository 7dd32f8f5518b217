#!/usr/bin/env bash
# Package one venv release on the controller: src/ (app, runner, datasets) and
# wheels/ (the pinned [server] wheelhouse). The tar is byte-for-byte reproducible
# (sorted, fixed mtime and owners), so an unchanged tree gives the same checksum,
# the copy to the target is skipped and the release name stays the same.
#   make-bundle.sh REPO_DIR OUT_DIR   -> prints {"path": ..., "version": ...}
set -euo pipefail
repo="$1"
out="$2"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/src" "$stage/wheels"
sources=()
for p in app runner datasets alembic alembic.ini pyproject.toml; do
  [[ -e "$repo/$p" ]] && sources+=("$p")
done
tar -C "$repo" --exclude=__pycache__ --exclude='*.pyc' -cf - "${sources[@]}" | tar -C "$stage/src" -xf -
cp -l "$repo"/build/wheels/server/*.whl "$stage/wheels/" 2>/dev/null \
  || cp "$repo"/build/wheels/server/*.whl "$stage/wheels/"
cp "$repo/build/wheels/server/requirements.txt" "$stage/wheels/"

tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -cf "$out/corral-release.tar.new" src wheels
if cmp -s "$out/corral-release.tar.new" "$out/corral-release.tar"; then
  rm "$out/corral-release.tar.new"
else
  mv "$out/corral-release.tar.new" "$out/corral-release.tar"
fi
hash="$(sha256sum "$out/corral-release.tar" | cut -c1-12)"
version="$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$repo/pyproject.toml")"
printf '{"path": "%s", "version": "%s-%s"}\n' "$out/corral-release.tar" "$version" "$hash"
