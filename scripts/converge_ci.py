"""Run site.yml through ansible-runner (its Python API) and fail on any failed or
unreachable host. `make converge-ci` uses it; CI reads the artifacts it leaves.

    .venv/bin/python scripts/converge_ci.py                       # this machine (inventories/local)
    .venv/bin/python scripts/converge_ci.py -i inventories/venv   # another environment
    .venv/bin/python scripts/converge_ci.py -i hosts.yml -e corral_ui_port=18080

It prints one JSON summary (status, per-host counts, the artifacts directory). The
artifacts (job_events/*.json, one file per event) are what tests/deploy reads to prove
that a second run changed nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import ansible_runner

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARTIFACTS = REPO / "build" / "converge-ci"


def converge(
    inventory: str | Path = "inventories/local",
    extravars: dict | None = None,
    artifacts: Path = DEFAULT_ARTIFACTS,
    playbook: str = "site.yml",
    check: bool = False,
    limit: str | None = None,
    quiet: bool = False,
) -> dict:
    """Run the playbook once; return the summary (see summarize)."""
    ident = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    cmdline = "--check --diff" if check else None
    envvars = {
        # ansible-playbook from the same virtualenv as this Python, whatever PATH says.
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        # Use the repository's ansible.cfg (roles, collections, callbacks), whatever the cwd.
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    artifacts.mkdir(parents=True, exist_ok=True)
    # A private data dir per run keeps env/ and inventory/ of parallel runs apart.
    private = artifacts / "private" / ident
    private.mkdir(parents=True, exist_ok=True)
    runner = ansible_runner.run(
        private_data_dir=str(private),
        artifact_dir=str(artifacts),
        ident=ident,
        project_dir=str(REPO),
        playbook=str(REPO / playbook),
        inventory=str((REPO / inventory) if not Path(inventory).is_absolute() else inventory),
        extravars=extravars or {},
        envvars=envvars,
        cmdline=cmdline,
        limit=limit,
        quiet=quiet,
        # The playbook's own output is the log people read; keep the events too.
        settings={"suppress_ansible_output": quiet},
    )
    return summarize(runner.status, runner.rc, Path(runner.config.artifact_dir))


def summarize(status: str, rc: int, artifact_dir: Path) -> dict:
    """Per-host counts from the playbook_on_stats event the run left in its artifacts."""
    stats = playbook_stats(artifact_dir)
    failed = sorted(set(stats.get("failures", {})) | set(stats.get("dark", {})))
    return {
        "status": status,
        "rc": rc,
        "ok": bool(status == "successful" and rc == 0 and not failed),
        "hosts": sorted(set().union(*(stats.get(k, {}) for k in ("ok", "changed", "failures", "dark")))),
        "changed": stats.get("changed", {}),
        "failures": stats.get("failures", {}),
        "unreachable": stats.get("dark", {}),
        "changed_tasks": changed_tasks(artifact_dir),
        "artifacts": str(artifact_dir),
    }


def job_events(artifact_dir: Path) -> list[dict]:
    """Every event of one run, in order (ansible-runner writes one JSON file per event)."""
    files = sorted(
        (artifact_dir / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0])
    )
    return [json.loads(p.read_text()) for p in files]


def playbook_stats(artifact_dir: Path) -> dict:
    for event in reversed(job_events(artifact_dir)):
        if event.get("event") == "playbook_on_stats":
            return event.get("event_data", {})
    return {}


def changed_tasks(artifact_dir: Path) -> list[str]:
    """'host: task' for each task result that reported a change."""
    out = []
    for event in job_events(artifact_dir):
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("res", {}).get("changed"):
            out.append(f"{data.get('host')}: {data.get('task')}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", default="inventories/local")
    parser.add_argument("-e", "--extra-var", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("-l", "--limit")
    parser.add_argument("--check", action="store_true", help="check mode (changes nothing)")
    parser.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    parser.add_argument("--playbook", default="site.yml")
    parser.add_argument("--quiet", action="store_true", help="only the JSON summary")
    args = parser.parse_args(argv)

    extravars = {}
    for item in args.extra_var:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-e {item!r}: expected KEY=VALUE")
        extravars[key] = value
    summary = converge(
        args.inventory, extravars, args.artifacts, args.playbook, args.check, args.limit,
        args.quiet,
    )
    print(json.dumps(summary, indent=2))
    if not summary["ok"]:
        bad = {**summary["failures"], **summary["unreachable"]}
        print(
            f"converge-ci: FAILED (status {summary['status']}, rc {summary['rc']}; "
            f"failed or unreachable: {', '.join(bad) or 'none reported'})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
