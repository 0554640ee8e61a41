"""Responses kept for ``previous_response_id``: the most recent ones only, so a long workshop cannot grow memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

LIMIT = 1000  # responses kept; the oldest is forgotten first


@dataclass(frozen=True)
class Stored:
    messages: list[dict]  # the whole conversation, this response's output included (chat-form messages)
    body: dict  # the response object, for GET /v1/responses/{id}


class ResponseStore:
    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._kept: OrderedDict[str, Stored] = OrderedDict()

    def put(self, response_id: str, stored: Stored) -> None:
        self._kept[response_id] = stored
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)

    def get(self, response_id: str) -> Stored | None:
        return self._kept.get(response_id)

    def __len__(self) -> int:
        return len(self._kept)
