#!/usr/bin/env bash
# Build the test cluster (tools/testcluster) into build/testcluster/bin, once per source change.
#
# Go's build and module caches stay in the user's default cache folders, so a rebuild on the
# same machine only relinks; a stamp of the sources makes a warm run skip the build entirely.
# Prints the build time (seconds) as JSON when it builds.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${TESTCLUSTER_DIR:-$PWD/build/testcluster}
SRC=tools/testcluster
K8S_VERSION=v1.36.3
SYSTEM_IMAGE=corral/testcluster-system:v1
export PATH=$PATH:/usr/local/go/bin
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
command -v go >/dev/null || { echo "testcluster-build: Go is missing (Go >= 1.26: https://go.dev/dl, or /usr/local/go)" >&2; exit 1; }
command -v docker >/dev/null || { echo "testcluster-build: docker is needed to package the cluster's system image" >&2; exit 1; }

mkdir -p "$DIR/bin"
# One build at a time (CI starts one early in the background; the test fixture waits for it).
exec 9>"$DIR/bin/.lock"
flock 9
stamp=$( (go version; find "$SRC" -type f | sort | xargs sha256sum) | sha256sum | cut -c1-16)
if [[ -f $DIR/bin/.stamp && $(cat "$DIR/bin/.stamp") == "$stamp" && -x $DIR/bin/testcluster ]] &&
   docker image inspect "$SYSTEM_IMAGE" >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$DIR/bin"
start=$(date +%s)
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=36 -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
done
echo "testcluster-build: building Kubernetes $K8S_VERSION components (cold: several minutes; cached after)" >&2
(cd "$SRC" && go build -trimpath -ldflags "$ld" -o "$DIR/bin/testcluster" .)
(cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$DIR/bin/systemimage" ./systemimage)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$DIR/bin/systemimage" "$ctx/" && cp "$SRC/systemimage.Dockerfile" "$ctx/Dockerfile"
docker build -q -t "$SYSTEM_IMAGE" "$ctx" >/dev/null
docker save -o "$DIR/bin/systemimage.tar" "$SYSTEM_IMAGE"
echo "$stamp" >"$DIR/bin/.stamp"
printf '{"testcluster_build_s": %d}\n' $(($(date +%s) - start)) | tee "$DIR/bin/build-time.json" >&2
