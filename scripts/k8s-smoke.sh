#!/usr/bin/env bash
# make k8s-smoke: port-forward to the installed release and run queries through the
# API; each one is a Kubernetes Job. Passes when the tables come back.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(scripts/k8s-tools.sh)
export PATH="$BIN:$PATH"
NS=${K8S_NAMESPACE:-corral}
RELEASE=${HELM_RELEASE:-corral}
PY=${PY:-.venv/bin/python}
svc=$(kubectl -n "$NS" get svc -l app.kubernetes.io/instance="$RELEASE",app.kubernetes.io/component=ui -o name | head -1)
[[ -n $svc ]] || { echo "k8s-smoke: no ui Service for release $RELEASE in $NS; run make helm-install" >&2; exit 1; }

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
kubectl -n "$NS" port-forward --address 127.0.0.1 "$svc" "$port:http" >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 30); do curl -fsS "$url/" >/dev/null 2>&1 && break; sleep 1; done

"$PY" - "$url" <<'PYEOF'
import json, sys, urllib.request
url = sys.argv[1]
req = urllib.request.Request(url + "/api/query", json.dumps(
    {"language": "sql", "code": "SELECT 42 AS answer"}).encode(), {"Content-Type": "application/json"})
run = json.load(urllib.request.urlopen(req, timeout=180))
if run.get("status") != "ok" or run.get("rows") != [[42]]:
    sys.exit(f"k8s-smoke: a query through a runner Job failed: {json.dumps(run)[:500]}")
print("k8s-smoke: SELECT 42 ran in a Kubernetes Job:", run["rows"])
PYEOF
# The three canonical questions, when the smoke script is there.
if [[ -f scripts/smoke.py ]]; then "$PY" scripts/smoke.py --url "$url"; fi
echo "k8s-smoke: OK"
