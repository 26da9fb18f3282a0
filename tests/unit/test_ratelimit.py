"""The sliding-window limiter behind the network sign-in limit (server/web/ratelimit.py), on a fake clock."""
from __future__ import annotations

import threading

from server.web.ratelimit import SlidingWindowLimiter, retry_seconds


def test_blocks_after_the_limit_for_the_rest_of_the_window():
    lim = SlidingWindowLimiter(max_failures=10, window_seconds=60)
    for t in range(10):
        assert lim.retry_after("a", now=t) == 0
        lim.failed("a", now=t)
    assert lim.retry_after("a", now=9) == 51  # until the first failure leaves the window
    assert lim.retry_after("b", now=9) == 0
    assert lim.retry_after("a", now=59.5) == 0.5
    assert lim.retry_after("a", now=60) == 0  # t=0 has left: nine in the window
    lim.failed("a", now=61)
    assert lim.retry_after("a", now=61) == 0  # t=1 has left too: still nine
    assert lim.retry_after("a", now=200) == 0


def test_retry_seconds_rounds_up():
    assert retry_seconds(0.2) == 1 and retry_seconds(50.01) == 51 and retry_seconds(0) == 1


def test_thread_safe_counts():
    lim = SlidingWindowLimiter(max_failures=800, window_seconds=3600)
    threads = [threading.Thread(target=lambda: [lim.failed("x") for _ in range(100)]) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert lim.retry_after("x") > 0
