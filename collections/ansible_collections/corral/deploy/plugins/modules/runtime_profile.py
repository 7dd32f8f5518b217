#!/usr/bin/python
# Copyright: Corral contributors
# Apache-2.0
"""corral.deploy.runtime_profile: which of a profile's runtimes a host has."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: runtime_profile
short_description: Report installed, outdated and missing runtimes of a runtime profile
version_added: 0.1.0
description:
  - Resolves a runtime profile (V(minimal), V(web), V(full), V(docker), V(k8s)) into its
    runtimes, runs each runtime's version command on the host and compares the version with
    the runtime's minimum.
  - Profiles, runtimes, minimum versions, sizes and install commands are defined once in
    the collection's C(data/runtime_profiles.yml); the action plugin hands them to the module.
  - Never installs anything; it returns the command that installs each missing or outdated
    runtime (the C(runtimes) role installs the apt packages).
author: Corral contributors
attributes:
  check_mode:
    support: full
    description: Only reads; identical in check mode.
  diff_mode:
    support: none
  action:
    support: full
    description: An action plugin adds C(data/runtime_profiles.yml) as C(_definitions).
options:
  profile:
    description: The profile to resolve.
    type: str
    required: true
    choices: [minimal, web, full, docker, k8s]
  extra_runtimes:
    description: Runtimes to check on top of the profile's (names from the data file).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds each version command may take.
    type: int
    default: 10
  fail_on_missing:
    description: Fail when any runtime is missing or outdated (after an install, to verify it).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: What would the web profile need here?
  corral.deploy.runtime_profile:
    profile: web
  register: web

- name: Verify after installing
  corral.deploy.runtime_profile:
    profile: docker
    fail_on_missing: true
"""

RETURN = r"""
profile:
  description: The resolved profile (name, description, runtimes, size_mb, install_minutes).
  returned: always
  type: dict
runtimes:
  description: Per runtime, state (installed/outdated/missing), version found, min_version,
    install_command, apt_packages, size_mb.
  returned: always
  type: dict
  sample:
    python: {state: installed, version: "3.11.2", min_version: "3.11",
             install_command: "apt-get install -y python3 python3-venv python3-pip"}
installed:
  description: Names of runtimes present at or above their minimum version.
  returned: always
  type: list
  elements: str
outdated:
  description: Names of runtimes present below their minimum version.
  returned: always
  type: list
  elements: str
missing:
  description: Names of runtimes not found.
  returned: always
  type: list
  elements: str
install_commands:
  description: One command per missing or outdated runtime.
  returned: always
  type: list
  elements: str
apt_packages:
  description: The Debian packages that would install every missing or outdated runtime.
  returned: always
  type: list
  elements: str
not_apt_installable:
  description: Missing or outdated runtimes that have no distro package (kubectl, helm).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.corral.deploy.plugins.module_utils.profiles import ProfileError, resolve


def main():
    module = AnsibleModule(
        argument_spec={
            "profile": {
                "type": "str", "required": True, "choices": ["minimal", "web", "full", "docker", "k8s"]
            },
            "extra_runtimes": {"type": "list", "elements": "str", "default": []},
            "timeout": {"type": "int", "default": 10},
            "fail_on_missing": {"type": "bool", "default": False},
            "_definitions": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    definitions = module.params["_definitions"]
    if not definitions or "profiles" not in definitions:
        module.fail_json(
            msg="runtime_profile needs the collection's data/runtime_profiles.yml; call it as "
            "corral.deploy.runtime_profile so its action plugin can load the file."
        )
    try:
        report = resolve(
            definitions,
            module.params["profile"],
            module.params["extra_runtimes"],
            timeout=module.params["timeout"],
        )
    except ProfileError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=False, **report)
    pending = report["missing"] + report["outdated"]
    if module.params["fail_on_missing"] and pending:
        lines = [
            "{} is {} (need >= {}): {}".format(n, report["runtimes"][n]["state"], report["runtimes"][n]["min_version"],
               report["runtimes"][n]["install_command"])
            for n in pending
        ]
        module.fail_json(
            msg="Profile '{}' is not complete:\n- {}".format(module.params["profile"], "\n- ".join(lines)),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
