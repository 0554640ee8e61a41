"""How often a view refreshes: a steady rate whatever the token rate, like ``rich.live.Live``.

The rates are chosen against the browser suite's targets at 30 tokens/s (token to screen p50 <= 50 ms,
p95 <= 120 ms, at most 25 kernel messages a second): the text at most 18 times a second and the status
line at most 4 times a second, so a stream costs at most 22 messages a second whatever the server's rate.
At 30 tokens/s some tokens must wait for the next one (18 < 30); the throttle below keeps that to about
two in five, so most go to the page at once. A view always renders its final state.
"""

from __future__ import annotations

import time

TEXT_PER_SECOND = 18
STATUS_PER_SECOND = 4


class Throttle:
    """True at most `per_second` times a second.

    Each slot is counted from the last slot, not from the moment it was used: a refresh that had to wait for
    the next token does not push the following ones back (after a longer pause it counts from now again). With tokens every 33 ms and a 55 ms interval, a
    throttle counting from "now" lets every other token wait (half of them 33 ms late); this one lets the
    rate's worth through as they come, and only the rest wait.
    """

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self.next = 0.0

    def due(self, now: float | None = None) -> bool:
        now = time.perf_counter() if now is None else now
        if now < self.next:
            return False
        late = now - self.next
        self.next = (self.next if late < self.interval else now) + self.interval
        return True
