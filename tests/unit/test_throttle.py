"""The sign-in throttle's schedule of waits per account."""

from __future__ import annotations

from services.users.throttle import ThrottleLimits


def test_waits_double_after_the_free_failures_and_stop_growing_at_the_window() -> None:
    """No wait for the first five failures; then 1, 2, 4 ... seconds, never beyond the
    window."""
    limits = ThrottleLimits(free_failures=5, window_seconds=900)
    assert [limits.account_wait(n) for n in range(1, 9)] == [0, 0, 0, 0, 1, 2, 4, 8]
    assert limits.account_wait(15) == 900
    assert limits.account_wait(40) == 900
