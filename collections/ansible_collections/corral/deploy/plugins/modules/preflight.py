#!/usr/bin/python
# Copyright: Corral contributors
# Apache-2.0
"""corral.deploy.preflight: facts and checks for a Corral target environment."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: preflight
short_description: Check that a host can run Corral in a given environment
version_added: 0.1.0
description:
  - Gathers facts about the target (OS and version, CPUs, memory, free disk, Docker,
    cgroup version, user namespaces and bubblewrap, listening ports, kubectl/helm and the
    Kubernetes API) and compares them with the minimums of the chosen environment.
  - The minimums and the checks that apply to each environment live once in the
    collection's C(data/environments.yml); the action plugin hands them to the module.
  - Each problem is one message plus the command or setting that fixes it.
  - Read-only; it never changes the host.
author: Corral contributors
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same checks in check mode.
  diff_mode:
    support: none
  action:
    support: full
    description: An action plugin adds C(data/environments.yml) as C(_definitions).
options:
  environment:
    description: The deployment target the host is checked for.
    type: str
    required: true
    choices: [local, venv, docker, vps, dedicated, cloud, netns, k3s, managed]
  disk_path:
    description: Where Corral keeps its data; free space is measured on this path (or its
      nearest existing parent).
    type: path
    default: /
  ports:
    description: TCP ports that must be free (nothing listening on them).
    type: list
    elements: int
    default: []
  allowed_port_owners:
    description:
      - Process names that may already listen on O(ports) (for example Corral's own
        C(docker-proxy) or C(nginx) on a re-converge). Such ports are reported, not failed.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Override the groups of checks the environment implies.
      - V(docker), V(bwrap), V(netns), V(kubernetes).
    type: list
    elements: str
    choices: [docker, bwrap, netns, kubernetes]
  minimums:
    description: Override the environment's minimums (keys C(cpus), C(memory_mb), C(disk_gb)).
    type: dict
  kubeconfig:
    description: Kubeconfig file for the Kubernetes checks (default C(KUBECONFIG) or ~/.kube/config).
    type: path
  context:
    description: Kubeconfig context for the Kubernetes checks.
    type: str
  timeout:
    description: Seconds each external command (docker info, bwrap, kubectl version) may take.
    type: int
    default: 10
  fail_on:
    description:
      - V(errors) fails the task when any problem of severity C(error) is found.
      - V(never) only reports; the caller decides.
    type: str
    choices: [errors, never]
    default: errors
notes:
  - Port owners are read from /proc; without root only the caller's own processes are named.
"""

EXAMPLES = r"""
- name: Check this host for the compose deployment
  corral.deploy.preflight:
    environment: local
    ports: [8080]

- name: Report only, decide later
  corral.deploy.preflight:
    environment: venv
    disk_path: /opt/corral
    fail_on: never
  register: preflight

- name: A managed cluster, with a specific context
  corral.deploy.preflight:
    environment: managed
    kubeconfig: ~/.kube/config
    context: prod
"""

RETURN = r"""
preflight:
  description: Everything the checks found.
  returned: always
  type: dict
  sample:
    environment: local
    os: {id: debian, version: "12", pretty_name: "Debian GNU/Linux 12 (bookworm)"}
    cpus: 2
    memory_mb: 23000
    disk_path: /
    disk_free_gb: 80.1
    cgroup_version: 1
    docker: {installed: true, reachable: true, server_version: "20.10.24", cgroup_version: "1"}
    ports: {"8080": {free: true, owner: null}}
problems:
  description: One entry per problem, errors first.
  returned: always
  type: list
  elements: dict
  sample:
    - check: docker
      severity: error
      message: Docker is not installed (no `docker` command on PATH).
      fix: "Run the corral.deploy docker_engine role, or: apt-get install -y docker.io"
messages:
  description: The problems as single lines, each message followed by its fix.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: The same as RV(preflight), as C(corral_preflight).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.corral.deploy.plugins.module_utils import preflight_checks as checks

ENVIRONMENTS = ["local", "venv", "docker", "vps", "dedicated", "cloud", "netns", "k3s", "managed"]


def run_checks(params, definitions):
    env = definitions["environments"][params["environment"]]
    minimums = {key: env[key] for key in ("cpus", "memory_mb", "disk_gb")}
    minimums.update(params.get("minimums") or {})
    selected = params["checks"] if params.get("checks") is not None else env.get("checks", [])
    timeout = params["timeout"]

    report = checks.Report()
    report.facts["environment"] = params["environment"]
    report.facts["minimums"] = minimums
    report.facts["checks"] = list(selected)
    checks.check_os(report, definitions.get("supported_os", {}))
    checks.check_resources(report, minimums, params["disk_path"])
    report.facts["cgroup_version"] = checks.cgroup_version()
    if "docker" in selected:
        checks.check_docker(report, definitions.get("min_docker_version", "20.10"), timeout)
    if "bwrap" in selected:
        checks.check_bwrap(report, timeout)
    if "netns" in selected:
        checks.check_netns(report)
    if "kubernetes" in selected:
        checks.check_kubernetes(report, timeout, params.get("kubeconfig"), params.get("context"))
    if params["ports"]:
        checks.check_ports(report, params["ports"], params["allowed_port_owners"])
    report.problems.sort(key=lambda p: p["severity"] != "error")
    return report


def main():
    module = AnsibleModule(
        argument_spec={
            "environment": {"type": "str", "required": True, "choices": ENVIRONMENTS},
            "disk_path": {"type": "path", "default": "/"},
            "ports": {"type": "list", "elements": "int", "default": []},
            "allowed_port_owners": {"type": "list", "elements": "str", "default": []},
            "checks": {
                "type": "list", "elements": "str", "choices": ["docker", "bwrap", "netns", "kubernetes"]
            },
            "minimums": {"type": "dict"},
            "kubeconfig": {"type": "path"},
            "context": {"type": "str"},
            "timeout": {"type": "int", "default": 10},
            "fail_on": {"type": "str", "choices": ["errors", "never"], "default": "errors"},
            "_definitions": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    definitions = module.params["_definitions"]
    if not definitions or "environments" not in definitions:
        module.fail_json(
            msg="preflight needs the collection's data/environments.yml; call it as "
            "corral.deploy.preflight so its action plugin can load the file."
        )
    minimums = module.params.get("minimums") or {}
    unknown = sorted(set(minimums) - {"cpus", "memory_mb", "disk_gb"})
    if unknown:
        module.fail_json(
            msg=f"minimums: unknown key(s) {unknown}; expected cpus, memory_mb, disk_gb"
        )

    report = run_checks(module.params, definitions)
    messages = ["{} Fix: {}".format(p["message"], p["fix"]) for p in report.problems]
    result = {
        "changed": False,
        "preflight": report.facts,
        "problems": report.problems,
        "messages": messages,
        "ansible_facts": {"corral_preflight": report.facts},
    }
    if module.params["fail_on"] == "errors" and report.errors:
        lines = ["{} Fix: {}".format(p["message"], p["fix"]) for p in report.errors]
        module.fail_json(
            msg=f"Preflight for environment '{module.params['environment']}' found "
            f"{len(lines)} problem(s):\n- " + "\n- ".join(lines),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
