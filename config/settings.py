"""Settings with pydantic-settings: a TOML file, overridden by NOVA_* environment variables.

The file is `config/local.toml` unless NOVA_CONFIG names another. Secrets are only read
from the environment and are SecretStr, so they never print.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from config.alerts import AlertsConfig
from config.daemon import DaemonConfig
from config.dbt import DbtConfig
from config.detector import DetectorConfig
from config.monitor import MonitorConfig
from config.trust import TrustConfig

DEFAULT_CONFIG = Path(__file__).with_name("local.toml")


def config_file() -> Path:
    return Path(os.environ.get("NOVA_CONFIG", DEFAULT_CONFIG))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_", extra="ignore", env_nested_delimiter="__")

    warehouse_url: str = Field("duckdb:///.nova/warehouse.duckdb", description="SQLAlchemy URL of the warehouse")
    landing_path: str = Field("data/landing", description="Landing folder or s3://bucket/prefix")
    contracts_path: Path = Field(Path("contracts"), description="Contract registry directory")
    state_dir: Path = Field(Path(".nova"), description="Local state (DuckDB file, outbox spool)")
    raw_retention_days: int = Field(180, description="Days raw and quarantined lines are kept")
    aggregate_retention_days: int = Field(1095, description="Days curated aggregates are kept (3 years)")
    gdpr_deadline_days: int = Field(30, description="Days the law gives to complete an erasure")
    gdpr_warn_days: int = Field(7, description="Flag requests this many days before their deadline")
    duckdb_memory_limit: str = Field("4GB", description="DuckDB memory limit")
    duckdb_threads: int = Field(2, description="DuckDB worker threads")
    duckdb_checkpoint_threshold: str = Field(
        "1GB", description="DuckDB folds its write-ahead log into the file when the log passes this size, and "
                           "when the file is closed (each daemon job): at DuckDB's 16MB default a run job "
                           "checkpointed after each large step")
    snowflake_stage: str = Field("NOVA_LANDING_STAGE", description="External stage over the landing bucket")
    snowflake_storage_integration: str = Field("NOVA_S3_LANDING", description="Storage integration for S3")
    # Connect arguments (the connector refuses them in the URL): private links, proxies, test servers.
    snowflake_host: str | None = Field(None, description="Snowflake host name, e.g. a PrivateLink host "
                                                         "(default: <account>.snowflakecomputing.com)")
    snowflake_port: int | None = Field(None, description="Snowflake port (default 443)")
    snowflake_protocol: str | None = Field(None, description="https (default) or http (local test server only)")
    lock_timeout_seconds: int = Field(
        30, description="How long a writing step waits for the writer lock (and, on Snowflake, for a row lock) "
                        "before it gives up with a message naming the holder")
    writer_lock_lease_minutes: int = Field(
        360, description="A writer lock older than this is taken over (its holder crashed); longer than any step")
    slack_default_channel: str = Field("#nova-data-oncall", description="Fallback Slack channel")
    monitor: MonitorConfig = Field(default_factory=MonitorConfig,
                                   description="Gate thresholds and table checks ([monitor] section)")
    slack_api_url: str | None = Field(None, description="Slack Web API base URL (a proxy, a test server); "
                                                        "default https://slack.com/api/")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Incidents and Slack alerts ([alerts])")
    daemon: DaemonConfig = Field(DaemonConfig(), description="The service: job intervals, retries, readers, "
                                                             "service levels ([daemon]; NOVA_DAEMON__<NAME>)")
    trust: TrustConfig = Field(default_factory=TrustConfig,
                               description="Trust scores: weights, grade bands, followed features (docs/trust.md)")
    detector: DetectorConfig = Field(default_factory=DetectorConfig,
                                     description="The seasonal volume-anomaly detector ([detector] section)")
    dbt: DbtConfig = Field(DbtConfig(), description="The generated dbt package (`nova dbt export`; [dbt] section)")
    # Secrets: environment only (NOVA_SNOWFLAKE_PASSWORD, NOVA_SLACK_TOKEN, NOVA_SLACK_WEBHOOK_URL,
    # NOVA_GDPR_HASH_KEY).
    snowflake_password: SecretStr | None = Field(None, description="Snowflake password (env only)")
    slack_token: SecretStr | None = Field(None, description="Slack bot token (env only)")
    slack_webhook_url: SecretStr | None = Field(None, description="Slack incoming-webhook URL (env only)")
    gdpr_hash_key: SecretStr = Field(SecretStr("nova-local-development-key"),
                                     description="Key of the audit hash of erased user ids (env only)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.exists():
            sources.append(_FileWithoutSecrets(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def is_duckdb(self) -> bool:
        return self.warehouse_url.startswith("duckdb")

    def public(self) -> dict[str, Any]:
        """Settings as shown to a person: secrets masked."""
        out = self.model_dump(mode="json")
        for key in ("snowflake_password", "slack_token", "slack_webhook_url", "gdpr_hash_key"):
            out[key] = "(set)" if getattr(self, key) is not None else "(not set)"
        return out


class _FileWithoutSecrets(TomlConfigSettingsSource):
    """A TOML file may not carry secrets: they are dropped here and only read from the environment."""

    SECRETS = ("snowflake_password", "slack_token", "slack_webhook_url", "gdpr_hash_key")

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        return {k: v for k, v in data.items() if k not in self.SECRETS}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
