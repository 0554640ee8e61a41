"""Responses kept for ``previous_response_id``: the most recent ones only, so a long workshop cannot grow memory.

Two bounds, the oldest forgotten first: a number of responses, and their size (each counted as the JSON of its
whole conversation, so a conversation continued over many turns counts its history each time: more than it
holds, never less). Without the second, 1,000 requests of the 1 MiB the server accepts would keep 1 GB.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field

LIMIT = 1000  # responses kept
MAX_BYTES = 64 * 1024 * 1024  # their conversations' size, counted as JSON


@dataclass(frozen=True)
class Stored:
    messages: list[dict]  # the whole conversation, this response's output included (chat-form messages)
    body: dict  # the response object, for GET /v1/responses/{id}
    size: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", len(json.dumps(self.messages)) + len(json.dumps(self.body)))


class ResponseStore:
    def __init__(self, limit: int = LIMIT, max_bytes: int = MAX_BYTES) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._kept: OrderedDict[str, Stored] = OrderedDict()

    def put(self, response_id: str, stored: Stored) -> None:
        self._kept[response_id] = stored
        self.bytes += stored.size
        while len(self._kept) > self.limit or (self.bytes > self.max_bytes and len(self._kept) > 1):
            _, forgotten = self._kept.popitem(last=False)
            self.bytes -= forgotten.size

    def get(self, response_id: str) -> Stored | None:
        return self._kept.get(response_id)

    def __len__(self) -> int:
        return len(self._kept)
