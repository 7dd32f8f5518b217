#!/usr/bin/env bash
# make k8s-up: a local Kubernetes cluster named $K8S_CLUSTER (default corral) with
# kind, or k3d when kind is not installed. Idempotent: an existing cluster is reused.
set -euo pipefail
CLUSTER=${K8S_CLUSTER:-corral}

if command -v kind >/dev/null 2>&1; then
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    echo "k8s-up: kind cluster $CLUSTER exists"
  else
    # kindnet enforces NetworkPolicy (kind >= 0.24), so the runner deny-all policy is live.
    kind create cluster --name "$CLUSTER" --wait 120s
  fi
  kubectl config use-context "kind-$CLUSTER" >/dev/null
elif command -v k3d >/dev/null 2>&1; then
  if k3d cluster list "$CLUSTER" >/dev/null 2>&1; then
    echo "k8s-up: k3d cluster $CLUSTER exists"
  else
    # k3s's built-in network policy controller enforces NetworkPolicy.
    k3d cluster create "$CLUSTER" --wait --timeout 180s \
      --k3s-arg "--disable=traefik@server:0" --k3s-arg "--disable=metrics-server@server:0"
  fi
  kubectl config use-context "k3d-$CLUSTER" >/dev/null
else
  cat >&2 <<'MSG'
k8s-up: neither kind nor k3d is installed. Install one of them, then run make k8s-up again:
  kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation  (needs Docker)
  k3d:  https://k3d.io/#installation                                    (needs Docker)
MSG
  exit 1
fi
echo "k8s-up: cluster $CLUSTER ready (context $(kubectl config current-context)); next: make helm-install"
