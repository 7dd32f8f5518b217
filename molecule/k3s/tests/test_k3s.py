"""Verify what roles/k3s writes (airgap mode, STAND-IN binary, k3s not started).

Verified here: config.yaml content, the systemd unit (systemd-analyze verify), the
binary and the image tarball in the places the k3s airgap docs name. NOT verified:
that k3s starts, that the node gets Ready, that the kubeconfig is written (needs a VM).
"""

import yaml

testinfra_hosts = ["all"]


def test_config_disables_what_corral_does_not_need(host):
    f = host.file("/etc/rancher/k3s/config.yaml")
    assert f.mode == 0o600 and f.user == "root"
    config = yaml.safe_load(f.content_string)
    assert config["disable"] == ["traefik", "servicelb", "metrics-server"]
    assert config["write-kubeconfig-mode"] == "0600"
    assert config["secrets-encryption"] is True
    assert config["tls-san"] == ["corral.example.com"]


def test_unit_is_valid_and_runs_the_server_with_the_config(host):
    unit = host.file("/etc/systemd/system/k3s.service").content_string
    assert "ExecStart=/usr/local/bin/k3s server --config /etc/rancher/k3s/config.yaml" in unit
    assert "Type=notify" in unit and "Delegate=yes" in unit
    verify = host.run("systemd-analyze verify /etc/systemd/system/k3s.service")
    assert verify.rc == 0, verify.stderr


def test_airgap_files_are_where_k3s_looks(host):
    binary = host.file("/usr/local/bin/k3s")
    assert binary.mode == 0o755
    assert "stand-in for k3s" in binary.content_string
    assert host.file("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst").exists
    assert host.file("/usr/local/bin/kubectl").linked_to == "/usr/local/bin/k3s"


def test_k3s_was_not_started(host):
    assert not host.service("k3s").is_running
