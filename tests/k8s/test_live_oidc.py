"""The Helm chart with OIDC sign-in on the real cluster, against a real provider: Debian's
glewlwyd (scripts/idp.py) on the node's address over HTTPS, its certificate from a CA made
for the test (the chart's auth.oidc.caConfigMap), the agent's egress to it opened with
networkPolicy.agentExtraEgress and the client secret in a Secret (auth.oidc.existingSecret).
Through `kubectl port-forward` of the ui Service, a real Chromium signs in at the provider,
asks, sees its history and signs out; a second user sees nothing of the first's; the admin
group's member gets the admin page and the analyst does not; uninstall leaves nothing.

The provider of tests/oidc listens on loopback with plain http, which a pod cannot reach
(its loopback is its own) and which the agent refuses for any other host: hence a second
provider here, started the same way."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import ROOT, Cluster
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from oidc.idp import ADMIN_GROUP, ANALYST_GROUP, idp_script, sign_in_at_idp_page
from playwright.sync_api import expect
from test_live_chart import image_values, leftovers
from ui.conftest import CHROMIUM, CHROMIUM_ARGS
from ui.ui_helpers import answers, ask_and_wait, open_app, table_of

pytestmark = [pytest.mark.k8s, pytest.mark.browser]

CHART = ROOT / "charts" / "corral"
NS = RELEASE = "corral-oidc"  # the chart's fullname is the release name (it contains "corral")
ISLANDS = "How many penguins are there on each island?"
# What the tests of this module hand on to the next (they run in file order).
seen: dict[str, str] = {}


def node_ip(cluster: Cluster) -> str:
    return cluster.kubectl("get", "nodes", "-o", "jsonpath={.items[0].status.addresses"
                           "[?(@.type=='InternalIP')].address}").stdout.strip()


@pytest.fixture(scope="module")
def idp(k8s_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """glewlwyd on the node's address (pods and this host both reach it), over HTTPS."""
    if not Path(idp_script.GLEWLWYD).exists():
        pytest.skip("glewlwyd is not installed: apt-get install -y --no-install-recommends "
                    "glewlwyd")
    host = node_ip(k8s_cluster)
    try:
        idp_script.free_port(host)
    except OSError:
        pytest.skip(f"the node's address {host} is not on this machine (another cluster "
                    "through KUBECONFIG_K8S_TESTS?): the provider must listen where pods reach it")
    state = tmp_path_factory.mktemp("cluster-idp")
    # The callback is registered once the port-forward has its port (see `app_url`).
    provider = idp_script.start(state, ["http://127.0.0.1/api/auth/oidc/callback"],
                                host=host, tls=True)
    yield provider
    idp_script.stop(state)


def helm_values(idp) -> list[str]:
    """All a user sets for OIDC (README "Users and sign-in", Helm): mode, issuer, client
    id, the Secret, the CA, the admin group mapping and the agent's egress to the issuer."""
    return ["--set", "auth.mode={oidc}",
            "--set-string", f"auth.oidc.issuer={idp.issuer}",
            "--set-string", f"auth.oidc.clientId={idp_script.CLIENT_ID}",
            "--set-string", "auth.oidc.existingSecret=corral-oidc-client",
            "--set-string", "auth.oidc.caConfigMap=corral-oidc-ca",
            "--set-string", f"auth.adminGroups={{{ADMIN_GROUP}}}",
            "--set-string", f"auth.allowedGroups={{{ANALYST_GROUP},{ADMIN_GROUP}}}",
            "--set-string", f"networkPolicy.agentExtraEgress[0].cidr={idp.host}/32",
            "--set", f"networkPolicy.agentExtraEgress[0].ports={{{idp.port}}}",
            "--set", "ingress.enabled=false"]


@pytest.fixture(scope="module")
def release(k8s_cluster: Cluster, idp, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    cluster = k8s_cluster
    cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait")
    cluster.kubectl("create", "namespace", NS)
    secret = tmp_path_factory.mktemp("oidc-secret") / "client-secret"
    secret.touch(mode=0o600)
    secret.write_text(idp.client_secret)
    cluster.kubectl("-n", NS, "create", "secret", "generic", "corral-oidc-client",
                    f"--from-file=client-secret={secret}")
    cluster.kubectl("-n", NS, "create", "configmap", "corral-oidc-ca",
                    f"--from-file=ca.crt={idp.ca_file}")
    began = time.monotonic()
    out = cluster.helm("install", RELEASE, str(CHART), "-n", NS, "--wait", "--timeout", "5m",
                       *image_values(), *helm_values(idp)).stdout
    print(f"\nhelm install with OIDC: {time.monotonic() - began:.1f} s")
    seen["notes"] = out
    yield cluster
    cluster.helm("uninstall", RELEASE, "-n", NS, "--wait", check=False)
    cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="module")
def app_url(release: Cluster, idp) -> Iterator[str]:
    """The ui Service on a local port (kubectl port-forward), registered at the provider."""
    with release.ui_forward(NS, RELEASE) as url:
        idp_script.set_redirect_uris(idp, [f"{url}/api/auth/oidc/callback"])
        yield url


def spki_pin(cert_pem: Path) -> str:
    """Chromium's pin of a certificate's key: base64 of the SHA-256 of its SPKI."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="module")
def browser(idp) -> Iterator[object]:
    """Debian's chromium trusting the provider's certificate, and only that one, by its
    key pin (it has no flag to add a CA; a person's browser would have the company CA)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    pin = spki_pin(Path(idp.state_dir) / "tls-cert.pem")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            *CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"])
        yield chromium
        chromium.close()


@pytest.fixture()
def context(browser) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    ctx.set_default_timeout(60_000)
    yield ctx
    ctx.close()


def sign_in_with_oidc(context, app_url: str, idp, username: str):
    """From Corral's sign-in page, through the provider's, back signed in."""
    page = open_app(context, app_url)
    page.wait_for_selector("body[data-view=signin][data-ready=true]", state="attached")
    assert page.locator("#signin-form").count() == 0, "auth.mode [oidc]: no password form"
    page.locator("#oidc-login").click()
    page.wait_for_url(f"{idp.base_url}/**")
    sign_in_at_idp_page(page, username)
    page.wait_for_url(f"{app_url}/")
    page.wait_for_selector("body[data-ready=true]:not([data-view=signin])", state="attached")
    return page


def test_helm_notes_say_how_to_finish_the_oidc_setup(release, idp):
    notes = seen["notes"]
    assert f"people sign in at {idp.issuer}" in notes
    assert "http://localhost:8080/api/auth/oidc/callback" in notes
    assert "create secret generic corral-oidc-client --from-file=client-secret=FILE" in notes
    assert "agentExtraEgress is empty" not in notes


def test_sign_in_ask_history_no_admin_page_and_sign_out(context, app_url, idp):
    began = time.monotonic()
    page = sign_in_with_oidc(context, app_url, idp, "alice")
    print(f"\nOIDC sign-in through the chart: {time.monotonic() - began:.2f} s")
    expect(page.locator("#account-name")).to_have_text("Alice Analyst")
    expect(page.locator("#account-role")).to_have_text("analyst")

    ask_and_wait(page, ISLANDS, 1)
    _, rows = table_of(answers(page).first)
    assert sorted(r[0] for r in rows) == ["Biscoe", "Dream", "Torgersen"]
    history = page.locator("#conversation-list .conversation-title")
    expect(history).to_have_count(1)
    assert history.first.inner_text() == ISLANDS
    seen["alice_conversation"] = page.evaluate("localStorage.getItem('corral.conversationId')")
    assert seen["alice_conversation"]

    # Not in the admin group: no admin page, and the admin API refuses.
    assert page.locator("#nav-admin").count() == 0
    page.goto(f"{app_url}/#admin")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    expect(page.locator("#admin-denied")).to_have_text("The admin page needs the admin role.")
    assert context.request.get(f"{app_url}/api/admin/audit").status == 403

    # Signing out ends the session here and sends the browser to the provider's sign-out
    # (glewlwyd's end_session forwards to its own page: login.html?prompt=end_session).
    with page.expect_navigation():
        page.locator("#sign-out").click()
    page.wait_for_url(f"{idp.base_url}/**prompt=end_session*")
    for path in ("/api/auth/me", "/api/conversations"):
        assert context.request.get(app_url + path).status == 401, path
    assert page.errors == []


def test_the_admin_sees_the_admin_page_but_not_another_users_conversation(context, app_url,
                                                                         idp):
    page = sign_in_with_oidc(context, app_url, idp, "bob")
    expect(page.locator("#account-name")).to_have_text("Bob Admin")
    expect(page.locator("#account-role")).to_have_text("admin")
    # Admin or not, another person's conversation is neither listed nor opened.
    expect(page.locator("#history-empty")).to_be_visible()
    assert page.locator("#conversation-list li").count() == 0
    theirs = seen["alice_conversation"]
    listed = context.request.get(f"{app_url}/api/conversations").json()
    assert theirs not in [c["id"] for c in listed]
    assert context.request.get(f"{app_url}/api/conversations/{theirs}").status == 404

    # The admin page: the audit of every run, with who asked.
    page.locator("#nav-admin").click()
    expect(page.locator("#conversation-title")).to_have_text("Admin")
    row = page.locator(".audit-table tbody tr").filter(
        has=page.locator(".audit-question", has_text=ISLANDS)).first
    expect(row.locator(".audit-user")).to_have_text("alice")
    assert page.errors == []


def test_uninstall_leaves_nothing(release: Cluster):
    release.helm("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "3m")
    assert leftovers(release, RELEASE, NS) == ""
    assert release.helm("list", "-n", NS, "-q").stdout.strip() == ""
    release.kubectl("delete", "namespace", NS, "--wait", "--timeout", "120s")
    assert release.kubectl("get", "namespace", NS, check=False).returncode != 0
