#!/usr/bin/env bash
# Print a fresh API token for the automation user of a running compose deployment (`make dev`
# or `make up` on this machine), creating the user first when it is missing. The user is an
# analyst and the token query-scoped and short-lived: enough for `make smoke` to ask and to
# delete its own conversations. Only the token goes to stdout.
#   COMPOSE_PROJECT=corral CORRAL_AUTOMATION_USER=corral-automation TOKEN_DAYS=1
set -euo pipefail
project=${COMPOSE_PROJECT:-corral}
user=${CORRAL_AUTOMATION_USER:-corral-automation}
days=${TOKEN_DAYS:-1}

cli() { docker compose -p "$project" exec -T agent-server python3 -m app.cli "$@"; }

users=$(cli users list) || {
  echo "automation-token: cannot run the agent's CLI in compose project '$project' (is it up? make dev / make up)" >&2
  exit 1
}
if ! grep -qE "(^|[[:space:]])${user//./\\.}([[:space:]]|$)" <<<"$users"; then
  # A random password nobody keeps: the user signs in with tokens only.
  head -c 30 /dev/urandom | base64 | cli users add "$user" --role analyst --password-stdin >/dev/null
fi
cli tokens create --user "$user" --scope query --expires-days "$days" --name "make smoke"
