# Copyright: Corral contributors
# Apache-2.0
"""Action plugin for corral.deploy.runtime_profile: adds data/runtime_profiles.yml."""

from __future__ import annotations

from ansible_collections.corral.deploy.plugins.plugin_utils.data_action import DataActionBase


class ActionModule(DataActionBase):
    MODULE = "corral.deploy.runtime_profile"
    DATA_FILE = "runtime_profiles.yml"
