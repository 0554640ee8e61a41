"""Faults a request can ask the practice server for, to practise error handling.

Ask for one with a header, ``X-Practice-Fault: <spec>``, or by appending ``+<spec>`` to the
model name (``model="practice+429"``), for clients that cannot set headers. The kinds are the
table ``KINDS`` below; the command line's help is made from it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from . import errors
from .errors import APIError

HEADER = "x-practice-fault"


class Action(enum.Enum):
    """What a fault does to a reply, at its place in the text (or, not streamed, to the whole reply)."""

    PAUSE = "pause"  # streamed: a silent pause; not streamed: the reply comes late
    DROP = "drop"  # streamed: the connection closes; not streamed: half a body, then the connection closes
    ERROR = "error"  # streamed: an error event instead of more text; not streamed: a 500


@dataclass(frozen=True)
class Kind:
    """One kind of fault: an HTTP error answered before any reply, or an action inside the reply."""

    summary: str
    status: Callable[[Fault, str], APIError] | None = None  # (fault, model) -> the error to answer
    action: Action | None = None


# The one table of faults: the list of kinds, the help text and each fault's behaviour come from here.
KINDS: dict[str, Kind] = {
    "401": Kind("the key is refused", status=lambda fault, model: errors.wrong_key()),
    "404": Kind("the model does not exist", status=lambda fault, model: errors.unknown_model(model)),
    "429": Kind("rate limited, with Retry-After", status=lambda fault, model: errors.rate_limited(fault.seconds)),
    "quota": Kind("out of credit (429 insufficient_quota)", status=lambda fault, model: errors.insufficient_quota()),
    "500": Kind("the server failed", status=lambda fault, model: errors.server_error()),
    "503": Kind("the server is overloaded", status=lambda fault, model: errors.overloaded()),
    "stall": Kind("a silent pause", action=Action.PAUSE),
    "disconnect": Kind("the connection drops", action=Action.DROP),
    "error": Kind("an error event inside the stream", action=Action.ERROR),
}

_SPEC = re.compile(r"^(?P<kind>[a-z0-9]+)(?:=(?P<seconds>\d{1,6}(?:\.\d{1,6})?))?(?:@(?P<after>\d{1,9}))?(?:\*(?P<times>\d{1,9}))?$")

SPEC_HELP = """\
A spec is kind[=seconds][@after][*times]:
  =seconds  how long a stall lasts, or the Retry-After of a 429 (default 1)
  @after    for stall, disconnect and error in a stream: after this many pieces of text
            (default 0: stall before the first byte, disconnect or error before any text)
  *times    only the first `times` attempts fail, counted by the openai client's
            x-stainless-retry-count header, so the client's own retry can succeed
Examples: 429*1 (fails once, then the retry succeeds), stall=10 (ten silent seconds before
the first byte), stall=3@20, disconnect@20, error@20."""
HELP = "Kinds:\n" + "\n".join(f"  {name:<11}{kind.summary}" for name, kind in KINDS.items()) + "\n" + SPEC_HELP


class FaultSpecError(ValueError):
    """A fault spec the server does not understand."""


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float = 1.0
    after: int = 0
    times: int | None = None

    def status_error(self, model: str) -> APIError | None:
        """The HTTP error this fault answers with instead of a reply, if it is that kind of fault."""
        status = KINDS[self.kind].status
        return status(self, model) if status else None

    @property
    def action(self) -> Action | None:
        return KINDS[self.kind].action

    def pause_before_reply(self, streamed: bool) -> float:
        """Seconds of silence before the first byte: a stall at the start, or any stall of a reply not streamed."""
        if self.action is Action.PAUSE and (self.after == 0 or not streamed):
            return self.seconds
        return 0.0

    def action_at(self, index: int, last: int) -> Action | None:
        """The action to take before piece ``index`` of a streamed reply with ``last`` pieces (at the end when
        ``after`` is past it). A stall at 0 happened before the reply began."""
        if self.action is None or index != min(self.after, last):
            return None
        if self.action is Action.PAUSE and index == 0:
            return None
        return self.action


def parse(spec: str) -> Fault:
    match = _SPEC.match(spec.strip().lower())
    if not match or match["kind"] not in KINDS:
        raise FaultSpecError(
            f"Unknown practice fault {spec!r}. Use kind[=seconds][@after][*times] with kind one of "
            f"{', '.join(KINDS)}, for example '429*1' or 'stall=3@20'."
        )
    return Fault(
        kind=match["kind"],
        seconds=float(match["seconds"]) if match["seconds"] else 1.0,
        after=int(match["after"] or 0),
        times=int(match["times"]) if match["times"] else None,
    )


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
