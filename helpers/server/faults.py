"""Faults a request can ask the practice server for, to practise error handling.

Ask for one with a header, ``X-Practice-Fault: <spec>``, or by appending ``+<spec>`` to the
model name (``model="practice+429"``), for clients that cannot set headers. A spec is::

    kind[=seconds][@after][*times]

kind     401 | 404 | 429 | 500 | 503 | stall | disconnect | error
=seconds how long a stall lasts, or the Retry-After of a 429 (default 1)
@after   for stall, disconnect and error in a stream: after this many content chunks
         (default 0: stall before the first byte, disconnect or error before any text)
*times   only the first `times` attempts fail, counted by the openai client's
         x-stainless-retry-count header, so the client's own retry can succeed

Examples: ``429*1`` (fails once, then the retry succeeds), ``stall=10`` (ten silent seconds
before the first byte), ``stall=3@20``, ``disconnect@20``, ``error@20``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

HEADER = "x-practice-fault"
MODEL_SEPARATOR = "+"

STATUS_KINDS = {"401", "404", "429", "500", "503"}
STREAM_KINDS = {"stall", "disconnect", "error"}

_SPEC = re.compile(r"^(?P<kind>[a-z0-9]+)(?:=(?P<seconds>\d+(?:\.\d+)?))?(?:@(?P<after>\d+))?(?:\*(?P<times>\d+))?$")

HELP = __doc__.split("\n\n", 1)[1]


class FaultSpecError(ValueError):
    """A fault spec the server does not understand."""


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float = 1.0
    after: int = 0
    times: int | None = None

    @property
    def is_status(self) -> bool:
        return self.kind in STATUS_KINDS


def parse(spec: str) -> Fault:
    match = _SPEC.match(spec.strip().lower())
    if not match or match["kind"] not in STATUS_KINDS | STREAM_KINDS:
        raise FaultSpecError(
            f"Unknown practice fault {spec!r}. Use kind[=seconds][@after][*times] with kind one of "
            f"{', '.join(sorted(STATUS_KINDS | STREAM_KINDS))}, for example '429*1' or 'stall=3@20'."
        )
    return Fault(
        kind=match["kind"],
        seconds=float(match["seconds"]) if match["seconds"] else 1.0,
        after=int(match["after"] or 0),
        times=int(match["times"]) if match["times"] else None,
    )


def split_model(model: str) -> tuple[str, str | None]:
    """'practice+429*1' -> ('practice', '429*1')."""
    name, sep, spec = model.partition(MODEL_SEPARATOR)
    return (name, spec) if sep else (model, None)


def requested_fault(headers: Mapping[str, str], model_spec: str | None) -> Fault | None:
    """The fault this request asks for and should get on this attempt, if any."""
    spec = headers.get(HEADER) or model_spec
    if not spec:
        return None
    fault = parse(spec)
    if fault.times is not None:
        try:
            attempt = int(headers.get("x-stainless-retry-count", "0"))
        except ValueError:
            attempt = 0
        if attempt >= fault.times:
            return None
    return fault
