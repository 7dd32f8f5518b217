#!/usr/bin/env bash
# make release TAG=... REGISTRY=...: build the three images, push them as
# $REGISTRY/{runner,agent-server,ui}:$TAG, print the helm command with their digests.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TAG:?make release needs TAG=..., e.g. make release TAG=0.1.0 REGISTRY=registry.example.com/acme/corral}"
if [[ -z ${REGISTRY:-} ]]; then
  echo "release: REGISTRY is empty; give the registry path to push to, e.g. REGISTRY=registry.example.com/acme/corral (log in first: docker login registry.example.com)" >&2
  exit 1
fi
REGISTRY=${REGISTRY%/}
declare -A digest
for name in runner agent-server ui; do
  docker tag "corral/$name:$TAG" "$REGISTRY/$name:$TAG"
  docker push "$REGISTRY/$name:$TAG"
  digest[$name]=$(docker inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REGISTRY/$name:$TAG" \
    | grep "^$REGISTRY/$name@" | head -1 | cut -d@ -f2)
done
cat <<MSG

release: pushed $REGISTRY/{runner,agent-server,ui}:$TAG. Install it with:

  helm upgrade --install corral charts/corral -n corral --create-namespace --wait \\
    --set images.runner.repository=$REGISTRY/runner,images.runner.tag=$TAG,images.runner.digest=${digest[runner]} \\
    --set images.agentServer.repository=$REGISTRY/agent-server,images.agentServer.tag=$TAG,images.agentServer.digest=${digest[agent-server]} \\
    --set images.ui.repository=$REGISTRY/ui,images.ui.tag=$TAG,images.ui.digest=${digest[ui]} \\
    --set ingress.host=corral.example.com --set ingress.tls.enabled=true --set ingress.tls.certManagerIssuer=letsencrypt-prod
MSG
