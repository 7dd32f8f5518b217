"""Print the runner Job the agent server would create, from a rendered chart.

Reads the runner-template ConfigMap out of `helm template` output (argv[1]) and
builds the Job with the executor's own code (app.executors.k8s.build_job), so
chart-check validates and scans the exact body the agent sends to the API.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.executors.k8s import build_job, load_template
from app.settings import Settings
from runner import contract


def main(manifest: str) -> None:
    docs = [d for d in yaml.safe_load_all(Path(manifest).read_text()) if d]
    cm = next(d for d in docs if d["kind"] == "ConfigMap"
              and d["metadata"]["name"].endswith("-runner-template"))
    agent = next(d for d in docs if d["kind"] == "Deployment"
                 and d["metadata"]["name"].endswith("-agent-server"))
    env = {e["name"]: e.get("value") for e in
           agent["spec"]["template"]["spec"]["containers"][0]["env"]}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(cm["data"]["runner-template.json"])
        f.flush()
        settings = Settings(execution_mode="k8s", k8s_runner_template=f.name)
        template = load_template(settings)
    request = contract.make_request("chart-check", "sql", "SELECT 1", int(env["MAX_ROWS"]),
                                    int(env["RUN_TIMEOUT_MS"]))
    job = build_job("corral-run-chartcheck", request, env["RUNNER_IMAGE"], template)
    job["metadata"]["namespace"] = cm["metadata"]["namespace"]
    print(yaml.safe_dump(json.loads(json.dumps(job)), sort_keys=False))


if __name__ == "__main__":
    main(sys.argv[1])
