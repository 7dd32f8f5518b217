# Copyright: Corral contributors
# Apache-2.0
"""Action base that hands a collection data file to its module as `_definitions`.

Why: modules run on the target, which only receives Python module_utils. The data that
defines environments and runtime profiles lives once in the collection's data/ folder;
the action plugin reads it on the controller and passes it along with the task's arguments.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.corral.deploy.plugins.plugin_utils.data import load_data


class DataActionBase(ActionBase):
    """Run MODULE with the task's arguments plus `_definitions` from DATA_FILE."""

    MODULE = ""
    DATA_FILE = ""
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        args.setdefault("_definitions", load_data(self.DATA_FILE))
        result.update(
            self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        )
        return result
