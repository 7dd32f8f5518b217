# Copyright: Corral contributors
# Apache-2.0
"""Read-only checks behind corral.deploy.preflight.

Every check returns facts; problems are collected as dicts
{check, severity, message, fix} so the caller can print one line per problem.
Paths (/proc, /etc/os-release, /sys/fs/cgroup) are parameters so unit tests can
point them at fixtures.
"""

from __future__ import annotations

import json
import os
import shutil

from ansible_collections.corral.deploy.plugins.module_utils.common import run, version_at_least


class Report:
    """Facts and problems gathered by the checks."""

    def __init__(self):
        self.facts = {}
        self.problems = []

    def problem(self, check, message, fix, severity="error"):
        self.problems.append(
            {"check": check, "severity": severity, "message": message, "fix": fix}
        )

    @property
    def errors(self):
        return [p for p in self.problems if p["severity"] == "error"]


def read_text(path, default=None):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return default


def parse_os_release(text):
    values = {}
    for line in (text or "").splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"')
    return {
        "id": values.get("ID", "unknown"),
        "version": values.get("VERSION_ID", ""),
        "pretty_name": values.get("PRETTY_NAME", values.get("ID", "unknown")),
    }


def check_os(report, supported, os_release="/etc/os-release"):
    info = parse_os_release(read_text(os_release, ""))
    report.facts["os"] = info
    minimum = supported.get(info["id"])
    if minimum is None:
        report.problem(
            "os",
            "{} is not a tested operating system (tested: {}).".format(info["pretty_name"], ", ".join("{} {}+".format(*kv) for kv in sorted(supported.items()))),
            "Use Debian 12 or Ubuntu 22.04+, or continue at your own risk (warning only).",
            severity="warning",
        )
    elif not version_at_least(info["version"], minimum):
        report.problem(
            "os",
            "{} is older than the tested {} {}.".format(info["pretty_name"], info["id"], minimum),
            "Upgrade the host to {} {} or newer.".format(info["id"], minimum),
            severity="warning",
        )


def meminfo_mb(text):
    for line in (text or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


def existing_parent(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def check_resources(report, minimums, disk_path, meminfo="/proc/meminfo", cpus=None):
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    memory_mb = meminfo_mb(read_text(meminfo, ""))
    probe = existing_parent(disk_path)
    stat = os.statvfs(probe)
    disk_free_gb = round(stat.f_bavail * stat.f_frsize / 1024**3, 1)
    report.facts.update(
        {"cpus": cpus, "memory_mb": memory_mb, "disk_path": probe, "disk_free_gb": disk_free_gb}
    )
    if cpus < minimums["cpus"]:
        report.problem(
            "cpus",
            f"{cpus} CPU(s) available, this environment needs at least {minimums['cpus']}.",
            "Give the host more CPUs or choose a smaller environment (e.g. venv).",
        )
    if memory_mb < minimums["memory_mb"]:
        report.problem(
            "memory",
            f"{memory_mb} MB of memory, this environment needs at least "
            f"{minimums['memory_mb']} MB.",
            "Add memory (or swap) to the host, or lower MAX_SANDBOXES and choose a smaller "
            "environment.",
        )
    if disk_free_gb < minimums["disk_gb"]:
        report.problem(
            "disk",
            f"{disk_free_gb} GB free on {probe}, this environment needs at least "
            f"{minimums['disk_gb']} GB.",
            f"Free space on {probe} (docker image prune, old releases) or set "
            "corral_preflight_disk_path to a larger volume.",
        )


def cgroup_version(cgroup_root="/sys/fs/cgroup"):
    if os.path.exists(os.path.join(cgroup_root, "cgroup.controllers")):
        return 2
    if os.path.isdir(cgroup_root):
        return 1
    return None


def check_docker(report, min_version, timeout):
    docker = {"installed": shutil.which("docker") is not None, "reachable": False}
    report.facts["docker"] = docker
    if not docker["installed"]:
        report.problem(
            "docker",
            "Docker is not installed (no `docker` command on PATH).",
            "Run the corral.deploy docker_engine role, or: apt-get install -y docker.io",
        )
        return
    rc, out, err = run(["docker", "info", "--format", "{{json .}}"], timeout=timeout)
    if rc != 0:
        last = (err.strip().splitlines() or ["no output"])[-1]
        if "permission denied" in err.lower():
            fix = (
                "Run as root (become: true) or add the user to the docker group: "
                "usermod -aG docker <user>, then log in again."
            )
        else:
            fix = (
                "Start it: `systemctl start docker` (systemd) or `service docker start` "
                "(no systemd), then check `docker info`."
            )
        report.problem("docker", f"The Docker daemon does not answer: {last}", fix)
        return
    try:
        info = json.loads(out)
    except ValueError:
        info = {}
    docker.update(
        {
            "reachable": True,
            "server_version": info.get("ServerVersion", ""),
            "cgroup_version": str(info.get("CgroupVersion", "")),
            "storage_driver": info.get("Driver", ""),
            "security_options": info.get("SecurityOptions") or [],
        }
    )
    if not version_at_least(docker["server_version"], min_version):
        report.problem(
            "docker",
            "Docker {} is older than the required {}.".format(docker["server_version"], min_version),
            "Upgrade the engine: apt-get install -y --only-upgrade docker.io",
        )


def userns_enabled(proc="/proc"):
    clone = read_text(os.path.join(proc, "sys/kernel/unprivileged_userns_clone"))
    if clone is not None and clone.strip() == "0":
        return False
    limit = read_text(os.path.join(proc, "sys/user/max_user_namespaces"))
    return limit is None or int(limit.strip() or 0) > 0


def check_bwrap(report, timeout, proc="/proc"):
    bwrap = shutil.which("bwrap")
    facts = {"userns": userns_enabled(proc), "bwrap": bwrap, "bwrap_works": False}
    report.facts["sandbox"] = facts
    if not facts["userns"]:
        report.problem(
            "userns",
            "User namespaces are switched off in the kernel.",
            "Enable them: sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000 "
            "(persist in /etc/sysctl.d/).",
        )
    if bwrap is None:
        report.problem(
            "bwrap",
            "bubblewrap is not installed (no `bwrap` on PATH).",
            "apt-get install -y bubblewrap",
        )
        return
    # A real, read-only sandbox start: the same namespaces the bwrap executor asks for.
    rc, _, err = run(
        [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
        timeout=timeout,
    )
    facts["bwrap_works"] = rc == 0
    if rc != 0:
        report.problem(
            "bwrap",
            "bubblewrap cannot create a sandbox: %s" % (err.strip() or f"exit {rc}"),
            "Allow user namespaces (see userns), or run in a container/VM that permits "
            "CLONE_NEWUSER (seccomp/apparmor unconfined).",
        )


def check_netns(report):
    ip = shutil.which("ip")
    report.facts["netns"] = {"ip": ip}
    if ip is None:
        report.problem(
            "netns",
            "The `ip` command (iproute2) is missing; network namespaces cannot be managed.",
            "apt-get install -y iproute2",
        )


def _listeners(proc):
    """{port: inode} of TCP sockets in LISTEN state (IPv4 and IPv6)."""
    found = {}
    for name in ("net/tcp", "net/tcp6"):
        lines = (read_text(os.path.join(proc, name), "") or "").splitlines()[1:]
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":  # 0A = TCP_LISTEN
                port = int(fields[1].rsplit(":", 1)[1], 16)
                found.setdefault(port, fields[9])
    return found


def _socket_owners(proc):
    """{socket inode: process name}, as far as /proc lets us see."""
    owners = {}
    for pid in filter(str.isdigit, os.listdir(proc)):
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        comm = (read_text(os.path.join(proc, pid, "comm"), "?") or "?").strip()
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                owners.setdefault(target[8:-1], comm)
    return owners


def check_ports(report, ports, allowed_owners, proc="/proc"):
    listeners = _listeners(proc)
    owners = _socket_owners(proc) if any(p in listeners for p in ports) else {}
    facts = {}
    for port in ports:
        if port not in listeners:
            facts[str(port)] = {"free": True, "owner": None}
            continue
        owner = owners.get(listeners[port], "unknown")
        facts[str(port)] = {"free": False, "owner": owner}
        if owner not in allowed_owners:
            report.problem(
                "ports",
                f"Port {port} is already taken by {owner}.",
                f"Stop what listens there (ss -ltnp 'sport = :{port}'), or pick another port: "
                "make up UI_PORT=8081 (or corral_ui_port: 8081 in the inventory, or "
                "ansible-playbook site.yml -e corral_ui_port=8081).",
            )
    report.facts["ports"] = facts


def check_kubernetes(report, timeout, kubeconfig=None, context=None):
    facts = {
        "kubectl": shutil.which("kubectl"),
        "helm": shutil.which("helm"),
        "api_reachable": False,
        "server_version": None,
    }
    report.facts["kubernetes"] = facts
    for tool, fix in (
        ("kubectl", ("Install kubectl: https://kubernetes.io/docs/tasks/tools/ "
                    "(or the runtimes role with profile k8s)")),
        ("helm", ("Install helm: https://helm.sh/docs/intro/install/ "
                 "(or the runtimes role with profile k8s)")),
    ):
        if facts[tool] is None:
            report.problem("kubernetes", f"{tool} is not installed.", fix)
    if facts["kubectl"] is None:
        return
    argv = ["kubectl", "version", "-o", "json", f"--request-timeout={timeout}s"]
    if context:
        argv.append(f"--context={context}")
    env = {"KUBECONFIG": kubeconfig} if kubeconfig else None
    rc, out, err = run(argv, timeout=timeout + 5, env=env)
    try:
        server = json.loads(out).get("serverVersion") if out else None
    except ValueError:
        server = None
    if rc == 0 and server:
        facts["api_reachable"] = True
        facts["server_version"] = server.get("gitVersion")
    else:
        last = (err or "").strip().splitlines()
        report.problem(
            "kubernetes",
            "The Kubernetes API server does not answer: %s" % (last[-1] if last else "no answer"),
            "Check the kubeconfig (corral_kubeconfig / KUBECONFIG) and the current context: "
            "`kubectl cluster-info`.",
        )
