#!/usr/bin/env bash
# Print an image's size in MB, for the build log and the bench report.
set -euo pipefail
bytes=$(docker image inspect --format '{{.Size}}' "$1")
echo "image $1: $((bytes / 1000000)) MB"
