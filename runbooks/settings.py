"""One settings object, read from environment variables, shared by the API, the workers and the CLI."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LIBRARY_DIR = Path(__file__).parent / "library"


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
    task_queue: str = "runbooks"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    ssh_known_hosts: str = Field(default="~/.ssh/known_hosts", description="Host keys SSH targets are checked against.")
    ssh_key_file: str | None = Field(default=None, description="Private key for SSH targets (key auth only).")
    ssh_user: str = "root"
    max_output_bytes: int = 65536
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

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_channel)

    @property
    def approvers(self) -> set[str]:
        return {u.strip() for u in self.slack_approvers.split(",") if u.strip()}

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'runbooks.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
