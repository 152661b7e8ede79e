"""The processing engine: one interface for everything that handles the log, and what drives it.

A :class:`Processor` is a projection, a policy or the audit chain. It has a name, a tracked
position in each stream of the log (the store feed is the stream ``""``; a Kafka partition N
is the stream ``"pN"``), and handles a batch of events after a position, recording the
position with the effects so that every event is handled once per tracking key (a view's
batch in one transaction of the view store; a policy's reaction in one transaction of the
event store with its tracking record; a batch of chain links in one transaction).

:func:`drive` is the one batch loop: it offers a processor what a reader returns after the
processor's position until the reader has nothing more; when another worker moved the
position first, it reads the position again and goes on from there. :class:`Runner` keeps a
processor at the head of the store feed with it (:func:`~services.feeds.running.follow`),
and :func:`offer` hands one batch in hand (a Kafka partition's, or a batch read once for
several views) to several processors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import structlog

from services.feeds.base import Feed, Positioned
from services.feeds.progress import RunnerProgress, runner_key
from services.feeds.running import follow

log = structlog.get_logger()

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

_handling: ContextVar[int] = ContextVar("handling", default=0)


class Outcome(NamedTuple):
    """What one call of :meth:`Processor.process` recorded."""

    applied: int
    """Events whose effects this call recorded (for a policy: the reactions it saved)."""
    reached: int
    """The position this call recorded for the stream."""
    raced: bool = False
    """Another worker moved the position first: the rest of the batch was left alone, and
    the position must be read again."""


class Processor(Protocol[T_contra]):
    """Handles the log's events once per tracking key, recording its position with them."""

    @property
    def kind(self) -> str:
        """What it is (``projection``, ``policy``, ``chain``): names its log events."""
        ...

    @property
    def name(self) -> str:
        """Its name; its tracking key in a stream is the name (store feed) or
        ``<name>@<stream>``."""
        ...

    @property
    def labels(self) -> dict[str, Any]:
        """The fields naming it in log events."""
        ...

    def position(self, stream: str = "") -> int:
        """The last position handled in ``stream`` (0: nothing yet)."""
        ...

    def process(self, items: Sequence[T_contra], after: int, stream: str = "") -> Outcome:
        """Handle ``items`` (positions increasing, all above ``after``, the position read
        before), recording the position with the effects."""
        ...


def tracking_key(name: str, stream: str) -> str:
    """The tracking key of a processor in a stream: its name on the store feed,
    ``<name>@<stream>`` in a partition."""
    return f"{name}@{stream}" if stream else name


def handling() -> int:
    """The log position of the event a policy is handling in this thread (0: none)."""
    return _handling.get()


def handle_at(position: int, handle: Callable[[], T]) -> T:
    """Call ``handle`` with :func:`handling` telling ``position``."""
    token = _handling.set(position)
    try:
        return handle()
    finally:
        _handling.reset(token)


def fresh(items: Iterable[Positioned], after: int) -> list[Positioned]:
    """The items not yet handled: positions above ``after``, each once, in increasing order
    (a relay that restarted publishes some again)."""
    out: list[Positioned] = []
    last = after
    for item in items:
        if item.position > last:
            out.append(item)
            last = item.position
    return out


class Passed(NamedTuple):
    """What one :func:`advance` did."""

    applied: int
    """Events whose effects it recorded."""
    reached: int
    """The position it left the processor at (everything up to it handled)."""
    raced: bool
    """Another worker moved the position meanwhile (and may have recorded effects)."""


def advance(
    processor: Processor[T],
    read: Callable[[int], Sequence[T]],
    *,
    stream: str = "",
    at: int | None = None,
) -> Passed:
    """Offer ``processor`` what ``read(after)`` returns after its position (``at``, or read
    from the processor) until ``read`` returns nothing."""
    applied = 0
    raced = False
    if at is None:
        at = processor.position(stream)
    while items := read(at):
        outcome = processor.process(items, at, stream)
        applied += outcome.applied
        if outcome.raced:
            log.debug(f"{processor.kind}.raced", **processor.labels, stream=stream, position=at)
            raced = True
            at = processor.position(stream)
        else:
            at = outcome.reached
    return Passed(applied, at, raced)


def drive(
    processor: Processor[T],
    read: Callable[[int], Sequence[T]],
    *,
    stream: str = "",
    at: int | None = None,
) -> int:
    """:func:`advance`, telling how many events it applied."""
    return advance(processor, read, stream=stream, at=at).applied


def offer(
    processors: Sequence[Processor[Positioned]],
    items: Sequence[Positioned],
    stream: str = "",
    positions: Sequence[int] | None = None,
) -> int:
    """Hand a batch in hand to every processor, each taking the events above its position in
    ``stream`` (``positions``, when the caller has just read them); return how many were
    applied, summed over processors."""
    applied = 0
    for i, processor in enumerate(processors):
        applied += drive(
            processor,
            lambda after: fresh(items, after),
            stream=stream,
            at=None if positions is None else positions[i],
        )
    return applied


def bounded(
    read: Callable[[int, int], Sequence[T]], head: Callable[[], int] | None
) -> Callable[[int, int], Sequence[T]]:
    """``read``, answering nothing without reading once ``after`` reaches ``head()``: a
    catch-up pass that knows how far the log is saved stops there, instead of asking the
    store whether anything is left (a read that finds nothing is a round trip to the
    database). Without ``head``, ``read`` itself."""
    if head is None:
        return read

    def within(after: int, limit: int) -> Sequence[T]:
        return read(after, limit) if after < head() else []

    return within


class Runner(Generic[T]):
    """Keeps one processor at the head of the store feed: catches up in batches of
    ``batch_size`` that ``read(after, limit)`` returns, then waits on ``feed`` for more.

    ``reached`` is the position its last pass left the processor at, kept here (0 before
    the first); a running runner tells it to a
    :class:`~services.feeds.progress.RunnerProgress` after each pass."""

    def __init__(
        self,
        processor: Processor[T],
        feed: Feed,
        *,
        read: Callable[[int, int], Sequence[T]],
        batch_size: int,
    ) -> None:
        self.processor = processor
        self.feed = feed
        self.read = read
        self.batch_size = batch_size
        self.reached = 0

    @property
    def key(self) -> str:
        """The key it reports its progress under."""
        return runner_key(self.processor.kind, self.processor.name)

    @property
    def position(self) -> int:
        """The last position the processor handled on the store feed."""
        return self.processor.position()

    def advance(self, head: Callable[[], int] | None = None) -> Passed:
        """Handle every event up to the head of the log (up to ``head()``, when given: see
        :func:`bounded`)."""
        read = bounded(self.read, head)
        passed = advance(self.processor, lambda after: read(after, self.batch_size))
        self.reached = max(self.reached, passed.reached)
        return passed

    def catch_up(self) -> int:
        """Handle every event up to the head of the log; return how many were applied."""
        return self.advance().applied

    def run(
        self,
        stop: threading.Event,
        idle_timeout: float = 1.0,
        *,
        after_pass: Callable[[int], None] | None = None,
        progress: RunnerProgress | None = None,
        pause: float = 0.0,
    ) -> None:
        """Keep the processor at the head of the feed until ``stop`` is set (``after_pass``
        is told how many each pass applied; ``progress``, the position each pass reached,
        until the runner stops or fails; ``pause``, see :func:`follow`)."""
        key = self.key

        def catch_up() -> None:
            passed = self.advance()
            if progress is not None:
                progress.passed(key, self.reached)
            if after_pass is not None:
                after_pass(passed.applied)

        if progress is not None:
            progress.join(key)
        try:
            follow(
                self.processor.kind,
                self.processor.labels,
                catch_up,
                lambda: self.reached or self.position,
                self.feed,
                stop,
                idle_timeout=idle_timeout,
                pause=pause,
            )
        finally:
            if progress is not None:
                progress.leave(key)


def advance_together(
    processors: Sequence[Processor[Positioned]],
    read: Callable[[int, int], Sequence[Positioned]],
    batch_size: int,
) -> Passed:
    """Bring every processor (in order) to the head of the store feed, reading each batch
    once after the position of the one furthest behind and offering it to each."""
    positions = [p.position() for p in processors]
    applied = 0
    raced = False
    while positions and (items := read(min(positions), batch_size)):
        for i, processor in enumerate(processors):
            passed = advance(processor, lambda after: fresh(items, after), at=positions[i])
            positions[i] = passed.reached
            applied += passed.applied
            raced = raced or passed.raced
    return Passed(applied, min(positions, default=0), raced)


class SharedRunner:
    """Brings several processors to the head of the store feed together, each batch read
    and decoded once for all (a server's views; its policies, in order, again while they
    react, so that a pass ends with the reactions to its reactions handled): a stage of the
    server's :class:`~services.feeds.catch_up.CatchUpLoop`.

    ``key`` names it where the loop reports the position every processor reached."""

    def __init__(
        self,
        key: str,
        processors: Sequence[Processor[Positioned]],
        feed: Feed,
        *,
        batch_size: int,
        until_quiet: bool = False,
        read: Callable[[int, int], Sequence[Positioned]] | None = None,
    ) -> None:
        self.key = key
        self.processors = processors
        self.feed = feed
        self.read = read or feed.read
        """How batches are read (the feed's plain read, unless given)."""
        self.batch_size = batch_size
        self.until_quiet = until_quiet
        self.reached = 0

    def advance(self, head: Callable[[], int] | None = None) -> int:
        """One pass: every processor to the head of the log, or to ``head()`` (see
        :func:`bounded`), with ``until_quiet`` again until a round applies nothing; return
        how many were applied."""
        applied = 0
        read = bounded(self.read, head)
        while True:
            passed = advance_together(self.processors, read, self.batch_size)
            self.reached = max(self.reached, passed.reached)
            applied += passed.applied
            if not (self.until_quiet and passed.applied):
                return applied
