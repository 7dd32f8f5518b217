#!/usr/bin/env bash
# make k8s-smoke: port-forward to the installed release and run queries through the
# API; each one is a Kubernetes Job. Passes when the tables come back. Signs in with the
# automation token in the Secret <fullname>-automation-token (scripts/k8s-token.sh makes a
# new one when it is missing or no longer accepted).
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

secret="${svc#service/}"
secret="${secret%-ui}-automation-token"
read_token() { kubectl -n "$NS" get secret "$secret" -o jsonpath='{.data.token}' 2>/dev/null | base64 -d; }
token_works() {
  [[ -n $CORRAL_TOKEN ]] && "$PY" -c 'import os, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/auth/me", headers={"Authorization": "Bearer " + os.environ["CORRAL_TOKEN"]})
urllib.request.urlopen(req, timeout=10)' "$url" 2>/dev/null
}
CORRAL_TOKEN=$(read_token || true)
export CORRAL_TOKEN
if ! token_works; then
  scripts/k8s-token.sh
  CORRAL_TOKEN=$(read_token)
fi

"$PY" - "$url" <<'PYEOF'
import json, os, sys, urllib.request
url = sys.argv[1]
req = urllib.request.Request(url + "/api/query", json.dumps(
    {"language": "sql", "code": "SELECT 42 AS answer"}).encode(),
    {"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["CORRAL_TOKEN"]})
run = json.load(urllib.request.urlopen(req, timeout=180))
if run.get("status") != "ok" or run.get("rows") != [[42]]:
    sys.exit(f"k8s-smoke: a query through a runner Job failed: {json.dumps(run)[:500]}")
print("k8s-smoke: SELECT 42 ran in a Kubernetes Job:", run["rows"])
PYEOF
# The three canonical questions, when the smoke script is there (it reads CORRAL_TOKEN).
if [[ -f scripts/smoke.py ]]; then "$PY" scripts/smoke.py --url "$url"; fi
echo "k8s-smoke: OK"
