"""The processing engine: the batch loop, the offer of a batch in hand, tracking keys and the
position of the event being handled (over an in-memory processor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events.base import DomainEvent
from services.feeds.base import Positioned
from services.feeds.kafka import tracked_name
from services.feeds.processor import (
    Outcome,
    drive,
    fresh,
    handle_at,
    handling,
    offer,
    tracking_key,
)


def items(*positions: int) -> list[Positioned]:
    """Positioned items whose events are never looked at."""
    return [Positioned(p, DomainEvent.__new__(DomainEvent)) for p in positions]


class Recording:
    """A processor keeping its positions per stream in a dict; ``moved`` makes its next call
    find the position moved there by another worker first."""

    kind = "test"
    name = "recording"
    labels: dict[str, Any] = {"test": "recording"}

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}
        self.handled: list[tuple[str, int]] = []
        self.moved: int | None = None

    def position(self, stream: str = "") -> int:
        """The recorded position in ``stream``."""
        return self.positions.get(stream, 0)

    def process(self, batch: Sequence[Positioned], after: int, stream: str = "") -> Outcome:
        """Record the batch unless the position moved (then: raced)."""
        if self.moved is not None:
            self.positions[stream] = self.moved
            self.moved = None
            return Outcome(0, after, raced=True)
        assert self.position(stream) == after
        self.handled += [(stream, i.position) for i in batch]
        self.positions[stream] = batch[-1].position
        return Outcome(len(batch), batch[-1].position)


def test_drive_reads_in_batches_until_nothing_is_left() -> None:
    """The loop reads after the position each batch reached, until the reader is empty."""
    log = items(1, 2, 3, 4, 5)
    processor = Recording()
    applied = drive(processor, lambda after: [i for i in log if i.position > after][:2])
    assert applied == 5
    assert [p for _, p in processor.handled] == [1, 2, 3, 4, 5]


def test_after_a_race_the_position_is_read_again_and_nothing_is_handled_twice() -> None:
    """A processor whose position another worker moved to 3 goes on from 4."""
    log = items(1, 2, 3, 4, 5)
    processor = Recording()
    processor.moved = 3
    applied = drive(processor, lambda after: [i for i in log if i.position > after][:2])
    assert applied == 2
    assert [p for _, p in processor.handled] == [4, 5]


def test_offer_gives_each_processor_what_it_has_not_handled_in_the_stream() -> None:
    """A batch in hand (with a repeated position) goes to each processor from its own
    position in the partition's stream, once per position."""
    behind, ahead = Recording(), Recording()
    ahead.positions["p1"] = 3
    applied = offer([behind, ahead], items(2, 3, 3, 4), "p1")
    assert applied == 3 + 1
    assert behind.handled == [("p1", 2), ("p1", 3), ("p1", 4)]
    assert ahead.handled == [("p1", 4)]
    assert [i.position for i in fresh(items(5, 2, 6, 6), 1)] == [5, 6]


def test_tracking_keys_name_the_partition_and_not_the_store_feed() -> None:
    """A processor is tracked by its name on the store feed and as ``<name>@p<N>`` in a
    partition."""
    assert tracking_key("policy.notices", "") == "policy.notices"
    assert tracking_key("policy.notices", "p3") == tracked_name("policy.notices", 3)
    assert tracked_name("policy.notices", 3) == "policy.notices@p3"


def test_the_position_being_handled_is_told_only_while_handling() -> None:
    """Inside a handler the engine tells the event's position; outside it tells 0."""
    assert handle_at(42, handling) == 42
    assert handling() == 0
