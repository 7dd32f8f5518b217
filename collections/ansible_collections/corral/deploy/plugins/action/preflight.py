# Copyright: Corral contributors
# Apache-2.0
"""Action plugin for corral.deploy.preflight: adds data/environments.yml."""

from __future__ import annotations

from ansible_collections.corral.deploy.plugins.plugin_utils.data_action import DataActionBase


class ActionModule(DataActionBase):
    MODULE = "corral.deploy.preflight"
    DATA_FILE = "environments.yml"
