"""An operator's own data deployed with the chart (README "Your own data", Helm): files
generated here (two tables with a key, CSV and Parquet) in a PersistentVolume, the
manifest written by `corral datasets add` and checked by `corral datasets check`
(with a second dataset visible to admins only, out of the analyst's reach),
`helm install --set datasets.existingClaim=...`, then questions in words through the
ui Service, one of them needing the join along the declared key; every table is compared
with DuckDB's answer on the same files. Uninstalled at the end, nothing left behind.

The volume is a hostPath PersistentVolume: the project's test cluster has one node and
no storage provisioner, and that node is this machine, so the test writes the files
straight into the folder the kubelet mounts. On another cluster (KUBECONFIG_K8S_TESTS)
the node's disk is not here: the test is skipped there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from cluster import ROOT, Cluster
from test_live_chart import automation_token, install, leftovers

pytestmark = pytest.mark.k8s

NS = "corral-data"
RELEASE = "corral-data"
CLAIM = "fleet-data"
PV = "corral-data-fleet"
DEPOTS = ["Harbour", "Airport", "Hillside"]
MODELS = ["Volvo FH", "Scania R", "MAN TGX", "DAF XF"]
TRUCKS = [(t, MODELS[t % 4], DEPOTS[t % 3]) for t in range(1, 13)]
TRIPS = [(n, 1 + (n * 5) % 12, 20 + (n * 37) % 400) for n in range(1, 301)]
# A second dataset only admins may see (visible_to): the test's analyst must not reach it,
# so every run of theirs is limited to fleet's tables (one subPath mount per file).
SALARIES = [(n, 30000 + 1000 * n) for n in range(1, 6)]


def write_files(source: Path) -> None:
    """trips.csv (the main table, many rows per truck) and trucks.parquet (one per truck)."""
    lines = ["trip_id,truck_id,distance_km"] + [",".join(map(str, t)) for t in TRIPS]
    (source / "trips.csv").write_text("\n".join(lines) + "\n")
    con = duckdb.connect()
    con.execute("CREATE TABLE trucks (truck_id BIGINT, model VARCHAR, depot VARCHAR)")
    con.executemany("INSERT INTO trucks VALUES (?, ?, ?)", TRUCKS)
    con.execute(f"COPY trucks TO '{source / 'trucks.parquet'}' (FORMAT parquet)")


def add_hidden_dataset(folder: Path) -> None:
    """payroll (salaries.csv), added with `corral datasets add` and then, as an operator's
    review, made visible to admins only."""
    with tempfile.TemporaryDirectory(prefix="corral-payroll-") as source:
        lines = ["driver_id,salary"] + [f"{d},{s}" for d, s in SALARIES]
        (Path(source) / "salaries.csv").write_text("\n".join(lines) + "\n")
        corral("datasets", "add", source, "--name", "payroll", "--datasets", str(folder))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["datasets"]["payroll"]["visible_to"] = {"roles": ["admin"]}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def corral(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def expected(sql: str, folder: Path) -> list[list]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW trips AS SELECT * FROM read_csv('{folder / 'trips.csv'}')")
    con.execute(f"CREATE VIEW trucks AS SELECT * FROM read_parquet('{folder / 'trucks.parquet'}')")
    return [list(r) for r in con.execute(sql).fetchall()]


def volume(path: Path) -> str:
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": PV},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadOnlyMany"],
                   "storageClassName": "", "persistentVolumeReclaimPolicy": "Retain",
                   "claimRef": {"namespace": NS, "name": CLAIM},
                   "hostPath": {"path": str(path), "type": "Directory"}}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": CLAIM, "namespace": NS},
           "spec": {"accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": PV,
                    "resources": {"requests": {"storage": "1Gi"}}}}
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [pv, pvc]})


@pytest.fixture(scope="module")
def data_folder():
    """The PersistentVolume's folder: the operator's files and the manifest
    `corral datasets add` wrote, as `corral datasets check` finds them."""
    with tempfile.TemporaryDirectory(prefix="corral-data-") as source:
        write_files(Path(source))
        folder = Path(tempfile.mkdtemp(prefix="corral-data-pv-"))
        try:
            corral("datasets", "add", source, "--name", "fleet", "--datasets", str(folder))
            add_hidden_dataset(folder)
            corral("datasets", "check", "--datasets", str(folder))
            folder.chmod(0o755)  # runner pods have uids of their own: world-readable
            for path in folder.iterdir():
                path.chmod(0o644)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def release(k8s_cluster: Cluster, data_folder: Path):
    if k8s_cluster.provider != "testcluster":
        pytest.skip("a hostPath volume needs the node to be this machine (the test cluster)")
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait")
    k8s_cluster.kubectl("delete", "pv", PV, "--ignore-not-found", "--wait")
    k8s_cluster.kubectl("create", "namespace", NS)
    try:
        k8s_cluster.kubectl("apply", "-f", "-", input=volume(data_folder))
        install(k8s_cluster, RELEASE, NS, "--set", f"datasets.existingClaim={CLAIM}")
        yield k8s_cluster
    finally:
        k8s_cluster.helm("uninstall", RELEASE, "-n", NS, "--wait", check=False)
        k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait",
                            timeout=300, check=False)
        k8s_cluster.kubectl("delete", "pv", PV, "--ignore-not-found", "--wait", check=False)


@pytest.fixture(scope="module")
def api(release: Cluster):
    """An analyst's API client through the ui Service (kubectl port-forward)."""
    token = automation_token(release, RELEASE, NS)
    with release.ui_forward(NS, RELEASE) as url, \
            httpx.Client(base_url=url, timeout=120,
                         headers={"Authorization": f"Bearer {token}"}) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/api/datasets").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the ui Service did not answer"
            time.sleep(0.5)
        yield client


def ask(api: httpx.Client, question: str) -> dict:
    answer = api.post("/api/chat", json={"question": question}).json()
    assert answer.get("result") and answer["result"]["status"] == "ok", answer
    return answer


def test_the_agent_serves_the_claims_manifest_not_the_demo_one(api):
    (ds,) = api.get("/api/datasets").json()
    assert ds["name"] == "fleet"
    assert sorted(t["name"] for t in ds["tables"]) == ["trips", "trucks"]
    assert ds["keys"] == [{"from": ["trips.truck_id"], "to": ["trucks.truck_id"]}]


def test_a_count_in_words(api, data_folder):
    answer = ask(api, "How many trips are there?")
    assert answer["result"]["rows"] == expected("SELECT count(*) FROM trips", data_folder)


JOIN = "JOIN trucks ON trips.truck_id = trucks.truck_id"


def test_questions_that_need_the_join_along_the_declared_key(api, data_folder):
    """Asked of the manifest exactly as `corral datasets add` proposed it (its key and the
    synonyms it made from the column names), with no edits."""
    answer = ask(api, "What is the total distance per truck depot?")
    assert JOIN in answer["plan"]["code"], answer["plan"]
    assert answer["result"]["rows"] == expected(
        f"SELECT depot, sum(distance_km) FROM trips {JOIN} GROUP BY depot ORDER BY depot",
        data_folder)
    answer = ask(api, "How many trips per truck model?")
    assert JOIN in answer["plan"]["code"], answer["plan"]
    assert answer["result"]["rows"] == expected(
        f"SELECT model, count(*) FROM trips {JOIN} GROUP BY model ORDER BY model", data_folder)


def test_hand_written_sql_over_both_tables(api, data_folder):
    sql = ("SELECT model, count(*) AS trips FROM trips JOIN trucks "
           "ON trips.truck_id = trucks.truck_id GROUP BY model ORDER BY model")
    result = api.post("/api/query", json={"language": "sql", "code": sql}).json()
    assert result["status"] == "ok", result
    assert result["rows"] == expected(sql, data_folder)


def test_the_admins_only_dataset_is_out_of_reach_of_an_analyst(api):
    assert "payroll" not in api.get("/api/suggestions").text
    sql = api.post("/api/query", json={"language": "sql", "code": "SELECT * FROM salaries"})
    assert sql.json()["status"] == "rejected"
    assert "over trips, trucks is allowed" in sql.json()["error"]["message"]
    # The runner pod holds manifest.json and fleet's files only: the file is not there.
    python = api.post("/api/query", json={
        "language": "python", "code": "result = open('/data/salaries.csv').read()"}).json()
    assert python["status"] == "error", python
    assert "No such file" in python["error"]["message"], python


def test_uninstall_leaves_nothing_behind(release):
    release.helm("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "3m")
    assert leftovers(release, RELEASE, NS) == ""
    assert release.kubectl("get", "pods,jobs", "-n", NS, "-o", "name").stdout.strip() == ""
    release.kubectl("delete", "namespace", NS, "--wait", timeout=300)
    release.kubectl("delete", "pv", PV, "--wait")
    assert release.kubectl("get", "pv", PV, "--ignore-not-found", "-o", "name").stdout == ""
