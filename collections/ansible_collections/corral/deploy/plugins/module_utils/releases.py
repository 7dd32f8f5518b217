# Copyright: Corral contributors
# Apache-2.0
"""Versioned release directories with an atomic `current` symlink.

Layout under a base path:
    releases/<version>/   one directory per release
    current -> releases/<version>
    previous -> releases/<version>   the release `current` pointed at before the last switch

plan() computes what should change (pure, used for check and diff mode); apply() does it.
"""

from __future__ import annotations

import os
import re
import shutil

RELEASES = "releases"
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class ReleaseError(ValueError):
    """A request that cannot be carried out; the message says why and what to do."""


def link_target(base, name):
    """Version a symlink (current/previous) points at, or None."""
    path = os.path.join(base, name)
    if not os.path.islink(path):
        if os.path.exists(path):
            raise ReleaseError(
                f"{path} exists and is not a symlink; move it away so the release module can "
                "manage it."
            )
        return None
    return os.path.basename(os.path.normpath(os.readlink(path)))


def list_releases(base):
    """Release versions, newest first (by directory modification time, then name)."""
    root = os.path.join(base, RELEASES)
    if not os.path.isdir(root):
        return []
    entries = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    entries.sort(key=lambda e: (e.stat().st_mtime, e.name), reverse=True)
    return [e.name for e in entries]


def state_of(base):
    return {
        "current": link_target(base, "current"),
        "previous": link_target(base, "previous"),
        "releases": list_releases(base),
    }


def check_version(version):
    if not VERSION_RE.match(version or ""):
        raise ReleaseError(
            f"version: '{version}' is not a valid release name (letters, digits, '.', '_', '+', '-'; "
            "no '/')"
        )


def plan(base, state, version=None, keep=5, switch=True):
    """Return (before, after, actions). actions: list of (verb, argument)."""
    before = state_of(base)
    after = {k: (list(v) if isinstance(v, list) else v) for k, v in before.items()}
    actions = []

    if state == "present":
        check_version(version)
        if version not in after["releases"]:
            actions.append(("mkdir", version))
            after["releases"].insert(0, version)
        if switch and after["current"] != version:
            if after["current"] is not None:
                actions.append(("link", ("previous", after["current"])))
                after["previous"] = after["current"]
            actions.append(("link", ("current", version)))
            after["current"] = version
    elif state == "rollback":
        target = version or after["previous"]
        if target is None:
            raise ReleaseError(
                "rollback: there is no previous release under {}; give version= to pick one "
                "of: {}".format(base, ", ".join(after["releases"]) or "none")
            )
        check_version(target)
        if target not in after["releases"]:
            raise ReleaseError(
                "rollback: release '{}' does not exist under {}/{} (have: {})".format(target, base, RELEASES, ", ".join(after["releases"]) or "none")
            )
        if after["current"] != target:
            if after["current"] is not None:
                actions.append(("link", ("previous", after["current"])))
            else:
                actions.append(("unlink", "previous"))
            after["previous"] = after["current"]
            actions.append(("link", ("current", target)))
            after["current"] = target
    elif state == "absent":
        check_version(version)
        if version == after["current"]:
            raise ReleaseError(
                f"absent: release '{version}' is current; roll back or deploy another release first"
            )
        if version in after["releases"]:
            if after["previous"] == version:
                actions.append(("unlink", "previous"))
                after["previous"] = None
            actions.append(("rmtree", version))
            after["releases"].remove(version)
    else:
        raise ReleaseError(f"state: expected present, rollback or absent, got '{state}'")

    if state == "present" and keep:
        protected = {after["current"], after["previous"], version}
        kept = 0
        for name in list(after["releases"]):
            if name in protected:
                continue
            kept += 1
            if kept + len([p for p in protected if p]) > keep:
                actions.append(("rmtree", name))
                after["releases"].remove(name)
    return before, after, actions


def swap_link(base, name, version):
    """Point base/name at releases/<version> atomically (new symlink + rename over the old)."""
    link = os.path.join(base, name)
    tmp = os.path.join(base, f".{name}.tmp-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.join(RELEASES, version), tmp)
    os.replace(tmp, link)


def apply(base, actions, mode=0o755):
    os.makedirs(os.path.join(base, RELEASES), mode=mode, exist_ok=True)
    created = []
    for verb, arg in actions:
        if verb == "mkdir":
            path = os.path.join(base, RELEASES, arg)
            os.mkdir(path, mode)
            os.chmod(path, mode)
            created.append(path)
        elif verb == "link":
            swap_link(base, arg[0], arg[1])
        elif verb == "unlink":
            path = os.path.join(base, arg)
            if os.path.lexists(path):
                os.unlink(path)
        elif verb == "rmtree":
            shutil.rmtree(os.path.join(base, RELEASES, arg))
    return created
