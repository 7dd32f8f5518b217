#!/usr/bin/env bash
# An API token for the release's automation user, kept in the Secret
# <fullname>-automation-token (key "token") that `helm test` mounts and make k8s-smoke reads.
# The token is made by the agent's own CLI in the agent pod (`corral tokens create`, same
# database as the server), for an analyst user created on first use, query scope, expiring
# after TOKEN_DAYS. It goes from the pod's stdout straight into the Secret: never an argument,
# never printed. Run after make helm-install, and again whenever the token stops working
# (a pod without persistence forgets its users when it restarts).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(scripts/k8s-tools.sh)
export PATH="$BIN:$PATH"
NS=${K8S_NAMESPACE:-corral}
RELEASE=${HELM_RELEASE:-corral}
USER_NAME=${CORRAL_AUTOMATION_USER:-corral-automation}
DAYS=${TOKEN_DAYS:-30}

deploy=$(kubectl -n "$NS" get deploy -l app.kubernetes.io/instance="$RELEASE",app.kubernetes.io/component=agent-server -o name | head -1)
[[ -n $deploy ]] || { echo "k8s-token: no agent-server Deployment for release $RELEASE in $NS; run make helm-install" >&2; exit 1; }
secret="${deploy#deployment.apps/}"
secret="${secret%-agent-server}-automation-token"

cli() { kubectl -n "$NS" exec -i "$deploy" -c agent-server -- python3 -m app.cli "$@"; }

if ! cli users list | grep -qE "(^|[[:space:]])${USER_NAME//./\\.}([[:space:]]|$)"; then
  # A random password nobody keeps: this user signs in with tokens only.
  head -c 30 /dev/urandom | base64 | cli users add "$USER_NAME" --role analyst --password-stdin >/dev/null
fi
cli tokens create --user "$USER_NAME" --scope query --expires-days "$DAYS" --name "k8s automation" \
  | tr -d '\n' \
  | kubectl -n "$NS" create secret generic "$secret" --from-file=token=/dev/stdin --dry-run=client -o yaml \
  | kubectl -n "$NS" apply -f - >/dev/null
echo "k8s-token: Secret $secret holds a token for $USER_NAME (query scope, $DAYS days)" >&2
