"""A real IPython kernel driven through jupyter_client, recording every iopub message of a cell."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from jupyter_client.manager import start_new_kernel

from tests.support import child_env


@dataclass
class CellRun:
    messages: list[dict] = field(default_factory=list)
    reply: dict | None = None
    started: float = 0.0
    ended: float = 0.0

    def of_type(self, *types: str) -> list[dict]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout")

    @property
    def errors(self) -> list[dict]:
        return self.of_type("error")

    def comm_states(self) -> list[dict]:
        return [m["content"]["data"].get("state", {}) for m in self.of_type("comm_msg")]

    def printed(self, label: str) -> str:
        """What the cell printed after `label` on the last line that starts with it: how a cell reports a value
        (``print("RESULT", json.dumps(...))``) among what else it printed."""
        line = next(line for line in reversed(self.stdout.splitlines()) if line.startswith(label + " "))
        return line[len(label) + 1:]


class Kernel:
    """``with Kernel(env) as k: run = k.run("print(1)")``"""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = child_env(**(env or {}))

    def __enter__(self) -> "Kernel":
        self.manager, self.client = start_new_kernel(kernel_name="python3", env=self.env)
        return self

    def __exit__(self, *exc) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, code: str, timeout: float = 60, on_message=None) -> CellRun:
        """Execute a cell and collect its iopub messages until the kernel is idle again."""
        msg_id = self.client.execute(code)
        run = CellRun(started=time.perf_counter())
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"cell did not finish in {timeout} s: {code[:60]!r}") from None
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            message["received"] = time.perf_counter()
            run.messages.append(message)
            if on_message is not None:
                on_message(message)
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        run.ended = time.perf_counter()
        run.reply = self.client.get_shell_msg(timeout=10)
        return run

    def click(self, comm_id: str) -> None:
        """What the browser sends when a Button is clicked."""
        content = {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}
        message = self.client.session.msg("comm_msg", content)
        self.client.shell_channel.send(message)

    def click_later(self, comm_id: str, delay: float) -> threading.Thread:
        thread = threading.Thread(target=lambda: (time.sleep(delay), self.click(comm_id)), daemon=True)
        thread.start()
        return thread

