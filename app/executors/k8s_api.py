"""Every Kubernetes API call the K8sJobExecutor makes, as one list.

The chart's Role must grant exactly these (tests/k8s/test_k8s_chart.py compares the
rendered Role with this list), `/readyz` asks the API server about exactly these
(K8sJobExecutor.check, one SelfSubjectAccessReview each), and the real-cluster suite
runs the executor under a service account bound to the chart's Role, so a call
missing here fails there with a 403 instead of reaching users as a `crashed` run.
A new call in app/executors/k8s.py is added here first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiCall:
    verb: str
    group: str  # "" = the core API group
    resource: str
    subresource: str = ""
    why: str = ""

    @property
    def rbac_resource(self) -> str:
        """How a Role names it: pods/log for the log subresource."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


EXECUTOR_CALLS: tuple[ApiCall, ...] = (
    ApiCall("create", "batch", "jobs", why="one Job per query"),
    ApiCall("get", "batch", "jobs",
            why="why a pod vanished: the Job's Failed condition (DeadlineExceeded); read from "
                "the Job itself, never the jobs/status subresource"),
    ApiCall("list", "batch", "jobs", why="the start-up sweep of Jobs a crashed agent left"),
    ApiCall("delete", "batch", "jobs", why="remove the Job after every run"),
    ApiCall("list", "", "pods", why="find the Job's pod (and re-list after a watch expires)"),
    ApiCall("watch", "", "pods", why="follow the runner container's state"),
    ApiCall("delete", "", "pods",
            why="kill the runner at its wall-clock deadline, and remove it after every run"),
    ApiCall("get", "", "pods", "log", why="the runner's result, streamed from its stdout"),
)

# Calls the agent must NOT be able to make (the real-cluster suite asks for each).
FORBIDDEN_CALLS: tuple[ApiCall, ...] = (
    ApiCall("create", "", "pods", why="pods are made by the Job controller only"),
    ApiCall("create", "", "pods", "exec"),
    ApiCall("get", "", "secrets"),
    ApiCall("list", "", "secrets"),
    ApiCall("update", "batch", "jobs"),
    ApiCall("patch", "batch", "jobs"),
    ApiCall("get", "batch", "jobs", "status"),
    ApiCall("create", "rbac.authorization.k8s.io", "roles"),
    ApiCall("create", "rbac.authorization.k8s.io", "rolebindings"),
    ApiCall("create", "", "serviceaccounts", "token"),
    ApiCall("delete", "", "namespaces"),
    ApiCall("create", "networking.k8s.io", "networkpolicies"),
)


def role_rules(calls: tuple[ApiCall, ...] = EXECUTOR_CALLS) -> set[tuple[str, str, str]]:
    """(api group, resource[/subresource], verb) for every call: what a Role must grant."""
    return {(c.group, c.rbac_resource, c.verb) for c in calls}
