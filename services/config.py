"""The one typed settings object, read from ``BREACH_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.smtp_target import SmtpTarget


class LogFormat(StrEnum):
    """How log lines are rendered."""

    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    """Configuration of a breachledger process; every field maps to ``BREACH_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="BREACH_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("var"),
        description="Directory holding the SQLite event store, the views and local mail.",
    )
    templates_dir: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "templates",
        description="Directory of templates: playbooks, notices, reports.",
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone for times given without an offset, and for display.",
    )
    token: SecretStr | None = Field(
        default=None,
        description="The API token the CLI proves its user's identity with (default: the one "
        "`breach login` saved in the token file).",
    )
    token_file: Path | None = Field(
        default=None,
        description="Where `breach login` keeps the CLI's token (default: "
        "$XDG_CONFIG_HOME/breachledger/token, else ~/.config/breachledger/token).",
    )
    log_level: str = Field(default="warning", description="debug, info, warning or error.")
    log_format: LogFormat = Field(
        default=LogFormat.AUTO,
        description="auto (console on a terminal, JSON otherwise), json or console.",
    )
    aggregate_cache_size: int = Field(
        default=1000, ge=0, description="Aggregates kept in memory between commands."
    )
    feed_poll_interval: float = Field(
        default=0.5,
        gt=0,
        description="Seconds between polls of the event store for other processes' events.",
    )
    due_soon_hours: float = Field(
        default=24, gt=0, description="An open obligation this close to its deadline is due soon."
    )
    dpo_on_duty: str | None = Field(
        default=None,
        description="The username of the DPO on duty when no shift of the duty rota covers "
        "the moment (`breach owners duty`).",
    )
    alert_scan_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Seconds between the alarm clock's scans for due escalation steps.",
    )
    dashboard_url: str | None = Field(
        default=None,
        description="The dashboard's base URL as recipients reach it, for the links in alert "
        "emails (default: http://<http_host>:<http_port>).",
    )
    vault_master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes wrapping every person's key; default: created in "
        "<data_dir>/secrets/master.key (move it to a secret store in production).",
    )
    lookup_secret: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes keying the email lookups (HMAC); default: created in "
        "<data_dir>/secrets/lookup.key.",
    )
    cipher_key: SecretStr | None = Field(
        default=None,
        description="Base64 AES key (16, 24 or 32 bytes): encrypt every stored event at rest.",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes signing the audit chain's checkpoints and bundles; "
        "default: created in <data_dir>/secrets/audit.key (keep it outside the data directory "
        "in production).",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:5432/dbname: keep the event log, the views, "
        "the audit chain, keys and credentials in PostgreSQL (distributed mode); unset: SQLite "
        "files under the data directory.",
    )
    database_schema: str = Field(
        default="public",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema holding breachledger's tables (created if missing).",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="host:port[,host:port...] of the Kafka cluster the relay publishes to and "
        "the workers consume from; unset: no relay, workers read the store directly.",
    )
    kafka_topic: str = Field(
        default="breachledger.events",
        pattern=r"^[A-Za-z0-9._-]{1,249}$",
        description="The topic every stored event is published to.",
    )
    kafka_partitions: int = Field(
        default=6, ge=1, le=1000, description="Partitions of the topic when it is created."
    )
    kafka_group_prefix: str = Field(
        default="breachledger",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Consumer groups are named <prefix>.<worker kind>.",
    )
    kafka_security_protocol: str = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(default=None, description="e.g. SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve Prometheus metrics on this port from `breach worker` processes "
        "(the HTTP server always serves /metrics).",
    )
    intake_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret of the alert intake endpoint (HMAC-SHA256 over the body, "
        "header X-Breach-Signature: sha256=<hex>); unset: intake is off.",
    )
    http_host: str = Field(default="127.0.0.1", description="Address `breach serve` binds.")
    http_port: int = Field(default=8400, ge=0, le=65535, description="Port `breach serve` binds.")
    http_max_body: int = Field(
        default=1 * 2**20,
        gt=0,
        description="Largest request body accepted from an authenticated caller (bytes).",
    )
    http_max_anonymous_body: int = Field(
        default=64 * 2**10,
        gt=0,
        description="Largest request body accepted from a caller without valid credentials "
        "(bytes): enough for the sign-in form and a signed intake alert.",
    )
    http_secure_cookies: bool = Field(
        default=True,
        description="Mark the session cookie Secure (browsers then send it only over HTTPS or "
        "to localhost); turn off only behind a TLS-terminating proxy on plain HTTP.",
    )
    http_forwarded_allow_ips: str = Field(
        default="",
        pattern=r"^[0-9A-Fa-f:.,/* ]*$",
        description="Addresses (or networks) of the reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; empty: none, every client is counted by the "
        "address it connects from. Behind a proxy, name it so per-address limits count real "
        "clients.",
    )
    password_hash_memory_kib: int = Field(
        default=65536,
        ge=64,
        description="Argon2id memory cost of password hashes, in KiB (the OWASP-recommended "
        "default; lower only on machines that cannot spare it).",
    )
    session_hours: float = Field(default=12, gt=0, le=24 * 30, description="Web session life.")
    signin_free_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins of an account before each next attempt must wait longer.",
    )
    signin_client_failures: int = Field(
        default=30,
        ge=1,
        le=10_000,
        description="Failed sign-ins from one address before it must wait out the window.",
    )
    signin_window_minutes: float = Field(
        default=15, gt=0, le=24 * 60, description="Window the sign-in failures are counted over."
    )
    signin_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Password checks (each an Argon2id verification using "
        "BREACH_PASSWORD_HASH_MEMORY_KIB) one process runs at once; others wait for a slot.",
    )
    signin_queue_seconds: float = Field(
        default=1.5,
        ge=0,
        le=30,
        description="How long a password check waits for a free slot before its sign-in is "
        "answered 503 with Retry-After (nothing checked, nothing counted).",
    )
    replay_concurrency: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Whole-board replays (GET /api/v1/replay) one process rebuilds at once, "
        "at most one per user; more are answered 429 with Retry-After.",
    )
    import_max_bytes: int = Field(
        default=256 * 2**20, gt=0, description="Largest people file an import accepts."
    )
    retention_days: int | None = Field(
        default=None,
        ge=0,
        description="Erase affected people's data this many days after their incident is "
        "closed (and its notices are final); unset: keep until erased by hand.",
    )
    organisation_name: str = Field(
        default="Example Organisation", description="Who writes the notices."
    )
    dpo_name: str = Field(default="Data Protection Officer", description="The contact point.")
    dpo_email: str = Field(default="dpo@example.org", description="The contact point's address.")
    dpo_phone: str = Field(default="", description="The contact point's phone number.")
    mail_from: str = Field(default="dpo@example.org", description="The notices' From address.")
    mail_from_name: str = Field(default="Data Protection Officer", description="Its name.")
    message_id_domain: str = Field(
        default="breachledger.invalid", description="Domain of the notices' Message-IDs."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:pass@host:587?starttls=true or smtps://host:465; unset: the "
        "local capture server (messages kept under <data_dir>/mailbox).",
    )
    smtp_connections: int = Field(default=4, ge=1, le=64, description="Persistent connections.")
    smtp_rate: float = Field(default=0, ge=0, description="Messages per second (0: no limit).")
    smtp_timeout: float = Field(default=30, gt=0, description="Seconds per SMTP operation.")
    smtp_max_attempts: int = Field(default=8, ge=1, description="Attempts before failing.")
    smtp_backoff_seconds: float = Field(
        default=60, ge=0, description="First retry delay; doubles each attempt, with jitter."
    )
    smtp_backoff_max_seconds: float = Field(default=3600, ge=0, description="Longest delay.")
    sending_lease_seconds: float = Field(
        default=120,
        ge=0,
        description="A notice 'sending' longer than this after a restart is resolved by the "
        "crash rule (see the README).",
    )
    dispatch_batch_size: int = Field(default=200, ge=1, le=5000, description="Notices per batch.")
    command_retries: int = Field(
        default=5, ge=0, description="Retries of a command that lost a concurrent-write race."
    )
    webhook_allow_loopback: bool = Field(
        default=False,
        description="Let webhooks deliver to loopback addresses (127.0.0.1, ::1): for tests "
        "and receivers on the same machine. Private, link-local and metadata addresses are "
        "refused whatever this says.",
    )
    webhook_timeout: float = Field(
        default=10, gt=0, le=300, description="Seconds a webhook receiver has to answer."
    )
    webhook_backoff_seconds: float = Field(
        default=5,
        ge=0,
        description="Webhook retry pauses: random (full jitter) up to this doubled per attempt.",
    )
    webhook_backoff_max_seconds: float = Field(
        default=900, ge=0, description="Longest pause between two attempts of a delivery."
    )
    webhook_give_up_hours: float = Field(
        default=24,
        gt=0,
        description="A delivery still failing this long after its first attempt is "
        "dead-lettered and the subscription moves on.",
    )
    webhook_batch_size: int = Field(
        default=200, ge=1, le=5000, description="Events a webhook sender reads at a time."
    )
    clock_file: Path | None = Field(
        default=None,
        description="For tests only, never in production: a file holding seconds by which "
        "this process's clock runs ahead of the machine's (read again whenever it changes), "
        "so a test can move the time of worker processes; unset: the machine's clock.",
    )
    webhook_concurrency: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Deliveries of one subscription in flight at once, each of a different "
        "incident (an incident's deliveries go one after the other, in log order).",
    )
    webhook_lease_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="How long a webhook sender's lease on a subscription lasts unless "
        "renewed: another sender on the same store takes the subscription over after it.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            msg = "is not a known time zone (an IANA name such as Europe/Berlin)"
            raise ValueError(msg) from e
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                SmtpTarget.from_url(value.get_secret_value())
            except ValueError:
                msg = "must be smtp://[user:password@]host[:port][?starttls=true] or smtps://host"
                raise ValueError(msg) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error"}:
            msg = "must be one of debug, info, warning, error"
            raise ValueError(msg)
        return level

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    @property
    def dashboard(self) -> str:
        """The dashboard's base URL for links (the setting, else where `breach serve`
        binds)."""
        return self.dashboard_url or f"http://{self.http_host}:{self.http_port}"

    @property
    def events_db(self) -> Path:
        """The SQLite file of the event store."""
        return self.data_dir / "events.db"

    @property
    def keys_db(self) -> Path:
        """The SQLite file of the per-person keys (kept apart from the events)."""
        return self.data_dir / "keys.db"

    @property
    def audit_db(self) -> Path:
        """The SQLite file of the audit chain (links and checkpoints)."""
        return self.data_dir / "audit.db"

    @property
    def credentials_db(self) -> Path:
        """The SQLite file of password and token hashes and web sessions."""
        return self.data_dir / "credentials.db"

    @property
    def webhooks_db(self) -> Path:
        """The SQLite file of webhook secrets (sealed), positions and delivery logs."""
        return self.data_dir / "webhooks.db"

    @property
    def secrets_dir(self) -> Path:
        """Where generated secrets are kept when none are configured."""
        return self.data_dir / "secrets"

    @property
    def views_db(self) -> Path:
        """The SQLite file of the views (read models) and their tracking positions."""
        return self.data_dir / "views.db"
