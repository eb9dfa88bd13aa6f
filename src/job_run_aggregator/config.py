"""Settings: flag > environment (JRA_*) > TOML file (--config) > default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from job_run_aggregator.artifacts.buckets.base import DEFAULT_WORKERS, LOCAL_WORKERS
from job_run_aggregator.errors import ConfigError

DEFAULT_PROJECT = "openshift-ci-data-analysis"
DEFAULT_DATASET = "ci_data"
DEFAULT_GCS_BUCKET = "test-platform-results"


class Settings(BaseSettings):
    """Everything configurable. Each field is also `JRA_<NAME>` in the environment and `<name>` in the TOML file."""

    model_config = SettingsConfigDict(env_prefix="JRA_", env_nested_delimiter="__", extra="forbid")

    warehouse: str = Field("duckdb:///./ci_data.duckdb", description="duckdb:///PATH or bigquery://PROJECT/DATASET")
    bucket: str = Field("./ci-artifacts", description="a local folder laid out like the bucket, or gs://BUCKET")
    google_service_account_credential_file: str | None = Field(
        None, description="service-account key file for GCS/BigQuery (else Application Default Credentials)"
    )
    anonymous: bool = Field(False, description="read a public GCS bucket without credentials")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    dry_run: bool = Field(False, description="print what would be written, write nothing")
    lock_timeout: float = Field(60.0, description="seconds a writer waits for another writer's lock")
    workers: int | None = Field(None, ge=1, description=f"concurrent run reads during uploads (default: "
                                f"{DEFAULT_WORKERS} from GCS, {LOCAL_WORKERS} from a local folder)")
    batch_rows: int = Field(50_000, ge=1, description="uploads commit a batch at this many rows (all tables)")
    batch_runs: int = Field(5_000, ge=1, description="uploads commit a batch at this many runs")
    retry_attempts: int | None = Field(None, ge=1, description="tries per GCS/BigQuery call, then give up (default 6)")
    retry_base_delay: float | None = Field(None, ge=0, description="first backoff between tries, seconds (default 0.5)")
    retry_max_delay: float | None = Field(None, gt=0, description="longest backoff between tries, seconds (default 20)")
    maximum_bytes_billed: int | None = Field(None, description="BigQuery: refuse queries that would bill more bytes")
    retry_deadline: float | None = Field(
        None, gt=0, description="seconds a GCS/BigQuery call keeps retrying after its first try (default 60)"
    )
    connect_timeout: float | None = Field(None, gt=0, description="seconds to connect to GCS/BigQuery (default 10)")
    read_timeout: float | None = Field(
        None, gt=0, description="seconds GCS/BigQuery may stay silent during a request (default 20)"
    )
    request_deadline: float | None = Field(
        None, gt=0, description="seconds a request may take to its last byte, plus size / min rate (default 60)"
    )
    min_transfer_rate: float | None = Field(
        None, gt=0, description="bytes per second a GCS/BigQuery answer must at least arrive at (default 65536)"
    )
    slow_request_warning: float | None = Field(
        None, gt=0, description="warn, naming the object, when a request has waited this many seconds (default 15)"
    )
    upload_deadline: float | None = Field(
        None, gt=0, description="seconds an upload may take in all, then it stops (exit 75) keeping what it committed"
    )
    bigquery_job_timeout: float | None = Field(
        None, gt=0, description="seconds to wait for one BigQuery job (load, MERGE, query) to finish (default 600)"
    )
    retry_missing_for: str = Field(
        "24h", description="how long a run with listed-but-unreadable objects is retried before it counts as failed"
    )
    memory_limit: str | None = Field(
        None, description="DuckDB memory budget such as 2GB (default: half the process's memory limit when set)"
    )
    job_names_file: str | None = Field(None, description="job-names file the job-table-updater primes Jobs from")
    release_repo: str | None = Field(None, description="openshift/release checkout to generate job names from")
    releases: str | None = Field(None, description="comma-separated releases known to the Job Primer (default 4.8…5.x)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        toml = settings_cls.model_config.get("toml_file")
        if toml:
            sources += (TomlConfigSettingsSource(settings_cls),)
        return sources


def load_settings(config_file: str | Path | None = None, **flags: Any) -> Settings:
    """Build Settings; `flags` holds only the options given on the command line (None means not given)."""
    given = {k: v for k, v in flags.items() if v is not None}
    cls: type[Settings] = Settings
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")

        class FileSettings(Settings):
            model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})

        cls = FileSettings
    try:
        return cls(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration{f' in {config_file}' if config_file else ''}: {problems}") from None
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"{config_file}: not valid TOML ({exc})") from None
