#!/usr/bin/env bash
# make k8s-up: a local Kubernetes cluster named $K8S_CLUSTER (default corral) with kind,
# or k3d when kind is not installed, or else the project's own single-node cluster built
# from Go modules (tools/testcluster; needs root and Go). Idempotent: a running cluster is
# reused. K8S_PROVIDER=testcluster picks the project's cluster even when kind/k3d exist.
set -euo pipefail
CLUSTER=${K8S_CLUSTER:-corral}

PROVIDER=${K8S_PROVIDER:-}
if [[ -z $PROVIDER || $PROVIDER == kind ]] && command -v kind >/dev/null 2>&1; then
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    echo "k8s-up: kind cluster $CLUSTER exists"
  else
    # kindnet enforces NetworkPolicy (kind >= 0.24), so the runner deny-all policy is live.
    kind create cluster --name "$CLUSTER" --wait 120s
  fi
  kubectl config use-context "kind-$CLUSTER" >/dev/null
elif [[ -z $PROVIDER || $PROVIDER == k3d ]] && command -v k3d >/dev/null 2>&1; then
  if k3d cluster list "$CLUSTER" >/dev/null 2>&1; then
    echo "k8s-up: k3d cluster $CLUSTER exists"
  else
    # k3s's built-in network policy controller enforces NetworkPolicy.
    k3d cluster create "$CLUSTER" --wait --timeout 180s \
      --k3s-arg "--disable=traefik@server:0" --k3s-arg "--disable=metrics-server@server:0"
  fi
  kubectl config use-context "k3d-$CLUSTER" >/dev/null
else
  echo "k8s-up: neither kind nor k3d is installed: using the project's own cluster (tools/testcluster)"
  scripts/testcluster-build.sh
  scripts/testcluster.sh up
  kubeconfig=$(scripts/testcluster.sh kubeconfig)
  for image in "corral/runner:${TAG:-latest}" "corral/agent-server:${TAG:-latest}" "corral/ui:${TAG:-latest}"; do
    if docker image inspect "$image" >/dev/null 2>&1; then scripts/testcluster.sh load "$image"; fi
  done
  cat <<MSG
k8s-up: the project's cluster is ready (Kubernetes v1.36.3, one node). Use it with:
  export KUBECONFIG=$kubeconfig
  make helm-install && make k8s-smoke     # images are loaded into it, no registry needed
  make k8s-down                           # stop it and remove its state
MSG
  exit 0
fi
echo "k8s-up: cluster $CLUSTER ready (context $(kubectl config current-context)); next: make helm-install"
