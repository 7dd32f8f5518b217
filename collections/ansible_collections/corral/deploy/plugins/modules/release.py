#!/usr/bin/python
# Copyright: Corral contributors
# Apache-2.0
"""corral.deploy.release: versioned release directories with an atomic current switch."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release
short_description: Versioned release directories with an atomic current switch and rollback
version_added: 0.1.0
description:
  - Manages C(<path>/releases/<version>) directories, a C(current) symlink that points at
    the live release and a C(previous) symlink that points at the one before.
  - The switch is atomic - a new symlink is created beside C(current) and renamed over it,
    so readers see either the old or the new release, never none.
  - Keeps the O(keep) newest releases; C(current) and C(previous) are never pruned.
  - Venv deployments use it for upgrade (V(present)) and rollback (V(rollback)).
author: Corral contributors
attributes:
  check_mode:
    support: full
    description: Computes the same plan and reports it without touching the file system.
  diff_mode:
    support: full
    description: Shows C(current), C(previous) and the release list before and after.
options:
  path:
    description: Base directory that holds C(releases/), C(current) and C(previous).
    type: path
    required: true
  version:
    description:
      - Release name (letters, digits, C(.), C(_), C(+), C(-)).
      - Required for V(present) and V(absent); for V(rollback) the target (default the
        C(previous) release).
    type: str
  state:
    description:
      - V(present) creates the release directory and (with O(switch)) makes it current.
      - V(rollback) points C(current) back at C(previous) (or O(version)).
      - V(absent) removes one release; it refuses to remove the current one.
    type: str
    choices: [present, rollback, absent]
    default: present
  switch:
    description:
      - With V(false), V(present) only creates the directory, so the caller can fill it
        before a second call (with V(true)) switches to it.
    type: bool
    default: true
  keep:
    description: How many releases to keep (newest first by modification time); 0 keeps all.
    type: int
    default: 5
  mode:
    description: Mode of new release directories.
    type: raw
    default: "0755"
  owner:
    description: Owner of new release directories.
    type: str
  group:
    description: Group of new release directories.
    type: str
"""

EXAMPLES = r"""
- name: Create the release directory, fill it, then switch
  corral.deploy.release:
    path: /opt/corral
    version: "{{ corral_version }}"
    switch: false
  register: release

- name: Install the app into it
  ansible.builtin.pip:
    name: corral
    virtualenv: "{{ release.release_path }}/venv"

- name: Go live
  corral.deploy.release:
    path: /opt/corral
    version: "{{ corral_version }}"
    keep: 3

- name: Roll back to the release before
  corral.deploy.release:
    path: /opt/corral
    state: rollback
"""

RETURN = r"""
current:
  description: Version C(current) points at after the task.
  returned: always
  type: str
  sample: "0.2.0"
previous:
  description: Version C(previous) points at after the task (null when none).
  returned: always
  type: str
  sample: "0.1.0"
release_path:
  description: Absolute path of the release the task was about.
  returned: when a version is known
  type: str
  sample: /opt/corral/releases/0.2.0
current_path:
  description: Absolute path of the C(current) symlink.
  returned: always
  type: str
releases:
  description: Release versions after the task, newest first.
  returned: always
  type: list
  elements: str
pruned:
  description: Releases removed by keep-N pruning or V(absent).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.corral.deploy.plugins.module_utils import releases


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "version": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "rollback", "absent"], "default": "present"},
            "switch": {"type": "bool", "default": True},
            "keep": {"type": "int", "default": 5},
            "mode": {"type": "raw", "default": "0755"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
        },
        required_if=[("state", "present", ["version"]), ("state", "absent", ["version"])],
        supports_check_mode=True,
    )
    params = module.params
    base = params["path"]
    if params["keep"] < 0:
        module.fail_json(
            msg=f"keep: expected 0 (keep all) or a positive number, got {params['keep']}"
        )
    try:
        mode = int(str(params["mode"]), 8)
    except ValueError:
        module.fail_json(msg="mode: expected an octal mode such as '0755', got {!r}".format(params["mode"]))

    try:
        before, after, actions = releases.plan(
            base, params["state"], params["version"], params["keep"], params["switch"]
        )
    except releases.ReleaseError as exc:
        module.fail_json(msg=str(exc))

    changed = bool(actions)
    if changed and not module.check_mode:
        try:
            created = releases.apply(base, actions, mode)
        except OSError as exc:
            module.fail_json(msg=f"release: could not update {base}: {exc}")
        for path in created:
            module.set_owner_if_different(path, params["owner"], False)
            module.set_group_if_different(path, params["group"], False)

    version = params["version"] or after["current"]
    result = {
        "changed": changed,
        "current": after["current"],
        "previous": after["previous"],
        "current_path": os.path.join(base, "current"),
        "releases": after["releases"],
        "pruned": [arg for verb, arg in actions if verb == "rmtree"],
    }
    if version:
        result["release_path"] = os.path.join(base, releases.RELEASES, version)
    if module._diff:
        result["diff"] = {
            "before_header": f"{base} (before)",
            "after_header": f"{base} (after)",
            "before": "current -> {}\nprevious -> {}\nreleases: {}\n".format(before["current"], before["previous"], ", ".join(before["releases"])),
            "after": "current -> {}\nprevious -> {}\nreleases: {}\n".format(after["current"], after["previous"], ", ".join(after["releases"])),
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
