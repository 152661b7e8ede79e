"""Running calls at once in threads, for tests of concurrent workers."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(*calls: Callable[[], object]) -> None:
    """Run the calls in threads released together; fail with the failures, if any."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        start.wait()
        try:
            call()
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
