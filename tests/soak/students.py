"""The soak test's students (tests/soak/soak.py): client lanes that stream back to back, and misbehave.

Each lane is one student with a client of their own. Each stream, at random (seeded): reads to the end (60%);
aborts after some chunks and reconnects at once (20%); stalls, not reading for 2-15 s, then reads to the end (15%);
or stalls and then aborts (5%). One request in fifty has a wrong key and must get 401.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from dataclasses import dataclass, field

import httpx



@dataclass
class Tally:
    """What the lanes did, and every error, by kind."""

    completed: int = 0
    aborted: int = 0
    stalled: int = 0
    wrong_key_401: int = 0
    keepalive_retries: int = 0
    chunks: int = 0
    rates: list[float] = field(default_factory=list)  # content chunks per second of streams read without a stall
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what[:160]] = self.errors.get(what[:160], 0) + 1


@dataclass
class Stream:
    """One stream as the client saw it."""

    behaviour: str
    headers: bool = False
    content: int = 0
    done: bool = False
    finished: bool = False
    stalled: bool = False
    reused: bool = True  # sent on a kept-alive connection (until a new one is opened for it)
    first: float | None = None
    last: float | None = None

    async def trace(self, event: str, _info: dict) -> None:
        """httpcore's trace hook: notes whether the request needed a new connection."""
        if event == "connection.connect_tcp.started":
            self.reused = False


async def one_stream(client: httpx.AsyncClient, url: str, key: str, rng: random.Random, tally: Tally) -> None:
    """One stream with one behaviour: read it all, abort, stall then read, or stall then abort."""
    behaviour = rng.choices(["complete", "abort", "stall", "stall-abort"], weights=[60, 20, 15, 5])[0]
    body = {"model": "practice", "messages": [{"role": "user", "content": f"count to {rng.randint(30, 300)}"}],
            "stream": True, "stream_options": {"include_usage": True}}
    for attempt in (1, 2):
        stream = Stream(behaviour)
        try:
            aborted = await read_stream(client, url, key, body, stream, rng, tally)
            break
        except httpx.TransportError as error:
            if attempt == 1 and stream.reused and not stream.headers:
                # HTTP/1.1's keep-alive race: the server closed this idle connection (uvicorn does after 5 s, here
                # while a stalled client was still reading the end of its last reply) just as it was reused.
                # Real clients send again on a new connection, as the openai client does on any connection error.
                tally.keepalive_retries += 1
                continue
            where = f"after {stream.content} chunks" if stream.headers else "before the response"
            tally.error(f"{type(error).__name__} {where}: {error}")
            return
    tally.chunks += stream.content
    if aborted:
        tally.aborted += 1
    elif not (stream.done and stream.finished):
        tally.error(f"a stream ended without finish_reason and [DONE] ({stream.content} chunks)")
    else:
        tally.completed += 1
        if stream.first is not None and stream.last is not None and not stream.stalled and stream.content > 20:
            tally.rates.append((stream.content - 1) / (stream.last - stream.first))


async def read_stream(client: httpx.AsyncClient, url: str, key: str, body: dict, stream: Stream,
                      rng: random.Random, tally: Tally) -> bool:
    """Read (and misbehave); True if the client aborted on purpose."""
    stop_after = rng.randint(0, 60)  # content chunks before an abort or a stall
    pending = b""
    async with client.stream("POST", url, json=body, headers={"Authorization": f"Bearer {key}"},
                             extensions={"trace": stream.trace}) as response:
        stream.headers = True
        if response.status_code != 200:
            tally.error(f"HTTP {response.status_code}: {(await response.aread())[:200]!r}")
            return False
        async for data in response.aiter_raw():
            pending += data
            *events, pending = pending.split(b"\n\n")
            for event in events:
                if event == b"data: [DONE]":
                    stream.done = True
                elif b'"error"' in event:
                    tally.error(f"error event: {event[:200]!r}")
                    return False
                elif b'"content":"' in event and b'"content":""' not in event:
                    stream.content += 1
                    stream.last = time.perf_counter()
                    stream.first = stream.first if stream.first is not None else stream.last
                elif b'"finish_reason":"' in event:
                    stream.finished = True
            if stream.behaviour != "complete" and stream.content >= stop_after:
                if stream.behaviour == "abort":
                    return True  # leaving the block closes the connection mid-stream
                tally.stalled += 1
                stream.stalled = True
                await asyncio.sleep(rng.uniform(2, 15))  # stop reading: the server's writes pile up, then resume
                stream.behaviour = "complete" if stream.behaviour == "stall" else "abort"
                stop_after = stream.content + rng.randint(0, 30)
    return False


async def wrong_key(client: httpx.AsyncClient, url: str, key: str, tally: Tally) -> None:
    body = {"model": "practice", "messages": [{"role": "user", "content": "hello"}], "stream": True}
    for attempt in (1, 2):
        probe = Stream("wrong key")
        try:
            response = await client.post(url, json=body, headers={"Authorization": f"Bearer {key}-wrong"},
                                         extensions={"trace": probe.trace})
            break
        except httpx.TransportError:
            if attempt == 1 and probe.reused:  # the keep-alive race, as in one_stream
                tally.keepalive_retries += 1
                continue
            raise
    if response.status_code == 401:
        tally.wrong_key_401 += 1
    else:
        tally.error(f"wrong key answered {response.status_code}, not 401")


async def lane(index: int, url: str, key: str, until: float, seed: int, tally: Tally, tls: ssl.SSLContext) -> None:
    """One student, with a client of their own: streams back to back until the time is up. An abort closes the
    stream's connection, so the next stream reconnects."""
    rng = random.Random(seed * 1000 + index)
    await asyncio.sleep(rng.uniform(0, 5))  # students do not all press Enter at the same instant
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=30.0), verify=tls) as client:
        while time.monotonic() < until:
            try:
                if rng.random() < 0.02:
                    await wrong_key(client, url, key, tally)
                else:
                    await one_stream(client, url, key, rng, tally)
            except Exception as error:  # noqa: BLE001 - every failure is a figure of the run
                tally.error(f"{type(error).__name__}: {error}")
                await asyncio.sleep(1)


async def run_lanes(url: str, key: str, streams: int, seconds: float, seed: int) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    tls = ssl.create_default_context()  # unused on http://, but each client would build one: build it once
    await asyncio.gather(*(lane(i, url, key, until, seed, tally, tls) for i in range(streams)))
    return tally


def run_event_loop(main) -> Tally:
    """uvloop where it is installed (the project installs it off Windows): the clients must not be the bottleneck."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
