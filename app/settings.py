"""Every setting of the agent server, read once from the environment and validated.

A bad value stops the server at start-up with a message that names the variable
(see `load_settings`). The README's configuration table lists the same fields.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import sys
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.hostnames import HostRule, Network, parse_allowed_hosts, parse_networks

_MEMORY = re.compile(r"^[1-9][0-9]*[kmg]$")
AUTH_MODES = ("local", "oidc", "proxy")
# Memory one idle warm sandbox holds (runner with DuckDB, pandas and its connection),
# rounded up from the measurement in the README's "Performance" section.
WARM_SANDBOX_IDLE_MEMORY = 96 * 1024**2


def _size_bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(size[:-1]) * units[size[-1]]


class SettingsError(Exception):
    """Raised with one line per bad variable, each naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    execution_mode: Literal["docker", "bwrap", "k8s", "unsafe-local"] = Field(
        "docker",
        description="Sandbox backend. unsafe-local runs code with no isolation and must be "
        "acknowledged with ALLOW_UNSAFE_LOCAL=true.",
    )
    allow_unsafe_local: bool = False
    max_rows: int = Field(200, ge=1, le=10000)
    run_timeout_ms: int = Field(5000, ge=100, le=600000)
    max_output_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Columns of one result table; a wider one is refused (runner/schema.json max_columns).
    max_columns: int = Field(500, ge=1, le=10000)
    datasets_path: Path = Field(
        Path("/data"), description="Where the agent server reads the datasets and manifest."
    )
    max_sandboxes: int = Field(4, ge=1, le=256)
    sandbox_memory_limit: str = Field("512m", description="e.g. 256m, 1g")
    sandbox_cpu_limit: float = Field(0.5, gt=0, le=64)
    sandbox_pids_limit: int = Field(64, ge=8, le=4096)
    # Added to RUN_TIMEOUT_MS before the executor kills a sandbox from outside: covers
    # sandbox start-up and lets the runner report its own timeout first.
    sandbox_grace_ms: int = Field(3000, ge=0, le=60000)
    # bwrap mode: /tmp size inside the sandbox (docker mode uses a fixed 64m tmpfs).
    sandbox_tmp_size: str = Field("64m", description="e.g. 64m")
    # bwrap mode: run even where no cgroup can cap the whole sandbox (memory, tasks), with
    # per-process rlimits only. /readyz then says so. Off: bwrap mode refuses to start.
    bwrap_allow_per_process_limits: bool = False
    # Warm pool (docker and bwrap): sandboxes started and warmed ahead of time, each used
    # by exactly one run, then destroyed. 0 turns it off. They count against MAX_SANDBOXES:
    # the pool refills only while runs in flight + warm + warming stay below it.
    warm_pool_size: int = Field(2, ge=0, le=64)
    # A warm sandbox older than this is destroyed and replaced.
    warm_pool_max_idle_s: int = Field(300, ge=10, le=86400)
    # What the warm sandboxes may hold in memory while idle, all together; each is counted
    # at WARM_SANDBOX_IDLE_MEMORY (measured: README "Performance").
    warm_pool_memory_budget: str = Field("256m", description="e.g. 256m, 1g")
    runner_image: str = Field("corral/runner:latest", min_length=1)
    # Names this deployment on a shared engine: its sandboxes carry it as a label, and its
    # start-up sweep (and `make clean`) removes only sandboxes with the same one.
    deployment_id: str = Field("default", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
    # Docker mode: where runner containers get /data. Empty = baked into the runner
    # image. Otherwise a named volume or an absolute host path, mounted read-only. Only a
    # host path lets a run get just the files its user may see (visible_to): with any
    # visible_to in the manifest the others refuse to start (executors/data_files.py).
    runner_datasets_source: str = ""
    # bwrap mode: the runner's Python and source tree on this host.
    # The agent's own interpreter has the runner's dependencies (same pyproject groups).
    runner_python: Path = Path(sys.executable)
    runner_dir: Path = Field(Path(__file__).resolve().parent.parent / "runner")
    k8s_namespace: str = ""
    k8s_runner_labels: str = "app.kubernetes.io/component=runner"
    # k8s mode: the chart's runner pod template (labels, resources, securityContext,
    # datasets volume, TTL) as a JSON file from its ConfigMap. Empty = built from the
    # settings here. Labels/policy come from one place in the chart, so they cannot drift.
    k8s_runner_template: str = ""
    # k8s mode: "" = datasets baked into the runner image; "pvc:NAME" or
    # "configmap:NAME" = that volume mounted read-only at /data.
    k8s_datasets_source: str = Field("", pattern=r"^$|^(pvc|configmap):[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    k8s_job_ttl_s: int = Field(300, ge=0, le=86400)
    # Added to the run timeout for activeDeadlineSeconds: scheduling + image pull time.
    k8s_startup_grace_s: int = Field(60, ge=5, le=3600)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    # The key as a file (a mounted Secret, as the Helm chart does); read when LLM_API_KEY
    # is empty, so the key never has to sit in the environment.
    llm_api_key_file: str = ""
    llm_timeout_s: float = Field(60.0, gt=0, le=600)
    database_url: str = "sqlite:///./var/corral.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cors_origins: str = ""
    # Where `python -m app` listens (the images run uvicorn with --host/--port instead).
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # When set, the agent server also serves the static web UI from this folder at /
    # (venv deployments and tests need no separate web server).
    ui_dir: Path | None = None
    # Host header allow-list (app/api/hosts.py): any other Host gets 421 before a handler
    # runs, which is what defeats DNS rebinding. Port ignored; ".example.com" = the domain
    # and its subdomains.
    allowed_hosts: str = "localhost,127.0.0.1,::1"
    # Peers (IPs/CIDRs) whose X-Forwarded-Proto/-For and proxy identity header are believed
    # (app/auth/proxy.py); from anyone else those headers are ignored.
    trusted_proxies: str = ""
    auth_proxy_user_header: str = Field("X-Forwarded-User", pattern=r"^[A-Za-z0-9-]{1,64}$")
    auth_proxy_groups_header: str = Field("X-Forwarded-Groups", pattern=r"^[A-Za-z0-9-]{1,64}$")
    # Per-user limits beside MAX_SANDBOXES (app/user_limits.py).
    user_runs_per_minute: int = Field(30, ge=1, le=10000)
    user_max_sandboxes: int = Field(2, ge=1, le=256)

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, v: str) -> str:
        parse_allowed_hosts(v)
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, v: str) -> str:
        parse_networks(v)
        return v

    # --- identity and access (README "Users and sign-in") ---------------------------
    # Comma list of local, oidc, proxy; or exactly "none" (no sign-in: only with a
    # loopback HOST, only for loopback peers, logged loudly at start-up).
    auth_mode: str = "local"
    session_max_age_s: int = Field(28800, ge=60, le=30 * 86400)
    session_idle_timeout_s: int = Field(1800, ge=1, le=30 * 86400)
    # auto: Secure when the request came over https.
    cookie_secure: Literal["auto", "true", "false"] = "auto"
    login_max_failures: int = Field(5, ge=1, le=100)
    # The first lockout; each further one doubles, capped at one hour (app/auth/lockout.py).
    login_lockout_s: int = Field(60, ge=1, le=3600)
    api_token_max_days: int = Field(365, ge=1, le=3650)
    # OIDC and proxy sign-in map groups to roles (app/auth/oidc_accounts.py, app/auth/proxy.py).
    admin_groups: str = ""
    allowed_groups: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_client_secret_file: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_groups_claim: str = "groups"
    oidc_redirect_url: str = ""
    # PEM CA certificates the provider's TLS certificate may chain to, beside the public
    # ones (an identity provider behind a company CA); "" = the public CAs only.
    oidc_ca_file: str = ""

    @field_validator("ui_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v == "" else v

    @field_validator("ui_dir")
    @classmethod
    def _ui_dir_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not (v / "index.html").is_file():
            raise ValueError(f"expected a folder containing index.html; {v} has none")
        return v

    @field_validator("auth_mode")
    @classmethod
    def _auth_mode(cls, v: str) -> str:
        modes = [m.strip().lower() for m in v.split(",") if m.strip()]
        if modes == ["none"]:
            return "none"
        bad = [m for m in modes if m not in AUTH_MODES]
        if not modes or bad:
            raise ValueError(f"expected a comma list of {', '.join(AUTH_MODES)}, "
                             "or exactly none")
        return ",".join(dict.fromkeys(modes))

    @field_validator("oidc_issuer", "oidc_redirect_url")
    @classmethod
    def _oidc_url(cls, v: str) -> str:
        """An absolute http(s) URL without query or fragment; plain http only on loopback
        (tokens and codes cross it)."""
        if not v:
            return v
        url = urlsplit(v)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("expected an absolute URL such as https://idp.example.com/realm")
        if url.query or url.fragment:
            raise ValueError("expected a URL without ?query or #fragment")
        if url.scheme == "http" and not is_loopback(url.hostname):
            raise ValueError("plain http is accepted only for a loopback host; use https")
        return v  # as given: the ID token's iss must equal it exactly, trailing slash too

    @field_validator("oidc_client_id")
    @classmethod
    def _oidc_client_id(cls, v: str) -> str:
        if v and not re.fullmatch(r"[\x21-\x7e]{1,255}", v):
            raise ValueError("expected 1 to 255 printable ASCII characters, no spaces")
        return v

    @field_validator("oidc_scopes")
    @classmethod
    def _oidc_scopes(cls, v: str) -> str:
        scopes = v.split()
        if "openid" not in scopes or not all(re.fullmatch(r"[\x21-\x7e]+", s) for s in scopes):
            raise ValueError("expected a space-separated scope list that includes openid")
        return " ".join(scopes)

    @field_validator("oidc_groups_claim")
    @classmethod
    def _oidc_groups_claim(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_:./-]{1,100}", v):
            raise ValueError("expected a claim name such as groups or roles")
        return v

    @field_validator("cookie_secure", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("sandbox_memory_limit", "sandbox_tmp_size", "warm_pool_memory_budget")
    @classmethod
    def _memory(cls, v: str) -> str:
        v = v.strip().lower()
        if not _MEMORY.match(v):
            raise ValueError("expected a size like 256m or 1g")
        return v

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        if not v.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("expected sqlite:///PATH or postgresql://USER:PASS@HOST/DB")
        return v

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as http://localhost:11434/v1")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.execution_mode == "unsafe-local" and not self.allow_unsafe_local:
            raise ValueError(
                "EXECUTION_MODE=unsafe-local runs LLM-written code with no sandbox; "
                "set ALLOW_UNSAFE_LOCAL=true to accept that"
            )
        self._warm_pool_fits()
        if self.auth_mode == "none" and not is_loopback(self.host):
            raise ValueError(
                f"AUTH_MODE=none serves everyone without sign-in; it is accepted only with "
                f"HOST a loopback address (got HOST={self.host!r})"
            )
        if self.llm_base_url and not self.llm_model:
            raise ValueError("LLM_BASE_URL is set but LLM_MODEL is empty; name the model")
        if self.llm_api_key_file and not self.llm_api_key:
            try:
                self.llm_api_key = Path(self.llm_api_key_file).read_text().strip()
            except OSError as exc:
                raise ValueError(f"LLM_API_KEY_FILE cannot be read: {exc}") from None
        if "oidc" in self.auth_modes:
            self._oidc_complete()
        return self

    @model_validator(mode="after")
    def _proxy_needs_trusted_peers(self) -> Settings:
        if "proxy" in self.auth_modes and not self.trusted_proxies.strip():
            raise ValueError("AUTH_MODE includes proxy but TRUSTED_PROXIES is empty; name the "
                             "authenticating proxy's addresses, or its header would be "
                             "believed from no one")
        return self

    def _oidc_complete(self) -> None:
        """AUTH_MODE includes oidc: issuer, client id and a secret (or its file) are needed."""
        if not self.oidc_issuer:
            raise ValueError("AUTH_MODE includes oidc but OIDC_ISSUER is empty; set the "
                             "identity provider's issuer URL")
        if not self.oidc_client_id:
            raise ValueError("AUTH_MODE includes oidc but OIDC_CLIENT_ID is empty; set the "
                             "client id registered at the identity provider")
        if self.oidc_client_secret_file and not self.oidc_client_secret:
            try:
                self.oidc_client_secret = Path(self.oidc_client_secret_file).read_text().strip()
            except OSError as exc:
                raise ValueError(f"OIDC_CLIENT_SECRET_FILE cannot be read: {exc}") from None
        if not self.oidc_client_secret:
            raise ValueError("AUTH_MODE includes oidc but neither OIDC_CLIENT_SECRET nor "
                             "OIDC_CLIENT_SECRET_FILE gives the client secret")
        if self.oidc_ca_file:
            try:
                ssl.create_default_context(cafile=self.oidc_ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"OIDC_CA_FILE is not a readable PEM file of CA "
                                 f"certificates: {exc}") from None

    def _warm_pool_fits(self) -> None:
        need = self.warm_pool_size * WARM_SANDBOX_IDLE_MEMORY
        if need > _size_bytes(self.warm_pool_memory_budget):
            raise ValueError(
                f"WARM_POOL_SIZE={self.warm_pool_size} warm sandboxes need about "
                f"{need // 1024**2}m idle ({WARM_SANDBOX_IDLE_MEMORY // 1024**2}m each), more "
                f"than WARM_POOL_MEMORY_BUDGET={self.warm_pool_memory_budget}; raise the "
                "budget or lower WARM_POOL_SIZE"
            )

    @cached_property
    def allowed_host_rules(self) -> tuple[HostRule, ...]:
        return parse_allowed_hosts(self.allowed_hosts)

    @cached_property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @cached_property
    def cors_origin_set(self) -> set[str]:
        return {o.strip().lower().rstrip("/") for o in self.cors_origins.split(",") if o.strip()}

    @property
    def auth_modes(self) -> list[str]:
        """The sign-in modes, e.g. ["local", "oidc"]; [] for AUTH_MODE=none."""
        return [] if self.auth_mode == "none" else self.auth_mode.split(",")

    @property
    def memory_limit_bytes(self) -> int:
        return _size_bytes(self.sandbox_memory_limit)


def running_settings(app: object) -> Settings | None:
    """The settings a started app runs with (None before start-up has finished): for the
    middleware of an app built without explicit settings (`uvicorn app.main:app`)."""
    services = getattr(getattr(app, "state", None), "services", None)
    return services.settings if services is not None else None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (a name that resolves only to loopback)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = field.upper() if err["loc"] else "configuration"
            # A model-level error's input is every setting, secrets included: not shown.
            got = f" (got {err.get('input')!r})" if err["loc"] else ""
            lines.append(f"{name}: {err['msg']}{got}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
