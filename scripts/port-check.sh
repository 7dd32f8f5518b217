#!/usr/bin/env bash
# Fail with the fix when a TCP port on this host is already taken by something
# other than Corral's own container (which `docker compose up` would reuse).
#   scripts/port-check.sh PORT [OWN_CONTAINER]
set -euo pipefail
port="$1"; own="${2:-}"
if [[ -n "$own" ]] && docker ps --format '{{.Names}}' 2>/dev/null | grep -qx "$own"; then exit 0; fi
if python3 - "$port" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)   # taken
sys.exit(1)       # free
PY
then
  echo "Port $port is already in use. Stop what listens there ('ss -ltnp | grep :$port') or pick another: make dev UI_PORT=8081" >&2
  exit 1
fi
