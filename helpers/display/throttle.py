"""How often a view refreshes: a steady rate whatever the token rate, like ``rich.live.Live``.

The rates are chosen against the browser suite's targets at 30 tokens/s (token to screen p50 <= 50 ms,
p95 <= 120 ms, at most 25 kernel messages a second): the text at most 20 times a second (a token waits
at most one 50 ms interval, usually less) and the status line at most 4 times a second, so a stream
costs at most 24 messages a second whatever the server's rate. A view always renders its final state.
"""

from __future__ import annotations

import time

TEXT_PER_SECOND = 20
STATUS_PER_SECOND = 4


class Throttle:
    """True at most `per_second` times a second: the first call, then once `1 / per_second` has passed."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self.next = 0.0

    def due(self, now: float | None = None) -> bool:
        now = time.perf_counter() if now is None else now
        if now < self.next:
            return False
        self.next = now + self.interval
        return True
