"""The one settings object. Every setting has an environment variable, a default and a line of help,
and is listed in ``docs/settings.md`` (a test checks that)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "llmledger"


#: the check of ``auth.users`` (which this bottom layer cannot import)
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,255}$")


#: event fields an OTLP span attribute may be mapped to (``LLMLEDGER_OTLP_ATTRIBUTE_MAP``)
OTLP_FIELDS = (
    "userId",
    "agent",
    "sessionId",
    "agentSessionId",
    "agentExecutionId",
    "agentPlanId",
    "operation",
    "tier",
    "requestId",
)


def parse_attribute_map(value: str) -> dict[str, str]:
    """``ATTRIBUTE=FIELD,...`` as ``{attribute: field}``; ``ValueError`` names a bad pair."""
    out: dict[str, str] = {}
    for pair in (p.strip() for p in value.split(",")):
        if not pair:
            continue
        attribute, sep, field = (part.strip() for part in pair.partition("="))
        if not sep or not attribute or any(c.isspace() for c in attribute):
            raise ValueError(f"{pair!r} is not ATTRIBUTE=FIELD")
        if field not in OTLP_FIELDS:
            raise ValueError(f"{field!r} is not one of {', '.join(OTLP_FIELDS)}")
        out[attribute] = field
    return out


class Settings(BaseSettings):
    """llmledger's configuration, read from ``LLMLEDGER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="LLMLEDGER_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory for the SQLite database and the secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; default: SQLite file llmledger.db in the data "
        "directory. PostgreSQL: postgresql+psycopg://user:pass@host/db.",
        # the databases llmledger is built and tested for
        json_schema_extra={
            "allowed": "a SQLAlchemy URL of SQLite (sqlite:///PATH) or PostgreSQL "
            "(postgresql+psycopg://USER:PASS@HOST/DB)"
        },
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the server listens on.",
        json_schema_extra={"allowed": "a host name or IP address (no spaces)"},
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server listens on.")
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Days raw events are kept; rollups and sessions are kept for ever.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=16,  # a shorter key can be guessed
        description="Key that signs session cookies; default: generated on first start and kept "
        "in <data_dir>/secret_key.",
    )
    max_batch_events: int = Field(
        default=10_000, ge=1, description="Most events one ingest request may carry."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest ingest request body, in bytes."
    )
    fallback_input_per_million: Decimal = Field(
        default=Decimal("10"),
        ge=0,
        description="USD per 1M input tokens for models no catalog knows (seeds the fallback row).",
    )
    fallback_output_per_million: Decimal = Field(
        default=Decimal("30"),
        ge=0,
        description="USD per 1M output tokens for models no catalog knows (seeds the fallback).",
    )
    prices_poll_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often a process checks whether another one changed prices.",
    )
    writer_max_batch: int = Field(
        default=50_000,
        ge=1,
        description="Most events the writer commits in one group-commit transaction.",
    )
    writer: Literal["auto", "process", "thread"] = Field(
        default="auto",
        description="Where the server writes ingested events: process (a child process, so "
        "preparing and writing use two cores), thread, or auto (process unless the database is "
        "an in-memory SQLite).",
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info", description="Log level: debug, info, warning, error, critical."
    )
    # -- access (docs/access.md) -------------------------------------------------------------
    admin_email: str | None = Field(
        default=None,
        max_length=320,
        description="On start, make this admin user if no user with this email exists yet.",
        json_schema_extra={"allowed": "an email address (name@example.com)"},
    )
    admin_password: SecretStr | None = Field(
        default=None,
        min_length=8,  # the rules of auth.passwords, checked before anything starts
        max_length=1024,
        description="Password of the LLMLEDGER_ADMIN_EMAIL user when it is made.",
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 90, description="How long a web login lasts, in hours."
    )
    session_cookie_secure: bool | None = Field(
        default=None,
        description="Mark the session cookie Secure; default: when the request came over HTTPS.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins of one account from one address (or one known browser) "
        "before further tries from there get 429.",
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins per client address before 429."
    )
    login_max_failures_per_account: int = Field(
        default=50,
        ge=1,
        description="Failed logins of one account from all addresses before tries from "
        "unknown browsers are spaced out (one per window / this number).",
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Minutes failed logins are counted over (and locked for)."
    )
    password_time_cost: int = Field(
        default=3, ge=1, le=50, description="argon2id passes when hashing a password."
    )
    password_memory_kib: int = Field(
        default=65536,
        ge=32,
        le=4 * 1024 * 1024,
        description="argon2id memory per password hash, in KiB.",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest body of any request but ingest (larger: 413).",
    )
    # -- the HTTP server (docs/settings.md, "Behind a TLS proxy") --------------------------
    http_read_timeout_seconds: float = Field(
        default=15,
        gt=0,
        description="Seconds a client may take to send a request's headers, and may pause "
        "while sending its body, before the connection is closed.",
    )
    http_keep_alive_seconds: int = Field(
        default=5, ge=1, description="Seconds an idle keep-alive connection stays open."
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        description="Most connections (and requests in progress) at once; beyond: 503.",
    )
    http_max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest request line and headers of one request, in bytes (larger: 431).",
    )
    http_max_headers: int = Field(
        default=100, ge=8, description="Most header fields in one request (more: 431)."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses of proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed ('*': any; empty: none).",
        json_schema_extra={
            "allowed": "IP addresses or networks separated by commas, * (any) or empty (none)"
        },
    )

    # -- pricing (docs/pricing.md) ------------------------------------------------------------
    litellm_url: str = Field(
        default="https://raw.githubusercontent.com/BerriAI/litellm/main/"
        "model_prices_and_context_window.json",
        description="Where a LiteLLM price sync downloads the catalog from by default.",
        json_schema_extra={"allowed": "an http:// or https:// URL"},
    )
    openai_admin_url: str = Field(
        default="https://api.openai.com/v1",
        description="Base URL of OpenAI's organisation usage and costs API (report imports).",
        json_schema_extra={"allowed": "an http:// or https:// URL"},
    )
    anthropic_admin_url: str = Field(
        default="https://api.anthropic.com/v1",
        description="Base URL of Anthropic's usage and cost report API (report imports).",
        json_schema_extra={"allowed": "an http:// or https:// URL"},
    )
    groq_metrics_url: str = Field(
        default="https://api.groq.com/v1/metrics/prometheus",
        description="Base URL of Groq's Prometheus metrics API (report imports).",
        json_schema_extra={"allowed": "an http:// or https:// URL"},
    )
    imports_interval_seconds: float = Field(
        default=3600,
        ge=0,
        description="How often llmledger serve imports the last 3 days of provider reports "
        "(each provider with a key); 0 turns it off.",
    )
    reconciliation_drift_percent: Decimal = Field(
        default=Decimal("2"),
        ge=0,
        le=100,
        description="Tracked and reported figures further apart than this percentage are flagged.",
    )
    max_price_file_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest price catalog a sync reads (download or upload), in bytes.",
    )

    # -- OpenTelemetry in, Prometheus out (docs/otel.md, docs/metrics.md) -----------------------
    otlp_attribute_map: str = Field(
        default="",
        description="Extra span attributes to read into event fields on POST /v1/traces, as "
        "comma-separated ATTRIBUTE=FIELD pairs (they win over the built-in names).",
        json_schema_extra={
            "allowed": "comma-separated ATTRIBUTE=FIELD pairs, FIELD one of "
            + ", ".join(OTLP_FIELDS)
        },
    )
    metrics: bool = Field(
        default=True,
        description="Serve GET /metrics (Prometheus) to admins and to LLMLEDGER_METRICS_TOKEN.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=16,  # a shorter token can be guessed
        description="A bearer token that may read GET /metrics and nothing else; default: none "
        "(admin credentials only).",
    )

    # -- alert delivery (docs/alerts.md, "Channels and settings") ----------------------------
    alerts_interval_seconds: float = Field(
        default=60,
        ge=0,
        description="How often llmledger serve evaluates the alert rules and delivers what "
        "fired; 0 turns it off.",
    )
    public_url: str | None = Field(
        default=None,
        description="The dashboard's address as users reach it (https://llmledger.example.com); "
        "alert messages link to it.",
        json_schema_extra={"allowed": "an http:// or https:// URL"},
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server alert emails are sent through; unset: email alerts are not sent.",
        json_schema_extra={"allowed": "a host name or IP address (no spaces)"},
    )
    smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the SMTP server; default: 587 for starttls, 465 for tls, 25 for none.",
    )
    smtp_username: str | None = Field(
        default=None,
        max_length=256,
        description="User name to log in to the SMTP server with; unset: no login.",
        json_schema_extra={"allowed": "text of at most 256 characters, no line breaks"},
    )
    smtp_password: SecretStr | None = Field(
        default=None,
        max_length=1024,
        description="Password of LLMLEDGER_SMTP_USERNAME.",
        json_schema_extra={"allowed": "text of at most 1024 characters, no line breaks"},
    )
    smtp_from: str = Field(
        default="llmledger@localhost",
        max_length=320,
        description="The From address of alert emails.",
        json_schema_extra={"allowed": "an email address (name@example.com)"},
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="How the SMTP connection is protected: starttls (upgrade a plain "
        "connection), tls (TLS from the start), none.",
    )
    smtp_timeout_seconds: float = Field(
        default=30, gt=0, description="Seconds an SMTP connection or reply may take."
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, description="Seconds a Slack or webhook request may take."
    )
    allow_private_webhooks: bool = Field(
        default=False,
        description="Let Slack and webhook URLs point at private, loopback and link-local "
        "addresses, and use plain http (receivers on a private network; tests).",
    )

    # -- checks beyond the types: a bad value is refused when the settings are read, before
    # anything starts (the command line prints one line naming the variable; see
    # ``commands.environment``)
    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value:
            raise ValueError("empty")
        if any(c.isspace() or c == "/" for c in value):
            raise ValueError("it holds a space or a /")
        return value

    @field_validator("otlp_attribute_map")
    @classmethod
    def _otlp_attribute_map(cls, value: str) -> str:
        parse_attribute_map(value)
        return value

    @field_validator("secret_key", "admin_password", "metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # the default SQLite file
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError("it cannot be parsed") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend!r} is not SQLite or PostgreSQL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, value: str | None) -> str | None:
        if value and not _EMAIL.match(value.strip()):
            raise ValueError("it is not NAME@DOMAIN")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part and part != "*":
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    @field_validator("litellm_url", "openai_admin_url", "anthropic_admin_url", "groq_metrics_url")
    @classmethod
    def _litellm_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{parts.scheme or 'no'} scheme")
        if not parts.netloc:
            raise ValueError("no host")
        return value

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host(cls, value: str | None) -> str | None:
        if value is not None and value.strip() == "":
            return None
        if value is not None and any(c.isspace() or c == "/" for c in value):
            raise ValueError("it holds a space or a /")
        return value

    @field_validator("smtp_username", "smtp_password", mode="before")
    @classmethod
    def _no_line_breaks(cls, value: object) -> object:
        if value == "":
            return None
        if isinstance(value, str) and any(c in value for c in "\r\n\x00"):
            raise ValueError("it holds a line break")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str) -> str:
        if not _EMAIL.match(value.strip()):
            raise ValueError("it is not NAME@DOMAIN")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{parts.scheme or 'no'} scheme")
        if not parts.netloc or any(c.isspace() for c in value):
            raise ValueError("no host, or a space")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'llmledger.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def ensure_data_dir(self) -> Path:
        if not self.data_dir.is_dir():
            # it holds the database and the secret key: the owner's only, whatever the umask
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.data_dir.chmod(0o700)
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """The configured key, or the one kept in the data directory (made on first use)."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.ensure_data_dir() / "secret_key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
