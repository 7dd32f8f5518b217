#!/usr/bin/env bash
# Fail early, naming the fix, when Docker is missing or its daemon is down.
set -uo pipefail
if ! command -v docker >/dev/null 2>&1; then
  echo "Docker is not installed. On Debian/Ubuntu: sudo apt-get install -y docker.io" >&2
  exit 1
fi
if ! out=$(docker info --format '{{.ServerVersion}}' 2>&1); then
  echo "The Docker daemon is not reachable ($out)." >&2
  echo "Start it: 'sudo systemctl start docker', 'sudo service docker start', or 'sudo dockerd &' where there is no init system." >&2
  exit 1
fi
