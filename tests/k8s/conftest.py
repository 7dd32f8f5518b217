"""Fixtures of the Kubernetes suites: the session's real cluster (see cluster.py)."""

from cluster import k8s_cluster  # noqa: F401  (a session fixture, shared by every k8s test)
