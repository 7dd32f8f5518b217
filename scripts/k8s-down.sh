#!/usr/bin/env bash
# make k8s-down: stop what make k8s-up started. The project's own cluster is stopped and its
# state removed (its build cache is kept); a kind/k3d cluster named $K8S_CLUSTER is deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER=${K8S_CLUSTER:-corral}
PROVIDER=${K8S_PROVIDER:-}
if [[ -z $PROVIDER || $PROVIDER == testcluster ]] && [[ -f /run/corral-testcluster.owner || -d build/testcluster/run ]]; then
  scripts/testcluster.sh down
elif [[ -z $PROVIDER || $PROVIDER == kind ]] && command -v kind >/dev/null 2>&1 && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
elif [[ -z $PROVIDER || $PROVIDER == k3d ]] && command -v k3d >/dev/null 2>&1 && k3d cluster list "$CLUSTER" >/dev/null 2>&1; then
  k3d cluster delete "$CLUSTER"
else
  echo "k8s-down: no cluster of make k8s-up is running"
fi
