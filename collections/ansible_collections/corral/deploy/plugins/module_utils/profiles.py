# Copyright: Corral contributors
# Apache-2.0
"""Resolve a runtime profile (data/runtime_profiles.yml) against what a host has."""

from __future__ import annotations

import re

from ansible_collections.corral.deploy.plugins.module_utils.common import run, version_at_least


class ProfileError(ValueError):
    """The profile or its definitions are unusable; the message names what is wrong."""


def install_command(runtime):
    if runtime.get("apt_packages"):
        return "apt-get install -y " + " ".join(runtime["apt_packages"])
    return runtime.get("install_command", "")


def detect_version(runtime, runner=run, timeout=10):
    """(version or None, detail) of an installed runtime, by its version command."""
    rc, out, err = runner(list(runtime["version_command"]), timeout=timeout)
    if rc is None:
        return None, err
    match = re.search(runtime["version_regex"], (out or "") + (err or ""))
    if rc != 0 or not match:
        return None, "`{}` gave no version (exit {})".format(" ".join(runtime["version_command"]), rc)
    return match.group(1), ""


def resolve(definitions, profile, extra=(), runner=run, timeout=10):
    profiles = definitions.get("profiles", {})
    runtimes = definitions.get("runtimes", {})
    if profile not in profiles:
        raise ProfileError(
            "profile: unknown profile '{}'; expected one of {}".format(profile, ", ".join(profiles))
        )
    names = list(profiles[profile]["runtimes"])
    for name in extra:
        if name not in runtimes:
            raise ProfileError(
                "extra_runtimes: unknown runtime '{}'; expected one of {}".format(name, ", ".join(runtimes))
            )
        if name not in names:
            names.append(name)

    report = {"installed": [], "outdated": [], "missing": [], "runtimes": {}}
    for name in names:
        runtime = runtimes[name]
        version, detail = detect_version(runtime, runner=runner, timeout=timeout)
        if version is None:
            state = "missing"
        elif version_at_least(version, runtime["min_version"]):
            state = "installed"
        else:
            state = "outdated"
        report[state].append(name)
        report["runtimes"][name] = {
            "state": state,
            "version": version,
            "min_version": runtime["min_version"],
            "recommended": runtime.get("recommended"),
            "apt_packages": list(runtime.get("apt_packages", [])),
            "install_command": install_command(runtime),
            "size_mb": runtime.get("size_mb"),
            "detail": detail,
        }
    pending = report["missing"] + report["outdated"]
    report["install_commands"] = [report["runtimes"][n]["install_command"] for n in pending]
    report["apt_packages"] = sorted(
        {pkg for n in pending for pkg in report["runtimes"][n]["apt_packages"]}
    )
    report["not_apt_installable"] = [n for n in pending if not report["runtimes"][n]["apt_packages"]]
    meta = profiles[profile]
    report["profile"] = {
        "name": profile,
        "description": meta.get("description", ""),
        "runtimes": names,
        "size_mb": meta.get("size_mb"),
        "install_minutes": meta.get("install_minutes"),
    }
    return report
