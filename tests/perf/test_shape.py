"""The shape of ``services/``: figures a newcomer feels, printed rather than asserted.

- the public attributes of the application class every face calls, beside eventsourcing's
  own ``Application``;
- import knots: groups of ``services`` packages that import one another in a loop;
- arrows that run from a lower layer to a higher one (the layers are named below);
- lines in the faces (cli, api, web) against the capabilities they serve;
- calls in the faces that decide when views, policies and the chain catch up
  (``settle``, ``fresh_runtime``);
- loops that read a feed of events (``while`` loops in the event-processing modules).

Imports inside functions count: they tie packages as surely as the ones at the top.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from eventsourcing.application import Application

SERVICES = Path(__file__).resolve().parents[2] / "services"
CAPABILITIES = (
    "incidents",
    "assessment",
    "containment",
    "people",
    "notifications",
    "users",
    "webhooks",
    "alerts",
)
LAYERS: dict[str, int] = {
    # the floor: clock, settings, logs, storage, the vault and the permission table
    **dict.fromkeys(("clock", "config", "logging", "storage", "vault", "access"), 0),
    # the event-store core, its field rules and errors, and the event-processing machinery
    **dict.fromkeys(("application", "timefmt", "data_dir", "projections", "feeds", "policies"), 1),
    # the capabilities
    **dict.fromkeys(CAPABILITIES, 2),
    # what composes or reads across capabilities
    **dict.fromkeys(("ledger", "gateway", "demo", "timeline", "team_stats", "audit"), 3),
    "bootstrap": 4,
    # what works on a wired runtime: audit operations, board replays, metrics
    **dict.fromkeys(("operations", "metrics"), 5),
    # the HTTP edge both HTTP faces share, the faces, the server that hosts them, and the
    # command line that starts everything
    "http": 6,
    **dict.fromkeys(("api", "web"), 7),
    "server": 8,
    "cli": 9,
}
FACES = ("cli", "api", "web", "http")
PROCESSING = ("projections", "policies", "feeds", "server", "audit", "notifications")


def node(path: Path) -> str:
    """The package (or top-level module) of ``services`` a file belongs to."""
    parts = path.relative_to(SERVICES).parts
    return parts[0].removesuffix(".py")


def files() -> Iterator[Path]:
    """Every Python file of ``services``."""
    yield from sorted(SERVICES.rglob("*.py"))


def imported(tree: ast.AST) -> Iterator[str]:
    """The ``services`` packages a module imports, wherever the import stands."""
    for item in ast.walk(tree):
        if isinstance(item, ast.ImportFrom) and item.module and item.module.startswith("services."):
            yield item.module.split(".")[1]
        elif isinstance(item, ast.ImportFrom) and item.module == "services":
            yield from (alias.name for alias in item.names)
        elif isinstance(item, ast.Import):
            for alias in item.names:
                if alias.name.startswith("services."):
                    yield alias.name.split(".")[1]


def graph() -> dict[str, set[str]]:
    """Package -> the packages it imports."""
    arrows: dict[str, set[str]] = defaultdict(set)
    for path in files():
        if path == SERVICES / "__init__.py":
            continue
        source = node(path)
        for target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            if target != source:
                arrows[source].add(target)
    return arrows


def knots(arrows: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(arrows.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(set(arrows) | {w for ws in arrows.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def sources(package: str) -> list[Path]:
    """The Python files of a package (or the one file of a top-level module)."""
    folder = SERVICES / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [SERVICES / f"{package}.py"]


def lines(package: str) -> int:
    """Lines of a package's Python files."""
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in sources(package))


def calls_in(package: str, names: tuple[str, ...]) -> int:
    """Calls of functions or methods with these names in a package."""
    count = 0
    for path in sources(package):
        for item in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(item, ast.Call):
                func = item.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in names:
                    count += 1
    return count


def gateway_calls(package: str, method: str) -> int:
    """Calls of ``<...>.gateway.<method>`` in a package."""
    count = 0
    for path in sources(package):
        for item in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = item.func if isinstance(item, ast.Call) else None
            if (
                isinstance(func, ast.Attribute)
                and func.attr == method
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "gateway"
            ):
                count += 1
    return count


def feed_loops() -> int:
    """``while`` loops in the modules that process events."""
    count = 0
    for package in PROCESSING:
        for path in sources(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            count += sum(isinstance(item, ast.While) for item in ast.walk(tree))
    return count


def public(cls: type) -> int:
    """Public attributes of a class, those its instances are given in ``__init__`` too."""
    names = {a for a in dir(cls) if not a.startswith("_")}
    init = getattr(cls, "__init__", None)
    code = getattr(init, "__code__", None)
    if code is not None and code.co_filename.startswith(str(SERVICES)):
        tree = ast.parse(Path(code.co_filename).read_text(encoding="utf-8"))
        for item in ast.walk(tree):
            if isinstance(item, ast.ClassDef) and item.name == cls.__name__:
                for node in ast.walk(item):
                    if (
                        isinstance(node, ast.Attribute)
                        and isinstance(node.value, ast.Name)
                        and node.value.id == "self"
                        and isinstance(node.ctx, ast.Store)
                        and not node.attr.startswith("_")
                    ):
                        names.add(node.attr)
    return len(names)


def test_shape_of_services() -> None:
    """Print the figures of the shape of ``services/``."""
    from services.application.base import LedgerApplication
    from services.assessment.handlers import AssessmentHandlers
    from services.containment.handlers import ContainmentHandlers
    from services.incidents.handlers import IncidentHandlers
    from services.ledger import BreachLedger
    from services.notifications.handlers import NotificationHandlers
    from services.people.handlers import PeopleHandlers
    from services.users.handlers import UserHandlers

    capabilities_ = (
        IncidentHandlers,
        AssessmentHandlers,
        ContainmentHandlers,
        PeopleHandlers,
        NotificationHandlers,
        UserHandlers,
    )

    arrows = graph()
    upward = sorted(
        (a, b)
        for a, targets in arrows.items()
        for b in targets
        if a in LAYERS and b in LAYERS and LAYERS[b] > LAYERS[a]
    )
    unplaced = sorted((set(arrows) | {b for bs in arrows.values() for b in bs}) - set(LAYERS))
    faces = sum(lines(f) for f in FACES)
    capabilities = sum(lines(c) for c in CAPABILITIES)
    print(
        f"\nshape of services/:\n"
        f"  public attributes: the event-store core {public(LedgerApplication)} "
        f"(eventsourcing's Application {public(Application)}), the composition "
        f"{public(BreachLedger)}, each capability's commands "
        f"{', '.join(f'{c.__name__} {public(c)}' for c in capabilities_)}\n"
        f"  import knots: {knots(arrows) or 'none'}\n"
        f"  arrows from a lower layer to a higher one: {len(upward)} "
        f"{', '.join(f'{a}->{b}' for a, b in upward)}"
        f"{f' (packages given no layer: {unplaced})' if unplaced else ''}\n"
        f"  lines: faces {faces - lines('http'):,} (cli {lines('cli'):,}, api "
        f"{lines('api'):,}, web {lines('web'):,}), {faces:,} with their shared http edge "
        f"({lines('http'):,}), against capabilities {capabilities:,}\n"
        f"  settle/fresh_runtime calls in faces: "
        f"{sum(calls_in(f, ('settle', 'fresh_runtime')) for f in FACES)}; commands run "
        f"through the gateway: {sum(gateway_calls(f, 'run') for f in FACES)}; catch-ups asked "
        f"for by a face: {sum(gateway_calls(f, 'current') for f in FACES)}\n"
        f"  while loops in event-processing modules: {feed_loops()}"
    )
