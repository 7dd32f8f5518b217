#!/usr/bin/env python3
"""A real OpenID Connect provider for tests and local trials: Debian's glewlwyd on a
loopback port, its state under build/idp/, configured through its admin API with an
OIDC plugin (fresh RS256 key), a confidential client `corral` and two users.

    scripts/idp.py start [--redirect-uri URL ...]   prints the issuer URL, leaves it running
    scripts/idp.py start --host 10.213.0.1 --tls   on another address, over HTTPS
    scripts/idp.py stop

Corral accepts plain http for an issuer only on loopback, so a provider that pods must
reach (the Helm chart's test) listens on the node's address with TLS: a CA made for the
occasion signs its certificate, and `ca.pem` in the state folder is what clients trust.

glewlwyd was chosen over lemonldap-ng and simplesamlphp because it is one C daemon with
SQLite and its own HTTP server: no Apache/nginx, PHP-FPM or Perl FastCGI to wire up, and
it starts in well under a second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[1]
GLEWLWYD = "/usr/bin/glewlwyd"
SCHEMA = Path("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3")
WEBAPP = Path("/usr/share/glewlwyd/webapp")
MODULES = Path("/usr/lib/glewlwyd")
# Debian's install script seeds this admin; we change the password right after start.
SEED_ADMIN = ("admin", "password")
PLUGIN = "oidc"  # the plugin instance name is the issuer's path: http://host:port/api/oidc
CLIENT_ID = "corral"
ADMIN_GROUP = "corral-admins"
ANALYST_GROUP = "corral-analysts"


@dataclass
class TestUser:
    username: str
    password: str
    name: str
    email: str
    groups: list[str] = field(default_factory=list)


USERS = [
    TestUser("alice", "alice-password-1", "Alice Analyst", "alice@example.org", [ANALYST_GROUP]),
    TestUser("bob", "bob-password-1", "Bob Admin", "bob@example.org", [ANALYST_GROUP, ADMIN_GROUP]),
    TestUser("mallory", "mallory-password-1", "Mallory Outsider", "mallory@example.org", []),
]


@dataclass
class Idp:
    """What a client needs to talk to the running provider."""

    state_dir: Path
    port: int
    admin_password: str
    client_secret: str
    pid: int = 0
    host: str = "127.0.0.1"
    ca_file: str = ""  # set: HTTPS with a certificate this CA signed

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ca_file else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client passes as verify= to talk to this provider."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/api/{PLUGIN}"

    def to_json(self) -> str:
        return json.dumps(
            {**self.__dict__, "state_dir": str(self.state_dir), "issuer": self.issuer}
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 signer: ec.EllipticCurvePrivateKey, extensions: list) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=2)))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def make_certificates(state: Path, host: str) -> Path:
    """A throw-away CA (state/ca.pem) and the provider's certificate for `host`, signed
    by it (state/tls-cert.pem, key 0600): what an identity provider behind a company CA
    looks like to its clients, who trust that CA and nothing looser."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = _certificate("Corral test identity provider CA", ca_key, x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Corral test identity provider CA")]), ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
        (ca_ski, False)])
    try:
        name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        name = x509.DNSName(host)
    leaf = _certificate(host, key, ca.subject, ca_key, [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(True, False, False, False, False, False, False, False, False), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.SubjectAlternativeName([name]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False)])
    pem = serialization.Encoding.PEM
    (state / "ca.pem").write_bytes(ca.public_bytes(pem))
    (state / "tls-cert.pem").write_bytes(leaf.public_bytes(pem))
    key_file = state / "tls-key.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return state / "ca.pem"


def tls_lines(state: Path, idp: Idp) -> str:
    if not idp.ca_file:
        return ""
    return (f'use_secure_connection=true\n'
            f'secure_connection_key_file="{state}/tls-key.pem"\n'
            f'secure_connection_pem_file="{state}/tls-cert.pem"\n')


def write_config(state: Path, idp: Idp) -> Path:
    """glewlwyd's libconfig file: one address (loopback unless told), HTTP or HTTPS,
    SQLite under `state`."""
    webapp = state / "webapp"
    # The login page: a copy (the static file server will not follow symlinks) with its
    # own config.json (Debian's is a link into /etc).
    if not webapp.exists():
        shutil.copytree(WEBAPP, webapp, ignore=shutil.ignore_patterns("config.json"))
    app_config = json.loads(Path("/etc/glewlwyd/config-2.7.json/config.json").read_text())
    app_config["GlewlwydUrl"] = f"{idp.base_url}/"
    (webapp / "config.json").write_text(json.dumps(app_config))
    conf = state / "glewlwyd.conf"
    conf.write_text(
        f"""port={idp.port}
bind_address="{idp.host}"
external_url="{idp.base_url}"
{tls_lines(state, idp)}login_url="login.html"
api_prefix="api"
static_files_path="{webapp}/"
allow_origin="*"
log_mode="file"
log_level="INFO"
log_file="{state}/glewlwyd.log"
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
add_x_frame_option_header_deny=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="{MODULES}/user"
client_module_path="{MODULES}/client"
user_auth_scheme_module_path="{MODULES}/scheme"
plugin_module_path="{MODULES}/plugin"
hash_algorithm="SHA512"
database = {{ type = "sqlite3"; path = "{state}/glewlwyd.db"; }};
static_files_mime_types = (
  {{ extension = ".html"; mime_type = "text/html"; }},
  {{ extension = ".css"; mime_type = "text/css"; }},
  {{ extension = ".js"; mime_type = "application/javascript"; }},
  {{ extension = ".json"; mime_type = "application/json"; }},
  {{ extension = ".png"; mime_type = "image/png"; }},
  {{ extension = ".ico"; mime_type = "image/x-icon"; }},
  {{ extension = ".woff"; mime_type = "font/woff"; }},
  {{ extension = ".woff2"; mime_type = "font/woff2"; }},
  {{ extension = ".ttf"; mime_type = "font/ttf"; }}
);
"""
    )
    return conf


def _add_property(db: sqlite3.Connection, table: str, prefix: str, name: str,
                  spec: dict[str, bool]) -> None:
    """Declare one more stored property in the `database` backend of a glewlwyd module
    instance (users or clients): its data-format lives in the instance's JSON parameters."""
    params_col, name_col = f"{prefix}_parameters", f"{prefix}_name"
    row = db.execute(f"SELECT {params_col} FROM {table} WHERE {name_col}='database'")
    params = json.loads(row.fetchone()[0])
    params["data-format"][name] = spec
    db.execute(f"UPDATE {table} SET {params_col}=? WHERE {name_col}='database'",
               (json.dumps(params),))


def init_database(state: Path) -> None:
    """Debian's schema and seed rows, plus a `groups` attribute on database users and
    `post_logout_redirect_uris` on database clients."""
    db = sqlite3.connect(state / "glewlwyd.db")
    db.executescript(SCHEMA.read_text())
    _add_property(db, "g_user_module_instance", "gumi", "groups", {
        "multiple": True, "read": True, "write": True,
        "profile-read": True, "profile-write": False,
    })
    # The OIDC plugin reads a client's sign-out return addresses from this property.
    _add_property(db, "g_client_module_instance", "gcmi", "post_logout_redirect_uris",
                  {"multiple": True, "read": True, "write": True})
    db.commit()
    db.close()


def wait_listening(idp: Idp, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"glewlwyd exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{idp.base_url}/api/", timeout=2, verify=idp.verify).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"glewlwyd did not answer on {idp.base_url} within 30 s")


def admin_session(idp: Idp, password: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{idp.base_url}/api", timeout=10, verify=idp.verify)
    answer = client.post("/auth/", json={"username": SEED_ADMIN[0], "password": password})
    answer.raise_for_status()
    return client


def call(client: httpx.Client, method: str, path: str, body: object = None) -> None:
    answer = client.request(method, path, json=body)
    if answer.status_code >= 400:
        raise RuntimeError(f"glewlwyd {method} {path}: {answer.status_code} {answer.text}")


def oidc_plugin(idp: Idp) -> dict[str, object]:
    """The plugin instance: RS256 key made now, code flow + refresh, PKCE, `groups` and
    `preferred_username` claims. The private key stays in the state folder (0600) so
    tests can sign tokens exactly as this provider would, with one claim wrong."""
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"})
    key.ensure_kid()
    jwks = json.dumps({"keys": [key.as_dict(private=True)]})
    key_file = idp.state_dir / "signing-key.json"
    key_file.touch(mode=0o600)
    key_file.write_text(json.dumps(key.as_dict(private=True)))
    return {
        "module": "oidc",
        "name": PLUGIN,
        "display_name": "OpenID Connect",
        "enabled": True,
        "parameters": {
            "iss": idp.issuer,
            "jwt-type": "rsa",
            "jwt-key-size": "256",
            "jwks-private": jwks,
            "default-kid": key.kid,
            "jwks-show": True,
            "access-token-duration": 3600,
            "refresh-token-duration": 1209600,
            "code-duration": 600,
            "refresh-token-rolling": True,
            "allow-non-oidc": False,
            "auth-type-code-enabled": True,
            "auth-type-token-enabled": False,
            "auth-type-id-token-enabled": False,
            "auth-type-none-enabled": False,
            "auth-type-password-enabled": False,
            "auth-type-client-enabled": False,
            "auth-type-refresh-enabled": True,
            "secret-type": "public",
            "name-claim": "mandatory",
            "email-claim": "mandatory",
            "scope-claim": "no",
            "allowed-scope": ["openid", "profile", "email"],
            "pkce-allowed": True,
            "pkce-method-plain-allowed": False,
            "session-management-allowed": True,
            "session-cookie-name": "GLEWLWYD2_OIDC_SID",
            "session-cookie-expiration": 3600,
            "claims": [
                {
                    "name": "preferred_username",
                    "user-property": "username",
                    "type": "string",
                    "boolean-value-true": "",
                    "boolean-value-false": "",
                    "mandatory": True,
                    "on-demand": False,
                    "scope": [],
                },
                {
                    "name": "groups",
                    "user-property": "groups",
                    "type": "string",
                    "boolean-value-true": "",
                    "boolean-value-false": "",
                    "mandatory": True,
                    "on-demand": False,
                    "scope": [],
                },
            ],
            "address-claim": {"type": "no", "mandatory": False},
        },
    }


def client_body(idp: Idp, redirect_uris: list[str]) -> dict[str, object]:
    """The confidential client `corral`: code flow with refresh tokens, basic auth."""
    return {
        "client_id": CLIENT_ID,
        "name": "Corral",
        "enabled": True,
        "confidential": True,
        "password": idp.client_secret,
        "client_secret": idp.client_secret,
        "token_endpoint_auth_method": ["client_secret_basic"],
        "redirect_uri": redirect_uris,
        "authorization_type": ["code", "refresh_token"],
        "scope": ["openid", "profile", "email"],
        # Sign-out returns to the app's front page (the origin of the callback).
        "post_logout_redirect_uris": [uri.split("/api/")[0] + "/" for uri in redirect_uris],
    }


def set_redirect_uris(idp: Idp, redirect_uris: list[str]) -> None:
    """Register the callback of an app that started after the provider (tests)."""
    admin = admin_session(idp, idp.admin_password)
    try:
        call(admin, "PUT", f"/client/{CLIENT_ID}", client_body(idp, redirect_uris))
    finally:
        admin.close()


def configure(idp: Idp, redirect_uris: list[str]) -> None:
    admin = admin_session(idp, SEED_ADMIN[1])
    try:
        call(
            admin,
            "PUT",
            f"/user/{SEED_ADMIN[0]}",
            {
                "username": SEED_ADMIN[0],
                "name": "The Administrator",
                "enabled": True,
                "scope": ["g_admin", "g_profile"],
                "password": idp.admin_password,
            },
        )
        call(
            admin,
            "PUT",
            "/scope/openid",
            {
                "name": "openid",
                "display_name": "Open ID",
                "description": "Open ID Connect scope",
                "password_required": True,
                "password_max_age": 3600,
                "scheme": {},
            },
        )
        for scope in ("profile", "email"):
            call(
                admin,
                "POST",
                "/scope/",
                {
                    "name": scope,
                    "display_name": scope,
                    "description": f"OIDC {scope} claims",
                    "password_required": True,
                    "password_max_age": 3600,
                    "scheme": {},
                },
            )
        call(admin, "POST", "/mod/plugin/", oidc_plugin(idp))
        call(admin, "POST", "/client/", client_body(idp, redirect_uris))
        for user in USERS:
            call(
                admin,
                "POST",
                "/user/",
                {
                    "username": user.username,
                    "password": user.password,
                    "name": user.name,
                    "email": user.email,
                    "enabled": True,
                    "scope": ["openid", "profile", "email"],
                    "groups": user.groups,
                },
            )
    finally:
        admin.close()


def state_file(state: Path) -> Path:
    return state / "idp.json"


def start(state: Path, redirect_uris: list[str], host: str = "127.0.0.1",
          tls: bool = False) -> Idp:
    """A fresh provider under `state` (any previous one there is stopped and wiped),
    listening on `host`; with `tls`, over HTTPS (state/ca.pem is the CA to trust)."""
    stop(state)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    idp = Idp(state, free_port(host), os.urandom(18).hex(), os.urandom(24).hex(), host=host)
    if tls:
        idp.ca_file = str(make_certificates(state, host))
    init_database(state)
    conf = write_config(state, idp)
    log = state / "glewlwyd.out"
    process = subprocess.Popen(
        [GLEWLWYD, "--config-file", str(conf)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() signals it alone
    )
    idp.pid = process.pid
    state_file(state).touch(mode=0o600)  # it holds the client secret
    state_file(state).write_text(idp.to_json())
    try:
        wait_listening(idp, process, log)
        configure(idp, redirect_uris)
    except Exception:
        stop(state)
        raise
    return idp


def stop(state: Path) -> None:
    path = state_file(state)
    if not path.exists():
        return
    pid = json.loads(path.read_text())["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, ChildProcessError):
        pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    path.unlink()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--state", type=Path, default=ROOT / "build" / "idp")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="redirect URI to register for the client (repeatable); "
        "default http://127.0.0.1:8080/api/auth/oidc/callback",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1)")
    parser.add_argument("--tls", action="store_true",
                        help="HTTPS with a certificate from a CA made now (STATE/ca.pem)")
    args = parser.parse_args(argv)
    if not Path(GLEWLWYD).exists():
        print(
            "glewlwyd is missing: apt-get install -y --no-install-recommends glewlwyd",
            file=sys.stderr,
        )
        return 1
    if args.action == "stop":
        stop(args.state)
        return 0
    uris = args.redirect_uri or ["http://127.0.0.1:8080/api/auth/oidc/callback"]
    idp = start(args.state, uris, host=args.host, tls=args.tls)
    print(idp.issuer)
    if idp.ca_file:
        print(f"CA certificate {idp.ca_file}", file=sys.stderr)
    print(f"client id {CLIENT_ID}, secret in {state_file(args.state)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
