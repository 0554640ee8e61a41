"""The notebook runner shared by `make notebooks`, the handouts suite and the real-model suite."""

from __future__ import annotations

import time
from pathlib import Path
from queue import Empty

from nbclient import NotebookClient
from nbformat import NotebookNode


class SlicedPollClient(NotebookClient):
    """nbclient, waiting for each execute_reply in short polls instead of one poll for the whole cell timeout.

    nbclient mimics the front end of an Output widget: for every output sent into one it sends the widget's
    state back to the kernel on the shell socket, while another coroutine awaits the execute_reply on that
    same socket with one ``poll(cell timeout)``. ZeroMQ signals a socket's readiness by an edge-triggered fd,
    and a send can use up the edge of a reply that arrives meanwhile: the poll then sleeps until the cell
    timeout and only then finds the reply. Seen here after widget cells (04 cell 25, 06 cell 26): the cell
    itself took 2-4 s, the next one started 120 s after the first had started. Polling again every half
    second finds such a reply at once.
    """

    async def async_start_new_kernel_client(self):
        kernel_client = await super().async_start_new_kernel_client()
        channel = kernel_client.shell_channel
        poll_once = channel.get_msg

        async def get_msg(timeout: float | None = None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
                try:
                    return await poll_once(timeout=step)
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        channel.get_msg = get_msg
        return kernel_client


def notebook_client(notebook: NotebookNode, folder: Path, timeout: float, **options) -> SlicedPollClient:
    """A client that runs `notebook` on a fresh python3 kernel in `folder` (where it reads its files) and stores
    the widget state, so that a saved notebook shows what was streamed into its widgets; `options` are nbclient's."""
    return SlicedPollClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}, store_widget_state=True, **options)
