#!/bin/sh
# Entrypoint of the dev container: let the developer reach the host's Docker
# engine through the mounted socket without root. The socket keeps the group id
# it has on the host (Debian: `docker`, often 999 or 111; Docker Desktop: 0), so
# the in-container `docker` group is given that id at start, then the command runs.
# The socket is root-equivalent on the host: whoever is in this container is.
set -eu
sock=/var/run/docker.sock
user="${DEVCONTAINER_USER:-dev}"
if [ -S "$sock" ]; then
  gid=$(stat -c %g "$sock")
  if [ "$gid" = 0 ]; then
    # root-owned socket (Docker Desktop): its group is root; join it.
    usermod -aG root "$user"
  elif existing=$(getent group "$gid" | cut -d: -f1) && [ -n "$existing" ]; then
    usermod -aG "$existing" "$user"
  else
    groupmod --gid "$gid" docker
  fi
else
  echo "devcontainer: no Docker socket at $sock; make dev/images need the host's engine" >&2
fi
exec "$@"
