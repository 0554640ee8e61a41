"""Run code in a kernel of a remote Jupyter server, as JupyterLab does it.

A session is created over the server's REST API (``POST /api/sessions``), cells go to the kernel over
its websocket (``/api/kernels/<id>/channels``) as execute requests, and outputs come back as iopub
messages. Used to run a notebook in a JupyterHub user's server through the hub's proxy.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect


@dataclass
class CellRun:
    """What one cell produced: nbformat-shaped outputs and every string found in widget state updates."""

    outputs: list[dict] = field(default_factory=list)
    widget_texts: list[str] = field(default_factory=list)
    status: str = ""

    def text(self, name: str = "stdout") -> str:
        return "".join(o["text"] for o in self.outputs if o["output_type"] == "stream" and o["name"] == name)

    @property
    def errors(self) -> list[dict]:
        return [o for o in self.outputs if o["output_type"] == "error"]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class RemoteKernel:
    """``async with RemoteKernel(server_url, token, "04-streaming.ipynb") as kernel: await kernel.run(code)``"""

    def __init__(self, server_url: str, token: str, path: str) -> None:
        self.server_url = server_url.rstrip("/") + "/"
        self.headers = {"Authorization": f"token {token}"}
        self.path = path
        self.session = uuid.uuid4().hex
        self.session_id: str | None = None
        self.kernel_id: str | None = None
        self.socket: WebSocketClientConnection | None = None

    async def __aenter__(self) -> "RemoteKernel":
        async with httpx.AsyncClient(headers=self.headers, timeout=60) as http:
            response = await http.post(self.server_url + "api/sessions", json={
                "path": self.path, "name": self.path, "type": "notebook", "kernel": {"name": "python3"}})
            response.raise_for_status()
            session = response.json()
        self.session_id, self.kernel_id = session["id"], session["kernel"]["id"]
        ws_url = self.server_url.replace("http", "ws", 1) + f"api/kernels/{self.kernel_id}/channels?session_id={self.session}"
        self.socket = await websocket_connect(HTTPRequest(ws_url, headers=self.headers), max_message_size=64 << 20)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.socket is not None:
            self.socket.close()
        async with httpx.AsyncClient(headers=self.headers, timeout=30) as http:
            await http.delete(self.server_url + f"api/sessions/{self.session_id}")

    def _request(self, code: str) -> dict:
        return {
            "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "session": self.session,
                       "username": "test", "version": "5.3", "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }

    async def run(self, code: str, timeout: float = 120) -> CellRun:
        """Execute one cell and collect its outputs until the kernel is idle and has replied."""
        request = self._request(code)
        msg_id = request["header"]["msg_id"]
        await self.socket.write_message(json.dumps(request))
        run = CellRun()
        await asyncio.wait_for(self._collect(msg_id, run, code), timeout)
        return run

    async def _collect(self, msg_id: str, run: CellRun, code: str) -> None:
        idle = replied = False
        while not (idle and replied):
            raw = await self.socket.read_message()
            if raw is None:
                raise ConnectionError(f"the kernel's websocket closed while running {code[:60]!r}")
            if isinstance(raw, bytes):  # a message with binary buffers (none of ours need reading)
                continue
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "execute_reply":
                replied, run.status = True, content.get("status", "")
            elif kind == "status":
                idle = content.get("execution_state") == "idle"
            elif kind == "stream":
                run.outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
            elif kind in ("execute_result", "display_data"):
                run.outputs.append({"output_type": kind, "data": content.get("data", {})})
            elif kind == "error":
                run.outputs.append({"output_type": "error", "ename": content["ename"],
                                    "evalue": content["evalue"], "traceback": content.get("traceback", [])})
            elif kind in ("comm_open", "comm_msg"):
                run.widget_texts += _strings(content.get("data", {}).get("state", {}))
