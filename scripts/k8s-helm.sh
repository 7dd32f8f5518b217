#!/usr/bin/env bash
# make helm-install / helm-uninstall against the current kubectl context.
#   install: loads the locally built images into a kind/k3d cluster (nothing to pull),
#            then helm upgrade --install --wait with IfNotPresent pulls, no Ingress.
#   uninstall: helm uninstall, then removes runner Jobs left in the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(scripts/k8s-tools.sh)
export PATH="$BIN:$PATH"
ACTION=${1:?install or uninstall}
NS=${K8S_NAMESPACE:-corral}
RELEASE=${HELM_RELEASE:-corral}
TAG=${TAG:-latest}
CLUSTER=${K8S_CLUSTER:-corral}

kubectl version --request-timeout=5s >/dev/null 2>&1 || {
  echo "helm-$ACTION: no cluster answers on context '$(kubectl config current-context 2>/dev/null || echo none)'; run make k8s-up or set KUBECONFIG" >&2
  exit 1; }

if [[ $ACTION == uninstall ]]; then
  agent=$(kubectl -n "$NS" get deploy -l app.kubernetes.io/instance="$RELEASE",app.kubernetes.io/component=agent-server -o name 2>/dev/null | head -1)
  helm uninstall "$RELEASE" -n "$NS" --wait || true
  # Made by scripts/k8s-token.sh, not by the chart: its token died with the release's database.
  if [[ -n $agent ]]; then
    token_secret="${agent#deployment.apps/}"
    kubectl -n "$NS" delete secret "${token_secret%-agent-server}-automation-token" --ignore-not-found
  fi
  kubectl -n "$NS" delete jobs -l io.corral.sandbox=runner --ignore-not-found
  exit 0
fi

context=$(kubectl config current-context)
for image in "corral/runner:$TAG" "corral/agent-server:$TAG" "corral/ui:$TAG"; do
  case $context in
    kind-*) kind load docker-image "$image" --name "${context#kind-}" ;;
    k3d-*) k3d image import "$image" --cluster "${context#k3d-}" ;;
    corral-testcluster) scripts/testcluster.sh load "$image" ;;
    *) echo "helm-install: context $context is not kind/k3d/corral-testcluster: images must come from a registry (make release)";;
  esac
done

helm upgrade --install "$RELEASE" charts/corral -n "$NS" --create-namespace --wait --timeout 5m \
  --set ingress.enabled=false \
  --set-string images.runner.tag="$TAG",images.agentServer.tag="$TAG",images.ui.tag="$TAG" \
  --set images.runner.pullPolicy=IfNotPresent,images.agentServer.pullPolicy=IfNotPresent,images.ui.pullPolicy=IfNotPresent \
  ${HELM_VALUES:+-f "$HELM_VALUES"}
# Sign-in is required: the automation token helm test and make k8s-smoke send.
scripts/k8s-token.sh
echo "helm-install: done; next: make k8s-smoke (or helm test $RELEASE -n $NS)"
