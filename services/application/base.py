"""The event-sourced application base: storage wiring, the clock, and safe command execution.

Capability packages add command methods by subclassing :class:`LedgerApplication`; the
composed class is :class:`services.ledger.BreachLedger`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Mapper,
    Notification,
    Recording,
    Tracking,
    TrackingRecorder,
    Transcoder,
)
from eventsourcing.utils import Environment, EnvType
from pydantic import BaseModel, ValidationError
from structlog.contextvars import bound_contextvars

from events.base import Cause
from events.containment import ContainmentTask
from events.errors import RuleViolation
from events.incident import Incident
from events.notifications import Campaign
from services.application.context import RequestContext
from services.application.encoding import CanonicalJSONTranscoder, PydanticMapper
from services.application.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RuleBroken,
)
from services.application.snapshots import StateSnapshot
from services.clock import Clock
from services.storage.event_reads import event_reads

A = TypeVar("A", bound=BaseAggregate[UUID])
M = TypeVar("M", bound=BaseModel)

log = structlog.get_logger()


SNAPSHOT_INTERVAL = 50
"""Incidents, campaigns and tasks can grow long histories: snapshot every 50 events."""


class LedgerApplication(Application[UUID]):
    """Stores pydantic events canonically, stamps them from an injected clock, retries races.

    ``env`` holds the eventsourcing infrastructure settings (the process environment is
    deliberately not consulted: :class:`services.config.Settings` is the one source).
    ``on_saved`` is called with the highest log position after every local save, so that
    in-process feeds wake at once. Capabilities declare the collaborators they need
    themselves; the composed application (:mod:`services.ledger`) is given them all.
    """

    name = "BreachLedger"
    snapshot_class = StateSnapshot
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Incident: SNAPSHOT_INTERVAL,
        Campaign: SNAPSHOT_INTERVAL,
        ContainmentTask: SNAPSHOT_INTERVAL,
    }

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clock: Clock,
        command_retries: int = 5,
        on_saved: Callable[[int], None] | None = None,
    ) -> None:
        self.clock = clock
        self.command_retries = command_retries
        self.on_saved = on_saved
        super().__init__(dict(env))

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Build the infrastructure environment from the given mapping only."""
        merged = dict(type(self).env)
        if self.is_snapshotting_enabled or self.snapshotting_intervals:
            merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        merged.update(env or {})
        return Environment(name, merged)

    def construct_recorder(self) -> ApplicationRecorder:
        """A process recorder: the event log plus tracking of what policies handled."""
        return self.factory.process_recorder()

    def save_tracked(
        self, *aggregates: BaseAggregate[UUID], tracking: Tracking
    ) -> list[Recording[UUID]]:
        """Save aggregates and a tracking record in one transaction (for policies)."""
        return self.save_aggregates(aggregates, tracking=tracking)

    def save_aggregates(
        self, aggregates: Sequence[BaseAggregate[UUID]], *, tracking: Tracking | None = None
    ) -> list[Recording[UUID]]:
        """Save many aggregates' pending events in one transaction.

        Equivalent to :meth:`save` for aggregates, without its per-object protocol checks,
        which dominate when a batch holds thousands of aggregates.
        """
        processing = ProcessingEvent[UUID](tracking)
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` already have an aggregate in the store (few queries)."""
        reads = event_reads(self.recorder)
        if reads is None:
            return {i for i in ids if self.recorder.select_events(i, limit=1)}
        return reads.created(ids)

    def load_many(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
        """Current aggregates for many ids, read with few queries (bypassing the cache, so
        the caller owns the objects). Missing ids are left out."""
        return self._events_of(ids, lambda _: True)

    def _events_of(self, ids: Sequence[UUID], keep: Callable[[Any], bool]) -> dict[UUID, Any]:
        """Aggregates projected from their events that ``keep`` accepts (in version order,
        stopping at the first it refuses)."""
        reads = event_reads(self.recorder)
        grouped: dict[UUID, list[Any]] = {}
        if reads is None:
            for i in ids:
                grouped[i] = list(self.events.get(i))
            return _project(grouped, keep)
        for stored in reads.stored(ids):
            aggregate_id = stored.originator_id
            assert isinstance(aggregate_id, UUID)
            grouped.setdefault(aggregate_id, []).append(self.mapper.to_domain_event(stored))
        return _project(grouped, keep)

    def as_of(self, aggregate_id: UUID, at: datetime) -> Any | None:
        """The aggregate as it was recorded at ``at`` (None if it did not exist yet): from
        the latest snapshot taken of a state no later than ``at``, then its events."""
        aggregate: Any = None
        after: int | None = None
        if self.snapshots is not None:
            snapshot: Any
            for snapshot in self.snapshots.get(aggregate_id, desc=True):
                if getattr(snapshot, "modified_on", at) <= at:
                    aggregate = snapshot.mutate(None)
                    after = snapshot.originator_version
                    break
        while True:
            events: list[Any] = list(self.events.get(aggregate_id, gt=after, limit=500))
            for event in events:
                if event.timestamp > at:
                    return aggregate
                aggregate = event.mutate(aggregate)
            if len(events) < 500:
                return aggregate
            after = events[-1].originator_version

    def many_as_of(self, ids: Sequence[UUID], at: datetime) -> dict[UUID, Any]:
        """Many aggregates as recorded at ``at`` (those that did not exist yet are left out)."""
        out: dict[UUID, Any] = {}
        for aggregate_id, aggregate in self._events_of(ids, lambda e: e.timestamp <= at).items():
            out[aggregate_id] = aggregate
        return out

    def originators_between(self, first: int, last: int, topics: Sequence[str]) -> list[UUID]:
        """The aggregates with an event of one of ``topics`` stored at a position from
        ``first`` to ``last``, in the order of their first such event."""
        found: dict[UUID, None] = {}
        start = first
        while start <= last:
            page = self.recorder.select_notifications(
                start=start, limit=1000, stop=last, topics=topics
            )
            found.update((UUID(str(n.originator_id)), None) for n in page)
            if len(page) < 1000:
                break
            start = page[-1].id + 1
        return list(found)

    def stored_events_of(self, ids: Sequence[UUID]) -> list[Notification]:
        """The stored events of these aggregates, undecoded, in log order."""
        reads = event_reads(self.recorder)
        if reads is None:
            msg = "stored_events_of needs the SQLite or the PostgreSQL recorder"
            raise NotImplementedError(msg)
        return reads.stored(ids)

    def version_at(self, aggregate_id: UUID, position: int) -> int | None:
        """The aggregate's version when the log ended at ``position``."""
        reads = event_reads(self.recorder)
        return None if reads is None else reads.version_at(aggregate_id, position)

    def tracked_position(self, name: str) -> int:
        """The last log position recorded as handled under ``name`` (0 when none)."""
        recorder = self.recorder
        assert isinstance(recorder, TrackingRecorder)
        return recorder.max_tracking_id(name) or 0

    def construct_transcoder(self) -> Transcoder:
        """Canonical JSON, so stored bytes depend on content only."""
        return CanonicalJSONTranscoder()

    def construct_mapper(self) -> Mapper[UUID]:
        """Map pydantic events, with the store's optional compressor and cipher."""
        return PydanticMapper(
            transcoder=self.construct_transcoder(),
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
        )

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if self.on_saved is not None and recordings:
            self.on_saved(max(r.notification.id for r in recordings))

    def cause(self, ctx: RequestContext) -> Cause:
        """The cause of a change requested now by ``ctx``."""
        return Cause(actor=ctx.actor, correlation_id=ctx.correlation_id, at=self.clock.now())

    @staticmethod
    def validated(model: type[M], data: Mapping[str, Any] | M) -> M:
        """Validate command input, naming the first bad field on failure."""
        if isinstance(data, model):
            return data
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise InvalidInput.from_validation(e) from None

    def load(
        self,
        aggregate_id: UUID,
        kind: type[A],
        *,
        version: int | None = None,
        reading: bool = False,
    ) -> A:
        """Load an aggregate of the given kind, or raise :class:`NotFound`. ``reading``:
        the caller only reads it, so the repository's cached aggregate is returned itself
        rather than a copy (never change or save what it returns)."""
        try:
            aggregate: object = self.repository.get(
                aggregate_id, version=version, deepcopy_from_cache=not reading
            )
        except AggregateNotFoundError:
            raise NotFound("id", f"no such {_noun(kind)}") from None
        if not isinstance(aggregate, kind):
            raise NotFound("id", f"no such {_noun(kind)}")
        return aggregate

    def change(
        self,
        aggregate_id: UUID,
        kind: type[A],
        ctx: RequestContext,
        command: Callable[[A, Cause], None],
        *,
        logged: str,
        follow: Callable[[A, Cause], Sequence[BaseAggregate[UUID]]] | None = None,
        **log_fields: Any,
    ) -> A:
        """Run ``command`` on the aggregate and save; on a lost race, reload and retry.

        The command is re-checked against the winner's version on each retry, so a
        change that no longer makes sense is refused rather than applied blindly. ``follow``
        adds what the change implies (events on the same aggregate, and other aggregates
        with new pending events) before the one atomic save. On success ``logged`` is
        logged with the ids bound.
        """
        key = getattr(kind, "LOG_KEY", f"{kind.__name__.lower()}_id")
        with bound_contextvars(correlation_id=ctx.correlation_id, **{key: str(aggregate_id)}):
            for attempt in range(self.command_retries + 1):
                aggregate = self.load(aggregate_id, kind)
                self._check_precondition(aggregate_id, aggregate.version, ctx)
                cause = self.cause(ctx)
                try:
                    command(aggregate, cause)
                    others = follow(aggregate, cause) if follow is not None else ()
                except RuleViolation as e:
                    raise RuleBroken(e.field or "state", e.reason) from None
                try:
                    self.save(aggregate, *others)
                except IntegrityError:
                    log.info("command.retry", attempt=attempt + 1)
                    continue
                log.info(logged, actor=ctx.actor, version=aggregate.version, **log_fields)
                return aggregate
            log.warning("command.conflict", attempts=self.command_retries + 1)
        raise Conflict(
            "version",
            f"the {_noun(kind)} kept changing under this request; try again",
        )

    @staticmethod
    def _check_precondition(aggregate_id: UUID, version: int, ctx: RequestContext) -> None:
        match = ctx.if_match
        if match is not None and match[0] == aggregate_id and match[1] != version:
            raise PreconditionFailed(
                "If-Match", f"the version given is stale; the current version is {version}"
            )

    def log_change(self, logged: str, ctx: RequestContext, **fields: Any) -> None:
        """Log a change made outside :meth:`change`, with the request's ids bound."""
        with bound_contextvars(correlation_id=ctx.correlation_id):
            log.info(logged, actor=ctx.actor, **fields)

    def create(
        self, make: Callable[[Cause], A], ctx: RequestContext, *, logged: str, **log_fields: Any
    ) -> A:
        """Create an aggregate with ``make``, save it, and log ``logged`` with its id bound."""
        try:
            aggregate = make(self.cause(ctx))
        except RuleViolation as e:
            raise RuleBroken(e.field or "state", e.reason) from None
        self.save(aggregate)
        key = getattr(aggregate, "LOG_KEY", f"{type(aggregate).__name__.lower()}_id")
        with bound_contextvars(correlation_id=ctx.correlation_id, **{key: str(aggregate.id)}):
            log.info(logged, actor=ctx.actor, **log_fields)
        return aggregate


def _noun(kind: type[Any]) -> str:
    """The kind of aggregate in words: ``ContainmentTask`` is "containment task"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.__name__).lower()


def _project(grouped: dict[UUID, list[Any]], keep: Callable[[Any], bool]) -> dict[UUID, Any]:
    out = {}
    for key, events in grouped.items():
        aggregate = None
        for event in events:
            if not keep(event):
                break
            aggregate = event.mutate(aggregate)
        if aggregate is not None:
            out[key] = aggregate
    return out
