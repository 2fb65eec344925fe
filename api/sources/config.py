"""Secrets and options of the alert sources, read from environment variables.

Kept apart from `runbooks.settings.Settings` so that the sources can grow without touching the
settings every other part of the engine reads; adapters read it through `get_source_settings()`,
which is cached (tests change the environment, then call `get_source_settings.cache_clear()`).
Every secret is a `SecretStr`, so a settings object printed in a log or a traceback shows `**********`.
An empty variable counts as unset: `FOO=` in a compose file must not turn into "the token is ''".
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SourceSettings(BaseSettings):
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
        "alertmanager_token",
        "grafana_token",
        "pagerduty_webhook_secret",
        "opsgenie_token",
        "datadog_token",
        "generic_webhook_secret",
        "generic_webhook_mapping",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache
def get_source_settings() -> SourceSettings:
    return SourceSettings()
