"""The one settings object, read from environment variables once per process (`get_settings()`).

Every door, worker and command gets it from its caller; nothing else reads the environment. The
alert sources' secrets and the LLM's options are nested models in it (`settings.sources`,
`settings.llm`), each read from its own variables when the settings object is made.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LIBRARY_DIR = Path(__file__).parent / "library"
DEFAULT_LLM_MODEL = "claude-sonnet-4-5"
DEFAULT_LLM_TIMEOUT = 20.0


class SourceSettings(BaseSettings):
    """Secrets and options of the alert sources.

    Every secret is a `SecretStr`, so a settings object printed in a log or a traceback shows
    `**********`. An empty variable counts as unset: `FOO=` in a compose file must not turn into
    "the token is ''".
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    alertmanager_token: SecretStr | None = Field(
        default=None, description="When set, Alertmanager must send `Authorization: Bearer <token>`."
    )
    grafana_token: SecretStr | None = Field(
        default=None, description="When set, Grafana must send it as a Bearer token or as the basic-auth password."
    )
    pagerduty_webhook_secret: SecretStr | None = Field(
        default=None, description="Signing secret of the PagerDuty v3 webhook subscription (required for that source)."
    )
    opsgenie_token: SecretStr | None = Field(
        default=None, description="When set, Opsgenie must send it in `X-Living-Runbooks-Token` (or as a Bearer token)."
    )
    datadog_token: SecretStr | None = Field(
        default=None, description="When set, Datadog must send it in `X-Living-Runbooks-Token` (or as a Bearer token)."
    )
    generic_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the generic webhook (required for that source)."
    )
    generic_webhook_mapping: str | None = Field(
        default=None,
        description="JSON: where the generic webhook's fields are in the posted JSON (see docs/sources.md).",
    )
    generic_webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="How old a timestamped generic delivery may be (X-Signature-Timestamp)."
    )

    @field_validator(
        "alertmanager_token", "grafana_token", "pagerduty_webhook_secret", "opsgenie_token", "datadog_token",
        "generic_webhook_secret", "generic_webhook_mapping", mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class LlmSettings(BaseModel):
    """The optional LLM help for prose runbooks: off without an API key."""

    model_config = ConfigDict(frozen=True)

    api_key: str | None = None
    model: str = DEFAULT_LLM_MODEL
    base_url: str | None = None
    timeout: float = DEFAULT_LLM_TIMEOUT

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LlmSettings:
        """ANTHROPIC_API_KEY, ANTHROPIC_MODEL, ANTHROPIC_BASE_URL, LLM_TIMEOUT_SECONDS.

        Lenient: a bad timeout falls back to the default, since the help is optional and a typo in
        it must not keep the product from starting.
        """
        env = os.environ if environ is None else environ
        try:
            timeout = float(env.get("LLM_TIMEOUT_SECONDS") or DEFAULT_LLM_TIMEOUT)
        except ValueError:
            timeout = DEFAULT_LLM_TIMEOUT
        if not (0 < timeout < 3600):  # also rejects nan
            timeout = DEFAULT_LLM_TIMEOUT
        return cls(api_key=(env.get("ANTHROPIC_API_KEY") or "").strip() or None,
                   model=(env.get("ANTHROPIC_MODEL") or "").strip() or DEFAULT_LLM_MODEL,
                   base_url=(env.get("ANTHROPIC_BASE_URL") or "").strip() or None,
                   timeout=timeout)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="State folder: app database, Temporal db, logs.")
    runbooks_dir: Path = Field(default=LIBRARY_DIR, description="Folder of Markdown/YAML runbooks loaded at start.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in DATA_DIR.")
    auto_migrate: bool = Field(default=True, description="Migrate the app database to head at start; when off, "
                               "start only if it is already there (run `runbooks db upgrade`).")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    temporal_tls: bool = Field(default=False, description="Connect to Temporal over TLS (on whenever a TLS file "
                                                          "below is set).")
    temporal_tls_ca_file: Path | None = Field(default=None, description="CA bundle that signed Temporal's server "
                                                                        "certificate; unset: the system's CAs.")
    temporal_tls_cert_file: Path | None = Field(default=None, description="Client certificate for mTLS (with the key).")
    temporal_tls_key_file: Path | None = Field(default=None, description="Client private key for mTLS.")
    temporal_tls_server_name: str | None = Field(default=None, description="Name expected in Temporal's certificate "
                                                                           "when it differs from the address's host.")
    task_queue: str = "runbooks"
    agent_offline_after_seconds: float = Field(
        default=15.0, gt=0, description="A step sent to an agent that no agent took within this many seconds shows "
                                        "'agent <name> is offline' and escalates along the runbook's chain.")
    agent_drain_seconds: float = Field(
        default=300.0, ge=0, description="`runbooks agent` on SIGTERM: stop taking steps and give the running ones "
                                         "this long to finish.")
    agents: str = Field(default="", description="Comma-separated agent names listed by GET /api/v1/agents beside "
                                                "those the runbooks name.")
    connection_sync_seconds: int = Field(
        default=3600, ge=0, description="How often a Temporal schedule re-syncs each Confluence and Notion connection "
                                        "(0: on demand only). Git connections re-import on push (their webhook).")
    connection_tokens: SecretStr | None = Field(
        default=None, description="JSON object of API tokens that connections name as `token_setting` "
                                  "({\"confluence_ops\": \"me@acme.com:ATATT...\"}): read at each sync, never stored.")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    ssh_known_hosts: str = Field(default="~/.ssh/known_hosts", description="Host keys SSH targets are checked against.")
    ssh_key_file: str | None = Field(default=None, description="Private key for SSH targets (key auth only).")
    ssh_user: str = "root"
    max_output_bytes: int = 65536
    prometheus_url: str | None = Field(default=None, description="Prometheus that verify steps' PromQL queries "
                                                                 "ask, e.g. http://prometheus:9090.")
    http_secrets: SecretStr | None = Field(
        default=None, description="JSON object of the secrets HTTP steps name as {{ secrets.NAME }} "
                                  "({\"cdn_token\": \"...\"}): filled by the worker as it sends, never stored, masked.")
    http_allow_hosts: str = Field(default="", description="Comma-separated hosts HTTP steps may call although they "
                                                          "resolve to link-local or cloud-metadata addresses.")
    heartbeat_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$",
                            description="json: one JSON object per line (with execution_id); text: for a terminal.")
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535,
                                     description="`runbooks worker` serves Prometheus /metrics on this port; 0 disables. "
                                                 "`runbooks dev` shows everything on the API's /metrics instead.")
    slack_bot_token: str | None = Field(default=None, description="Bot token (xoxb-...); Slack is off without it.")
    slack_signing_secret: str | None = Field(default=None, description="Verifies requests from Slack.")
    slack_channel: str | None = Field(default=None, description="Channel id for approvals and threads.")
    slack_api_base_url: str = Field(default="https://slack.com/api/", description="Web API base (tests, proxies).")
    slack_approvers: str = Field(default="", description="Comma-separated Slack user ids allowed to decide.")
    runbooks_encryption: bool = Field(
        default=True, description="Encrypt what Temporal stores (payloads, failures) with the key ring; `off`: "
                                  "plaintext in Temporal's database and Web UI.")
    runbooks_encryption_keys: SecretStr | None = Field(
        default=None, description="Key ring `id:base64,id:base64` (32-byte AES keys): the first encrypts, any decrypts.")
    runbooks_encryption_key_file: Path | None = Field(
        default=None, description="A file holding the key ring instead (same format, commas or one key a line); "
                                  "`runbooks dev` writes DATA_DIR/encryption.keys when neither is set.")
    codec_cors_origins: str | None = Field(
        default=None, description="Comma-separated browser origins allowed to call /codec (the Temporal Web UI); "
                                  "default http://127.0.0.1:TEMPORAL_UI_PORT and http://localhost:TEMPORAL_UI_PORT.")
    allow_self_review: bool = Field(
        default=False, description="Let an admin confirm their own runbook change (recorded as self-reviewed): for "
                                   "a first trial with one person. `make run` turns it on; compose leaves it off.")
    metrics_public: bool = Field(default=False, description="Serve /metrics without a token (for a scraper that "
                                                            "cannot send `Authorization: Bearer`).")
    trusted_proxies: str = Field(
        default="", description="Comma-separated addresses or networks of an authenticating reverse proxy "
                                "(oauth2-proxy): only from these is PROXY_USER_HEADER believed.")
    proxy_user_header: str = Field(default="X-Forwarded-User",
                                   description="The header naming the user the proxy authenticated.")
    incident_group_labels: str = Field(default="instance,service", description="Comma-separated labels, in order: "
                                       "firing alerts sharing the first one they carry are one incident.")
    incident_window_seconds: float = Field(default=300.0, gt=0, description="Alerts of one key firing within this "
                                           "many seconds of the incident's last alert join it.")
    web_session_hours: float = Field(default=12.0, gt=0, description="How long a browser stays signed in to the "
                                     "web cockpit (a session also ends with the token it signed in with).")
    web_cookie_secure: bool = Field(default=False, description="Mark the cockpit's session cookie Secure (sent over "
                                    "HTTPS only): turn on behind a TLS reverse proxy.")
    audit_key: SecretStr | None = Field(default=None, description="Key of the audit log's checkpoints (any string); "
                                                                  "the same in every process of a deployment.")
    audit_key_file: Path | None = Field(default=None, description="A file holding it instead; default "
                                                                  "DATA_DIR/audit.key, made on first use.")
    sources: SourceSettings = Field(default_factory=SourceSettings, description="Alert sources' secrets and options.")
    llm: LlmSettings = Field(default_factory=LlmSettings.from_env, description="Optional LLM help for prose runbooks.")

    @field_validator("runbooks_encryption_keys", "runbooks_encryption_key_file", "codec_cors_origins", "audit_key",
                     "audit_key_file", "http_secrets", "connection_tokens", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def http_secrets_by_name(self) -> dict[str, str]:
        """HTTP_SECRETS by name. Read here rather than validated as a field, whose error would quote the
        value; every process reads it at start (secret_values), so a typo still stops it there."""
        return http_secret_map(self.http_secrets)

    @property
    def connection_tokens_by_name(self) -> dict[str, str]:
        """CONNECTION_TOKENS by name: what a connection names as its `token_setting`."""
        return http_secret_map(self.connection_tokens, "CONNECTION_TOKENS")

    @property
    def http_allowed_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower().rstrip(".") for h in self.http_allow_hosts.split(",") if h.strip())

    @property
    def codec_origins(self) -> list[str]:
        """Origins whose pages may call /codec: the configured list, or the dev server's Web UI."""
        if self.codec_cors_origins:
            return [o.strip().rstrip("/") for o in self.codec_cors_origins.split(",") if o.strip()]
        return [f"http://127.0.0.1:{self.temporal_ui_port}", f"http://localhost:{self.temporal_ui_port}"]

    @property
    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n.strip(), strict=False) for n in self.trusted_proxies.split(",") if n.strip()]

    def workflow_url(self, workflow_id: str) -> str:
        """Where an execution is in the Temporal Web UI (the dev server's, on loopback)."""
        return (f"http://127.0.0.1:{self.temporal_ui_port}/namespaces/{self.temporal_namespace}"
                f"/workflows/{workflow_id}")

    @property
    def incident_labels(self) -> list[str]:
        return [label.strip() for label in self.incident_group_labels.split(",") if label.strip()]

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_channel)

    @property
    def approvers(self) -> set[str]:
        return {u.strip() for u in self.slack_approvers.split(",") if u.strip()}

    def secret_values(self) -> list[str]:
        """Every value a setting marked secret holds, for masking them wherever they appear in text.

        The SecretStr fields (here and in `sources`), the Slack credentials, the LLM key, the
        database password, each key of the encryption ring (and its base64 body alone) and each
        value of HTTP_SECRETS.
        """
        found: list[str] = []
        for model in (self, self.sources):
            for name in type(model).model_fields:
                value = getattr(model, name)
                if isinstance(value, SecretStr):
                    found.append(value.get_secret_value())
        found += [v for v in (self.slack_bot_token, self.slack_signing_secret, self.llm.api_key) if v]
        if self.runbooks_encryption_keys is not None:
            for entry in self.runbooks_encryption_keys.get_secret_value().replace("\n", ",").split(","):
                found.append(entry.strip().partition(":")[2].strip())
        password = make_url_password(self.database_url)
        if password:
            found.append(password)
        found += self.http_secrets_by_name.values()
        found += self.connection_tokens_by_name.values()
        return [v for v in found if v]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'runbooks.db').resolve()}"


def http_secret_map(value: SecretStr | None, setting: str = "HTTP_SECRETS") -> dict[str, str]:
    """HTTP_SECRETS (or CONNECTION_TOKENS) read: names (letters, digits, `_`) to strings; ValueError
    without the values in it."""
    if value is None:
        return {}
    try:
        data = json.loads(value.get_secret_value())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{setting} is not JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and isinstance(v, str)
            for k, v in data.items()):
        raise ValueError(f'{setting} is a JSON object of names (letters, digits, _) to strings: {{"name": "..."}}')
    return data


def make_url_password(url: str | None) -> str | None:
    """The password of a database URL, if it has one (so that masking hides it in any text)."""
    if not url:
        return None
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password
    except Exception:  # not a URL SQLAlchemy reads: nothing to hide from it
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
