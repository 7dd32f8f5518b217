"""Verify roles/helm (airgap mode, the real helm v4 binary) inside the Molecule instance."""

testinfra_hosts = ["all"]


def test_helm_binary_installed_and_runs(host):
    helm = host.file("/usr/local/bin/helm")
    assert helm.exists and helm.mode == 0o755 and helm.user == "root"
    out = host.check_output("/usr/local/bin/helm version --short")
    assert out.startswith("v4.")


def test_helm_renders_a_chart(host):
    host.check_output("rm -rf /tmp/hc && /usr/local/bin/helm create /tmp/hc >/dev/null")
    out = host.check_output("/usr/local/bin/helm template demo /tmp/hc")
    assert "kind: Deployment" in out
