"""Wiring: the one place where settings become an application, a feed and views."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog

from events.base import DomainEvent
from events.notifications import Contact
from events.users import Role
from services.alerts.alarm_clock import (
    AlarmClock,
    Directory,
    obligation_subjects,
    task_subjects,
)
from services.alerts.alerts_view import Alerts, AlertsProjection
from services.alerts.ladder import Subject, ladder
from services.alerts.mail_templates import AlertTemplates
from services.alerts.mailer import AlertMailer, MailerStopped, MailSettings
from services.application.base import LedgerApplication
from services.application.errors import InvalidInput
from services.assessment.obligations_view import Obligations, ObligationsProjection
from services.audit.chain import CHAIN_KEY, ChainStore, ChainWorker
from services.clock import Clock, OffsetFileClock, SystemClock
from services.config import Settings
from services.containment.playbooks import PlaybookCatalog
from services.containment.policies import ContainmentPolicy, PlaybookPolicy
from services.containment.tasks_view import Tasks, TasksProjection
from services.data_dir import make_private
from services.feeds.progress import RunnerProgress
from services.feeds.signal import SaveSignal
from services.feeds.store import StoreFeed
from services.gateway import Gateway
from services.incidents.board import Board, IncidentBoardProjection
from services.ledger import BreachLedger
from services.logging import configure_logging
from services.notifications.dispatcher import DeliveryCheck, Dispatcher, DispatchSettings
from services.notifications.mailbox import CaptureServer, Mailbox, MailboxCheck
from services.notifications.mailbox_policy import MailboxErasurePolicy
from services.notifications.queueing import NoticeQueuePolicy, PeopleOf, PeopleReader
from services.notifications.settings import NoticeSettings
from services.notifications.templates import NoticeTemplates
from services.notifications.views import (
    NoticeQueueView,
    Notifications,
    NotificationsProjection,
)
from services.people.import_files import Uploads
from services.people.lookup_upgrade import build_lookup_index
from services.people.people_view import People, PeopleAdded, PeopleProjection
from services.policies.worker import Policies, Policy, PolicyWorker
from services.projections.schema import Projection
from services.projections.sqlite_store import SQLiteViewStore
from services.projections.store import ViewStore
from services.projections.views import Views
from services.smtp_target import SmtpTarget
from services.storage.errors import DatabaseUnavailable
from services.storage.event_store import SQLITE_RECORDER
from services.storage.singleton import FileSingleton, PostgresSingleton, Singleton
from services.storage.sqlite import log_reader, queue_writers_apart
from services.timeline import CAMPAIGN_MARKS
from services.users.addresses import AddressBook
from services.users.credentials import CredentialStore
from services.users.throttle import ThrottleLimits
from services.vault.keystore import KeyStore
from services.vault.sealing import Lookups
from services.vault.secrets import decode, load_or_create
from services.vault.vault import Vault
from services.webhooks.delivery import RetryPolicy, Sending
from services.webhooks.handlers import WebhookRules
from services.webhooks.store import WebhookStore

log = structlog.get_logger()

if TYPE_CHECKING:
    from services.feeds.pipeline import Pipeline
    from services.storage.postgres import PostgresDatabase, PostgresTarget

log = structlog.get_logger()


def projections() -> list[Projection]:
    """Every projection of the application, in the order they are built."""
    return [
        IncidentBoardProjection(),
        ObligationsProjection(),
        TasksProjection(),
        PeopleProjection(),
        NotificationsProjection(),
        AlertsProjection(),
    ]


def policies(app: BreachLedger, catalog: PlaybookCatalog, people_of: PeopleOf) -> list[Policy]:
    """Every policy of the application, in the order they run."""
    return [
        PlaybookPolicy(app.core, catalog),
        ContainmentPolicy(app.core),
        NoticeQueuePolicy(app.core, app.templates, people_of),
    ]


def notice_settings(settings: Settings) -> NoticeSettings:
    """What notifications need from the settings."""
    return NoticeSettings(
        organisation=settings.organisation_name,
        contact=Contact(name=settings.dpo_name, email=settings.dpo_email, phone=settings.dpo_phone),
        sender=(settings.mail_from_name, settings.mail_from),
        message_id_domain=settings.message_id_domain,
        zone=settings.zone,
    )


def dispatch_settings(settings: Settings) -> DispatchSettings:
    """How the dispatcher sends."""
    return DispatchSettings(
        connections=settings.smtp_connections,
        rate=settings.smtp_rate,
        batch_size=settings.dispatch_batch_size,
        max_attempts=settings.smtp_max_attempts,
        backoff_base=settings.smtp_backoff_seconds,
        backoff_max=settings.smtp_backoff_max_seconds,
        sending_lease=settings.sending_lease_seconds,
    )


def alert_mail_settings(settings: Settings) -> MailSettings:
    """How alert emails are written and sent: the notices' sender, SMTP pool and retries."""
    return MailSettings(
        sender=(settings.mail_from_name, settings.mail_from),
        message_id_domain=settings.message_id_domain,
        zone=settings.zone,
        dashboard_url=settings.dashboard,
        connections=settings.smtp_connections,
        rate=settings.smtp_rate,
        max_attempts=settings.smtp_max_attempts,
        backoff_base=settings.smtp_backoff_seconds,
        backoff_max=settings.smtp_backoff_max_seconds,
    )


RUNNER_WAIT_SECONDS = 5.0
"""How long a command waits for a running server's own runners to include its changes
before it catches up in its own thread."""

LEASE_RETRY_SECONDS = 2.0
"""How often a process waiting for a lease (the alert mailer's) tries it again, and checks
a lease it holds is still held."""


def while_held(lease: Singleton, stop: threading.Event) -> threading.Event:
    """An event set when ``stop`` is set or ``lease`` is lost (checked every few seconds by
    a daemon thread, which ends with it)."""
    holding = threading.Event()

    def watch() -> None:
        while not stop.wait(LEASE_RETRY_SECONDS):
            if holding.is_set() or not lease.held():
                break
        holding.set()

    threading.Thread(target=watch, name="lease-watch", daemon=True).start()
    return holding


def postgres_target(settings: Settings) -> PostgresTarget | None:
    """Where PostgreSQL is when the settings name a database (None: embedded SQLite)."""
    if settings.database_url is None:
        return None
    # PostgreSQL's driver is imported only by processes that use it.
    from services.storage.postgres import PostgresTarget

    return PostgresTarget.from_url(
        settings.database_url.get_secret_value(), settings.database_schema
    )


def store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing infrastructure environment for the configured event store."""
    target = postgres_target(settings)
    if target is not None:
        env = target.event_store_env()
    else:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.events_db),
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
            "PROCESS_RECORDER_TOPIC": SQLITE_RECORDER,
        }
    if settings.aggregate_cache_size > 0:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
    if settings.cipher_key is not None:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = settings.cipher_key.get_secret_value()
    return env


def shared_secret(settings: Settings, field: str, filename: str) -> bytes:
    """A 32-byte secret: configured (``BREACH_<FIELD>``), or generated once in the data
    directory's ``secrets/``. With a database URL several processes, on several machines,
    share one store, so the secret must be configured: each would otherwise make its own."""
    configured = getattr(settings, field)
    name = f"BREACH_{field.upper()}"
    if configured is not None:
        return decode(configured.get_secret_value(), name)
    if settings.database_url is not None:
        raise InvalidInput(
            name,
            "required with BREACH_DATABASE_URL (every process must use the same one); make one "
            "with: python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'",
        )
    return load_or_create(settings.secrets_dir / filename)


def build_vault(
    settings: Settings, clock: Clock, database: PostgresDatabase | None = None
) -> Vault:
    """The vault: key store (its own SQLite file, or a table of ``database``, dated by
    ``clock``) and secrets from settings (or generated files, on the embedded store)."""
    master = shared_secret(settings, "vault_master_key", "master.key")
    lookup = shared_secret(settings, "lookup_secret", "lookup.key")
    keys = KeyStore(database if database is not None else settings.keys_db, master, clock=clock)
    return Vault(keys, Lookups(lookup))


@dataclass
class Runtime:
    """A wired breachledger: the application, its feed, and its views."""

    settings: Settings
    app: BreachLedger
    feed: StoreFeed
    views: Views
    policies: Policies
    board: Board
    obligations: Obligations
    tasks: Tasks
    people: People
    chain: ChainStore
    audit_key: bytes
    notifications: Notifications
    playbooks: PlaybookCatalog
    uploads: Uploads
    """Where uploaded people files wait while they are imported."""
    people_of: PeopleReader
    """Where the notice queueing policy reads an incident's people (the people view,
    brought up to date here; the distributed policy worker points it at the pipeline)."""
    alerts: Alerts
    """The alerts raised, and who acknowledged them."""
    database: PostgresDatabase | None = None
    """The PostgreSQL pool of the views, chain, keys and credentials (None on SQLite)."""
    pipeline: Pipeline | None = None
    """With Kafka: the progress of the relay and the worker processes (None embedded)."""
    runners: RunnerProgress | None = None
    """While a running server's own threads keep the policies, views and chain at the head
    of the log: their progress, which commands wait for (None: commands catch up in the
    caller's thread). Set by the server's workers when they start, cleared when they stop."""
    gateway: Gateway = field(init=False)
    """How the faces run commands: each returns once its effects are visible."""
    runner_fallbacks: int = field(init=False, default=0)
    """How many times a command caught up itself because the runners had stopped or fell
    behind."""

    def __post_init__(self) -> None:
        self.gateway = Gateway(
            self.settle, self.feed.head, self.wait_for_runners, saved=self.feed.last_saved
        )

    def views_current(self, *names: str, timeout: float = 10.0) -> None:
        """Bring the named views to the head of the log before reading them: here on the
        embedded store; with Kafka, by the projection workers, waited for (at most
        ``timeout`` seconds, then the views are read as they are), never written here
        beside them (a view applied here and by a worker would count merged rows twice)."""
        if self.pipeline is None:
            self.views.catch_up_only(*names)
            return
        from services.feeds.pipeline import PipelineTimeout

        try:
            self.pipeline.wait_views(self.feed.head(), list(names), timeout=timeout)
        except PipelineTimeout as e:
            log.warning("views.behind", views=list(names), reason=str(e))

    def dispatcher(self, target: SmtpTarget, delivery: DeliveryCheck | None = None) -> Dispatcher:
        """A dispatcher sending to ``target`` (the notifications view kept current)."""
        return Dispatcher(
            self.app.notifications,
            NoticeQueueView(self.notifications.store),
            lambda: self.views.catch_up_only("notifications"),
            self.people.sealed,
            target,
            dispatch_settings(self.settings),
            delivery=delivery,
        )

    def alarm_clock(self, *, view_timeout: float = 10.0) -> AlarmClock:
        """The alarm clock raising the escalation ladder's steps, reading the open
        obligations and mandatory tasks from their views, and incidents' owners from the
        board, brought up to date first: here on the embedded store; with Kafka, by the
        projection workers, waited for (at most ``view_timeout`` seconds, then the views are
        read as they are), never written here beside them."""
        app = self.app

        def views_current() -> None:
            self.views_current("obligations", "tasks", "board", timeout=view_timeout)

        def subjects(now: datetime) -> list[Subject]:
            views_current()
            return [
                *obligation_subjects(self.obligations.rows(open_only=True)),
                *task_subjects(self.tasks.rows(now)),
            ]

        def holders(role: Role) -> list[str]:
            users = app.users.list_users()
            return [u.state.username for u in users if u.has(role) and not u.state.disabled]

        return AlarmClock(
            app.alerts,
            subjects,
            Directory(self.board.owner_of, app.alerts.on_duty, holders),
            ladder(),
            app.core.clock,
            late_after=timedelta(seconds=2 * self.settings.alert_scan_seconds),
        )

    def alert_mailer(
        self,
        target: SmtpTarget,
        delivery: DeliveryCheck | None = None,
        stop: threading.Event | None = None,
    ) -> AlertMailer:
        """The alert mailer sending to ``target`` (``delivery``: how to tell whether a
        message arrived); the caller closes it."""
        settings = self.settings
        return AlertMailer(
            self.app.core,
            self.app.users,
            AlertTemplates(settings.templates_dir / "alerts"),
            target,
            alert_mail_settings(settings),
            delivery=delivery,
            stop=stop,
        )

    def run_alert_mailer(
        self, target: SmtpTarget, delivery: DeliveryCheck | None, stop: threading.Event
    ) -> None:
        """Keep the alert mailer at the head of the store feed until ``stop`` is set (a stop
        during a retry pause leaves that alert, unrecorded, for the next start)."""
        mailer = self.alert_mailer(target, delivery, stop)
        lease = self.singleton("alert_mail")
        try:
            while not stop.is_set():
                if not lease.acquire():
                    stop.wait(LEASE_RETRY_SECONDS)
                    continue
                log.info("alert_mail.lease_taken")
                holding = while_held(lease, stop)
                try:
                    PolicyWorker(self.feed, self.app.core, mailer).follow(
                        holding, pause=ALERT_MAIL_PAUSE_SECONDS
                    )
                except MailerStopped:
                    log.info("alert_mail.stopped_while_retrying")
                if not stop.is_set():
                    log.warning("alert_mail.lease_lost")
        finally:
            lease.release()
            mailer.close()

    def singleton(self, name: str) -> Singleton:
        """The lease named ``name`` that one process of the deployment holds at a time."""
        target = postgres_target(self.settings)
        if target is None:
            return FileSingleton(self.settings.data_dir / f"{name}.lock")
        from services.storage.postgres import lock_key

        return PostgresSingleton(target, lock_key(target.schema, name))

    def mailbox(self) -> Mailbox:
        """The local capture server's mailbox."""
        return Mailbox(mailbox_dir(self.settings), self.app.core.clock)

    def smtp_target(self) -> tuple[SmtpTarget, DeliveryCheck | None, CaptureServer | None]:
        """Where notices go: the configured relay (``BREACH_SMTP_URL``; a bad URL raises
        ValueError), or a local capture server started here, whose mailbox tells what
        arrived. The caller stops the capture server."""
        settings = self.settings
        if settings.smtp_url:
            url = settings.smtp_url.get_secret_value()
            return SmtpTarget.from_url(url, settings.smtp_timeout), None, None
        mailbox = self.mailbox()
        capture = CaptureServer(mailbox).start()
        target = SmtpTarget("127.0.0.1", capture.port, timeout=settings.smtp_timeout)
        return target, MailboxCheck(mailbox), capture

    def settle(self) -> None:
        """Run every policy and bring every view to the head of the log (what a running
        server does continuously, done at once for a one-shot command). With Kafka the
        worker processes do that work: wait (a few seconds at most) until they have."""
        if self.pipeline is not None:
            self.pipeline.settle()
            return
        self.policies.catch_up()
        self.views.catch_up()
        self.link()

    def wait_for_runners(self, position: int) -> bool:
        """Wait until this process's runners include every position up to ``position``:
        the policies pass it (a pass of theirs ends with the reactions to its events, and
        to those, saved), then the views and the chain pass the last position saved here
        as it is then (those reactions included: this process's policies saved them). False,
        when no runners run here, or one stopped or did not get there within
        :data:`RUNNER_WAIT_SECONDS` (logged the first time): the caller catches up itself."""
        runners = self.runners
        if runners is None:
            return False
        deadline = time.monotonic() + RUNNER_WAIT_SECONDS
        if not runners.wait(["policies"], position, deadline):
            return self._runners_behind("policies", position)
        # The policies' reactions were saved in this process: the save signal has them.
        head = max(position, self.feed.last_saved()) or self.feed.head()
        if not runners.wait(["views", CHAIN_KEY], head, deadline):
            return self._runners_behind("views and chain", head)
        return True

    def _runners_behind(self, waiting_for: str, position: int) -> bool:
        (log.debug if self.runner_fallbacks else log.warning)(
            "gateway.runners_behind",
            waiting_for=waiting_for,
            position=position,
            timeout=RUNNER_WAIT_SECONDS,
            then="catching up in the caller's thread",
        )
        self.runner_fallbacks += 1
        return False

    def link(self) -> int:
        """Extend the audit chain to the head of the log (ending with a signed checkpoint)."""
        clock = self.app.core.clock
        return ChainWorker(self.feed, self.chain, self.audit_key, clock=clock).catch_up()

    def close(self) -> None:
        """Release database connections."""
        self.feed.close()
        self.views.store.close()
        self.chain.close()
        self.app.close()
        if self.database is not None:
            self.database.close()


@contextmanager
def _databases(settings: Settings) -> Iterator[PostgresDatabase | None]:
    """The PostgreSQL pool when the settings name a database (its schema created and
    start-up serialised with other processes while the caller creates its tables), or
    None for the embedded SQLite files."""
    target = postgres_target(settings)
    if target is None:
        yield None
        return
    from services.storage.postgres import PostgresDatabase, startup

    database = PostgresDatabase(target)
    try:
        with startup(target):
            database.open()
            yield database
    except BaseException:
        database.close()
        raise


def mailbox_dir(settings: Settings) -> Path:
    """Where the local capture server keeps what it receives."""
    return settings.data_dir / "mailbox"


ALERT_MAIL_PAUSE_SECONDS = 0.5
"""The alert mailer passes over the log at most this often: an alert is mailed within half
a second of being raised (the alarm clock raises them every 30 s), and a busy server's
writes do not each wake it."""


def erasure_policies(
    settings: Settings, views: Views, notifications: Notifications
) -> list[Policy]:
    """The policies carrying an erasure beyond the store: with the local capture server
    (no relay configured), deleting the erased person's messages from its mailbox. Not in
    the distributed mode, where the capture server (if any) runs in a dispatcher process
    with a data directory of its own."""
    if settings.smtp_url or settings.kafka_bootstrap_servers:
        return []
    domain = settings.message_id_domain

    def message_ids_of(person_id: UUID) -> list[str]:
        views.catch_up_only("notifications")
        return notifications.message_ids_of(person_id, domain)

    return [MailboxErasurePolicy(mailbox_dir(settings), message_ids_of)]


def webhook_retry(settings: Settings) -> RetryPolicy:
    """How webhook deliveries are tried, from the settings."""
    return RetryPolicy(
        base=settings.webhook_backoff_seconds,
        max_pause=settings.webhook_backoff_max_seconds,
        give_up=timedelta(hours=settings.webhook_give_up_hours),
        timeout=settings.webhook_timeout,
        allow_loopback=settings.webhook_allow_loopback,
    )


def webhook_sending(settings: Settings) -> Sending:
    """How a webhook sender shares out its deliveries, from the settings."""
    return Sending(
        window=settings.webhook_concurrency, lease_seconds=settings.webhook_lease_seconds
    )


def throttle_limits(settings: Settings) -> ThrottleLimits:
    """The sign-in throttle's limits from the settings."""
    return ThrottleLimits(
        free_failures=settings.signin_free_failures,
        client_failures=settings.signin_client_failures,
        window_seconds=settings.signin_window_minutes * 60,
    )


def event_store(settings: Settings, clock: Clock, signal: SaveSignal) -> LedgerApplication:
    """The event store's application core, raising saves on ``signal``. On PostgreSQL, an
    event store that gets no connection (the server refuses more, or stops answering) is
    :class:`DatabaseUnavailable`, as for the other stores, not an internal error."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    try:
        core = LedgerApplication(
            store_env(settings),
            clock=clock,
            command_retries=settings.command_retries,
            on_saved=signal.saved,
        )
    except (OperationalError, InterfaceError) as e:
        target = postgres_target(settings)
        if target is None:
            raise
        msg = f"PostgreSQL at {target.where}: the event store got no connection ({e})"
        raise DatabaseUnavailable(msg) from None
    if postgres_target(settings) is None:
        queue_writers_apart(core.recorder, settings.events_db)
    return core


def clock_of(settings: Settings) -> Clock:
    """The machine's clock, or (``BREACH_CLOCK_FILE``, for tests only) the machine's clock
    moved forward by the offset in that file."""
    if settings.clock_file is not None:
        return OffsetFileClock(settings.clock_file)
    return SystemClock()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    configure_logs: bool = True,
) -> Runtime:
    """Build a :class:`Runtime`: on PostgreSQL when ``settings.database_url`` is set,
    otherwise on the embedded SQLite files under ``settings.data_dir``."""
    settings = settings or Settings()
    clock = clock or clock_of(settings)
    if configure_logs:
        configure_logging(settings)
    make_private(settings.data_dir)
    uploads = Uploads(settings.data_dir / "uploads")
    uploads.sweep()
    signal = SaveSignal()
    all_projections = projections()
    with _databases(settings) as database:
        master_key = shared_secret(settings, "vault_master_key", "master.key")
        core = event_store(settings, clock, signal)
        credentials = CredentialStore(
            database if database is not None else settings.credentials_db,
            clock=clock,
            session_hours=settings.session_hours,
            hash_memory_kib=settings.password_hash_memory_kib,
            throttle=throttle_limits(settings),
            concurrency=settings.signin_concurrency,
            slot_wait=settings.signin_queue_seconds,
        )
        app = BreachLedger(
            core,
            vault=build_vault(settings, clock, database),
            templates=NoticeTemplates(settings.templates_dir / "notices"),
            notice_settings=notice_settings(settings),
            credentials=credentials,
            addresses=AddressBook(credentials.db, master_key),
            webhook_store=WebhookStore(
                database if database is not None else settings.webhooks_db, master_key
            ),
            webhook_rules=WebhookRules(
                allow_loopback=settings.webhook_allow_loopback, timeout=settings.webhook_timeout
            ),
        )
        store: ViewStore
        if database is not None:
            from services.projections.postgres_store import PostgresViewStore

            store = PostgresViewStore(database, all_projections)
            chain = ChainStore(database, allow_gaps=True)
        else:
            store = SQLiteViewStore(settings.views_db, all_projections)
            chain = ChainStore(settings.audit_db)
        store.create_table()
        build_lookup_index(app.people)
    app.people.import_max_bytes = settings.import_max_bytes
    app.alerts.dpo_fallback = settings.dpo_on_duty
    app.people.complete_erasures()
    feed = StoreFeed(
        app.core.recorder if database is not None else log_reader(settings.events_db),
        app.core.mapper,
        signal=signal,
        poll_interval=settings.feed_poll_interval,
        owns_recorder=database is None,
    )
    if database is not None:
        from services.storage.postgres_listen import SaveListener

        feed.listener = SaveListener(
            database.target,
            getattr(app.core.recorder, "channel_name"),  # noqa: B009  (the recorder's NOTIFY channel)
            lambda: signal.saved(feed.head()),
        )
    views = Views(feed, store, all_projections)
    catalog = PlaybookCatalog.load(settings.templates_dir / "playbooks")
    people = People(store)
    notifications = Notifications(store, timedelta(seconds=settings.sending_lease_seconds))
    alerts = Alerts(store)

    def alerts_of(incident_id: UUID) -> list[DomainEvent]:
        runtime.views_current("alerts")
        ids = alerts.ids_of_incident(incident_id)
        found = app.core.stored_events_of(ids) if ids else []
        decoded = map(app.core.mapper.to_domain_event, found)
        return [e for e in decoded if isinstance(e, DomainEvent)]

    def campaigns_of(incident_id: UUID) -> list[DomainEvent]:
        runtime.views_current("notifications")
        ids = [UUID(r["campaign_id"]) for r in notifications.campaigns(incident_id)]
        found = app.core.stored_events_of(ids) if ids else []
        decoded = map(app.core.mapper.to_domain_event, found)
        return [e for e in decoded if isinstance(e, CAMPAIGN_MARKS)]

    def people_added_to(incident_id: UUID) -> list[PeopleAdded]:
        runtime.views_current("people")
        return people.added_to(incident_id)

    app.containment.timeline_sources = (alerts_of, campaigns_of, people_added_to)
    audit_key = shared_secret(settings, "audit_key", "audit.key")

    def people_now(incident_id: UUID) -> Iterable[dict[str, Any]]:
        views.catch_up_only("people")
        return people.recipients_of(incident_id)

    people_of = PeopleReader(people_now)

    def languages_now(incident_id: UUID) -> dict[str, int]:
        runtime.views_current("people")
        return people.languages_of(incident_id)

    app.notifications.recipient_languages = languages_now

    runtime = Runtime(
        settings=settings,
        app=app,
        feed=feed,
        views=views,
        policies=Policies(
            feed,
            app.core,
            [*policies(app, catalog, people_of), *erasure_policies(settings, views, notifications)],
        ),
        board=Board(store),
        obligations=Obligations(store, due_soon=timedelta(hours=settings.due_soon_hours)),
        tasks=Tasks(store),
        people=people,
        chain=chain,
        audit_key=audit_key,
        notifications=notifications,
        playbooks=catalog,
        uploads=uploads,
        people_of=people_of,
        alerts=alerts,
        database=database,
    )
    if settings.kafka_bootstrap_servers:
        # Kafka's client is imported only by processes of the distributed mode.
        from services.feeds.kafka import topic_partitions
        from services.feeds.pipeline import Pipeline

        runtime.pipeline = Pipeline(
            app=app.core,
            feed=feed,
            view_position=store.position,
            partitions=lambda: topic_partitions(settings),
            views=[w.projection.name for w in views.workers],
            policies=[w.policy.name for w in runtime.policies.workers],
        )
    return runtime
