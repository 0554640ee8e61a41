"""What the benchmark scripts share: percentiles, and stopping a server subprocess as Ctrl-C would."""

from __future__ import annotations

import signal
import subprocess


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, interpolated linearly between neighbours; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stop_server(server: subprocess.Popen) -> None:
    """SIGINT (a clean uvicorn shutdown), then kill if it has not exited within 5 s."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
