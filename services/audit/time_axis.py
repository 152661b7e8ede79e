"""An incident on a time axis: the legal moments, every due obligation's deadline with its
outcome (earlier deadlines it superseded drawn faint), containment tasks as bars from open
to done with the moment containment was reached, campaigns from approval to their last
notice, notes and decisions as marks, and "now" (or the moment replayed) as a line.

It is built from a replay (:func:`services.audit.replay.replay_incident`) and the timeline's
marks recorded by then, so the picture as of any moment is the picture of what was known
then. The drawing is SVG rendered by the server from ``templates/reports/time_axis.svg``
(presentation attributes only: no script, no inline style), with the same marks as a list
for readers who do not see it; the web pages and the auditor's report include the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from events.containment import TaskCancelled
from events.incident import IncidentNoteAdded, IncidentState, ObligationsEvaluated
from events.notifications import CampaignApproved, CampaignCancelled, CampaignCompleted
from services.audit.replay import IncidentReplay
from services.audit.report import deadline_outcome
from services.timefmt import show_time
from services.timeline import TimelineMark

WIDTH, GUTTER, RIGHT = 960, 190, 20
"""The drawing's width, the left gutter that holds the lanes' names, the right margin."""
ROW, TOP, AXIS = 26, 34, 46
"""A lane's height, the space above the first lane, the space under the last for the axis."""
MAX_TASK_ROWS = 12
"""Tasks drawn as bars; more are counted in a note (and all are in the text list)."""
TICK_STEPS = tuple(
    timedelta(**step)
    for step in (
        {"minutes": 15},
        {"hours": 1},
        {"hours": 3},
        {"hours": 6},
        {"hours": 12},
        {"days": 1},
        {"days": 2},
        {"days": 7},
        {"days": 14},
        {"days": 30},
        {"days": 91},
        {"days": 365},
    )
)

COLOURS = {
    "moment": "#1f4e79",
    "met": "#1b7f3b",
    "missed": "#b00020",
    "pending": "#b26a00",
    "waived": "#555555",
    "superseded": "#8a8a8a",
    "done": "#1b7f3b",
    "open": "#b26a00",
    "overdue": "#b00020",
    "cancelled": "#8a8a8a",
    "campaign": "#5b3f9e",
    "note": "#1f4e79",
    "decision": "#7a2f00",
    "contained": "#1b7f3b",
    "now": "#b00020",
    "closed": "#333333",
}
"""Each kind's colour; every mark also carries its meaning in words (label and list)."""


@dataclass
class Mark:
    """A point on the axis: ``kind`` (moment, deadline, note, decision, contained, closed),
    ``state`` for a deadline (met, missed, pending, waived, superseded)."""

    kind: str
    at: datetime
    label: str
    state: str = ""
    x: float = 0
    y: float = 0
    when: str = ""
    """The moment in words (set when laid out)."""
    label_row: int = 0
    """For a legal moment: its name is written above (0) or below (1) its diamond, or not at
    all (-1) where moments lie too close for it (its title and the list still name it)."""
    stack: int = 0
    """For a deadline: how many deadlines drawn before it lie at the same place (its flag
    is drawn lower by as many steps, so each stays visible)."""

    @property
    def short(self) -> str:
        """The first word of the label (a legal moment's name)."""
        return self.label.split(" ")[0]

    @property
    def colour(self) -> str:
        """The mark's colour: its deadline's outcome, else its kind's."""
        return COLOURS.get(self.state or self.kind, "#333333")


@dataclass
class Bar:
    """A span: a task (open, done, overdue or cancelled) or a campaign, from ``start`` to
    ``end`` (None: still running at the axis's moment)."""

    kind: str
    label: str
    start: datetime
    end: datetime | None
    state: str
    due: datetime | None = None
    x: float = 0
    y: float = 0
    width: float = 0
    due_x: float | None = None
    when: str = ""

    @property
    def colour(self) -> str:
        """The bar's colour: a task's state, or the campaigns' colour."""
        return COLOURS.get(self.state if self.kind == "task" else "campaign", "#333333")


@dataclass
class Lane:
    """A named row of the drawing."""

    name: str
    y: float


@dataclass
class Tick:
    """A labelled moment under the lanes."""

    x: float
    label: str


@dataclass
class TimeAxis:
    """Everything the drawing and its text alternative show, laid out."""

    incident_id: str
    as_of: datetime
    replayed: bool
    open: bool
    start: datetime
    end: datetime
    marks: list[Mark] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    listed: list[Bar] = field(default_factory=list)
    """Every bar, drawn or not (the text alternative lists them all)."""
    hidden_tasks: int = 0
    now_x: float | None = None
    height: float = 0
    lanes_bottom: float = 0

    def of_kind(self, kind: str) -> list[Mark]:
        """The marks of one kind."""
        return [m for m in self.marks if m.kind == kind]


def _deadlines(
    state: IncidentState, evaluations: Sequence[ObligationsEvaluated], at: datetime, zone: tzinfo
) -> list[Mark]:
    """The current evaluation's due deadlines with their outcome, and the earlier ones an
    evaluation since replaced, faint."""
    current = {
        o.id: o.deadline
        for o in (state.evaluation.obligations if state.evaluation else ())
        if o.due and o.deadline is not None
    }
    out = []
    seen: set[tuple[str, datetime]] = set()
    for event in evaluations:
        for o in event.evaluation.obligations:
            if not o.due or o.deadline is None or (o.id, o.deadline) in seen:
                continue
            seen.add((o.id, o.deadline))
            if current.get(o.id) != o.deadline:
                out.append(
                    Mark(
                        "deadline",
                        o.deadline,
                        f"{o.id}: deadline, superseded",
                        "superseded",
                    )
                )
    for obligation_id, deadline in current.items():
        obligation = state.evaluation.find(obligation_id) if state.evaluation else None
        assert obligation is not None
        outcome = deadline_outcome(state, obligation, at)
        out.append(
            Mark(
                "deadline",
                deadline,
                f"{obligation_id}: deadline, {outcome}",
                outcome,
            )
        )
    return out


def build_axis(
    replay: IncidentReplay,
    marks: Sequence[TimelineMark],
    zone: tzinfo,
    *,
    replayed: bool,
    obligations: bool = True,
    tasks: bool = True,
    campaigns: bool = True,
) -> TimeAxis:
    """Lay out the incident as ``replay`` shows it, with the timeline ``marks`` (those
    recorded by its moment when ``replayed``, the moment then being an earlier one than now;
    all of them otherwise). A reader who may
    not see obligations (deadlines and decisions), tasks or campaigns gets an axis without
    them."""
    state = replay.state
    assert state is not None, "an incident that did not exist then has no time axis"
    at = replay.as_of
    known = [m for m in marks if m.timestamp <= at] if replayed else list(marks)
    points: list[Mark] = []
    moments = state.moments
    for name, moment in (
        ("occurred", moments.occurred_at),
        ("discovered", moments.discovered_at),
        ("aware", moments.aware_at),
        ("determined a breach", moments.determined_at),
    ):
        if moment is not None:
            points.append(Mark("moment", moment, name))
    if obligations:
        evaluations = [m for m in known if isinstance(m, ObligationsEvaluated)]
        points.extend(_deadlines(state, evaluations, at, zone))
    for m in known:
        if isinstance(m, IncidentNoteAdded):
            points.append(Mark("note", m.timestamp, f"note by {m.actor}: {m.text}"))
    for d in replay.decisions if obligations else ():
        words = d.decision.replace("_", " ")
        points.append(Mark("decision", d.at, f"{d.actor} decided {d.obligation_id}: {words}"))
    if state.containment_reached_at is not None:
        points.append(
            Mark(
                "contained",
                state.containment_reached_at,
                "containment reached",
            )
        )
    if state.closed_at is not None:
        points.append(Mark("closed", state.closed_at, "closed"))
    bars = (_task_bars(replay, known, at, zone) if tasks else []) + (
        _campaign_bars(replay, known, zone) if campaigns else []
    )
    axis = TimeAxis(
        incident_id=replay.incident_id,
        as_of=at,
        replayed=replayed,
        open=state.closed_at is None,
        start=at,
        end=at,
        marks=sorted(points, key=lambda p: p.at),
        bars=bars,
    )
    _lay_out(axis, zone)
    return axis


def _task_bars(
    replay: IncidentReplay, known: Sequence[TimelineMark], at: datetime, zone: tzinfo
) -> list[Bar]:
    cancelled_at = {
        str(m.originator_id): m.timestamp for m in known if isinstance(m, TaskCancelled)
    }
    bars = []
    for t in sorted(replay.tasks, key=lambda t: (t.opened_at or t.due_at, t.task_id)):
        start = t.opened_at or t.due_at
        if t.status == "done":
            end, state = t.completed_at, "done"
        elif t.status == "cancelled":
            end, state = cancelled_at.get(t.task_id, start), "cancelled"
        else:
            end, state = None, "overdue" if t.due_at < at else "open"
        label = (
            f"task {t.title} ({'mandatory' if t.mandatory else 'optional'}): opened, due "
            f"{show_time(t.due_at, zone)}, {state}"
            + (f" {show_time(end, zone)}" if end is not None else "")
        )
        bars.append(Bar("task", label, start, end, state, due=t.due_at))
    return bars


def _campaign_bars(
    replay: IncidentReplay, known: Sequence[TimelineMark], zone: tzinfo
) -> list[Bar]:
    approved: dict[str, datetime] = {}
    ended: dict[str, datetime] = {}
    for m in known:
        key = str(getattr(m, "originator_id", ""))
        if isinstance(m, CampaignApproved):
            approved[key] = m.timestamp
        elif isinstance(m, CampaignCompleted | CampaignCancelled):
            ended[key] = m.timestamp
    bars = []
    for c in replay.campaigns:
        if c.campaign_id not in approved:
            continue
        start, end = approved[c.campaign_id], ended.get(c.campaign_id)
        counts = ", ".join(f"{n:,} {status}" for status, n in c.notices.items()) or "no notices"
        label = (
            f"campaign to {c.audience} ({c.status}): approved"
            + (f", ended {show_time(end, zone)}" if end else "")
            + f"; {counts}"
        )
        bars.append(Bar("campaign", label, start, end, c.status))
    return bars


def _lay_out(axis: TimeAxis, zone: tzinfo) -> None:
    """Give every mark, bar, lane and tick its place."""
    times = [m.at for m in axis.marks]
    for b in axis.bars:
        times.append(b.start)
        times.extend(t for t in (b.end, b.due) if t is not None)
    if axis.open or axis.replayed:
        times.append(axis.as_of)
    low, high = min(times, default=axis.as_of), max(times, default=axis.as_of)
    span = max(high - low, timedelta(hours=1))
    axis.start, axis.end = low - span * 0.03, high + span * 0.03
    plot = WIDTH - GUTTER - RIGHT

    def x_of(moment: datetime) -> float:
        return round(GUTTER + (moment - axis.start) / (axis.end - axis.start) * plot, 1)

    axis.listed = list(axis.bars)
    y = TOP
    lane_of: dict[str, float] = {}
    for name in ("Legal moments", "Deadlines"):
        axis.lanes.append(Lane(name, y))
        lane_of[name] = y
        y += ROW
    tasks = [b for b in axis.bars if b.kind == "task"]
    axis.hidden_tasks = max(len(tasks) - MAX_TASK_ROWS, 0)
    for bar in tasks[:MAX_TASK_ROWS]:
        axis.lanes.append(Lane(_short_label(bar.label.removeprefix("task "), 26), y))
        bar.y = y
        y += ROW
    for bar in (b for b in axis.bars if b.kind == "campaign"):
        axis.lanes.append(Lane(_short_label(bar.label, 26), y))
        bar.y = y
        y += ROW
    axis.lanes.append(Lane("Notes and decisions", y))
    lane_of["Notes and decisions"] = y
    y += ROW
    axis.lanes_bottom = y
    axis.height = y + AXIS
    drawn = tasks[:MAX_TASK_ROWS] + [b for b in axis.bars if b.kind == "campaign"]
    for bar in axis.listed:
        bar.when = show_time(bar.start, zone)
    for bar in drawn:
        bar.x = x_of(bar.start)
        end = bar.end if bar.end is not None else axis.as_of
        bar.width = max(x_of(end) - bar.x, 3)
        bar.due_x = x_of(bar.due) if bar.due is not None else None
    axis.bars = drawn
    lanes = {
        "moment": "Legal moments",
        "deadline": "Deadlines",
        "note": "Notes and decisions",
        "decision": "Notes and decisions",
        "closed": "Notes and decisions",
    }
    for mark in axis.marks:
        mark.when = show_time(mark.at, zone)
        mark.x = x_of(mark.at)
        mark.y = lane_of.get(lanes.get(mark.kind, ""), TOP)
    ends = [-1.0, -1.0]
    for mark in axis.of_kind("moment"):
        start = mark.x + 9
        free = [row for row in (0, 1) if start >= ends[row]]
        if not free:
            mark.label_row = -1
            continue
        mark.label_row = free[0]
        ends[mark.label_row] = start + 6 * len(mark.short) + 6
    placed: list[float] = []
    for mark in axis.of_kind("deadline"):
        mark.stack = sum(abs(mark.x - x) < 4 for x in placed)
        placed.append(mark.x)
    if axis.open or axis.replayed:
        axis.now_x = x_of(axis.as_of)
    axis.ticks = _ticks(axis.start, axis.end, zone, x_of)


def _short_label(text: str, size: int) -> str:
    text = text.split(":")[0].split(" (")[0]
    return text if len(text) <= size else text[: size - 1] + "…"


def _ticks(
    start: datetime, end: datetime, zone: tzinfo, x_of: Callable[[datetime], float]
) -> list[Tick]:
    """Round moments under the lanes, at most eight."""
    span = end - start
    step = next((s for s in TICK_STEPS if span / s <= 8), TICK_STEPS[-1])
    local = start.astimezone(zone)
    if step >= timedelta(days=1):
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        shape = "%d %b" if step < timedelta(days=365) else "%Y"
    else:
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        shape = "%d %b %H:%M"
    ticks = []
    moment = first
    while moment < start:
        moment += step
    while moment <= end:
        if moment >= start:
            ticks.append(Tick(x_of(moment), moment.strftime(shape)))
        moment += step
    return ticks


def text_alternative(axis: TimeAxis, zone: tzinfo) -> list[str]:
    """The drawing in words, in time order: one line per mark and bar."""
    items: list[tuple[datetime, str]] = [(m.at, m.label) for m in axis.marks]
    items += [(b.start, b.label) for b in axis.listed]
    lines = [f"{show_time(at, zone)}: {label}" for at, label in sorted(items, key=lambda i: i[0])]
    if axis.now_x is not None:
        lines.append(f"{'as of' if axis.replayed else 'now'}: {show_time(axis.as_of, zone)}")
    return lines


@cache
def _template(templates_dir: Path) -> Template:
    """The drawing's template, loaded and compiled once per templates directory (every
    incident page draws it)."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir / "reports"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    return env.get_template("time_axis.svg")


def render_axis(templates_dir: Path, axis: TimeAxis, zone: tzinfo) -> Markup:
    """The SVG drawing and its text alternative, as markup to place in a page."""
    html = _template(templates_dir).render(
        axis=axis,
        colours=COLOURS,
        width=WIDTH,
        gutter=GUTTER,
        right=RIGHT,
        lines=text_alternative(axis, zone),
        moment=show_time(axis.as_of, zone),
        now_label=f"{'as of' if axis.replayed else 'now'} {show_time(axis.as_of, zone)}",
    )
    return Markup(html)  # noqa: S704  (rendered with autoescape from our own template)
