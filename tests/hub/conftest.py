"""A real JupyterHub for `make test-hub`: the README's classroom config, plus test ports and logins.

JupyterHub, jupyterhub-singleuser and the students' kernels run from their own venv (HUB_PYTHON, made
by the Makefile under ~/.cache/openai-jupyter-tutorial), with this checkout's `helpers` on their path;
the proxy is npm's configurable-http-proxy (HUB_PROXY). Logins are JupyterHub's DummyAuthenticator and
servers SimpleLocalProcessSpawner (one local process per student, each with a home of its own, all as
the current user: no system accounts needed, root included). A "test-driver" service token drives the
hub's REST API as an instructor's script would.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from helpers.server.testing import free_port
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
CLASSROOM_CONFIG = ROOT / "classroom" / "jupyterhub_config.py"
HUB_PYTHON = os.environ.get("HUB_PYTHON", "")
HUB_PROXY = os.environ.get("HUB_PROXY", "")
DRIVER_SCOPES = ["admin:users", "admin:servers", "access:servers", "tokens", "read:services", "read:users"]

TEST_CONFIG = '''
# make test-hub: the classroom config, then what a test run needs on top.
import sys
load_subconfig({classroom!r})

c.JupyterHub.bind_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{folder}/home/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--allow-root", "--ServerApp.terminals_enabled=False"]
c.Spawner.environment = {{"PYTHONPATH": {pythonpath!r}}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

practice = c.JupyterHub.services[0]
practice["url"] = "http://127.0.0.1:{service_port}"
practice["command"] = [sys.executable, "-m", "helpers", "serve", "--jupyterhub", "--tokens-per-second", "0",
                       "--no-access-log"]
practice["environment"] = {{"PYTHONPATH": {pythonpath!r}}}
c.JupyterHub.services.append({{"name": "test-driver", "api_token": {driver_token!r}}})
c.JupyterHub.load_roles.append({{"name": "test-driver", "scopes": {driver_scopes!r}, "services": ["test-driver"]}})
'''


@dataclass
class Hub:
    url: str  # the proxy: what a browser opens
    api: str  # the hub's REST API
    service_url: str  # the practice service, as the hub has it
    driver: httpx.Client  # the REST API with the test-driver service's token
    folder: Path

    def user_server_url(self, name: str) -> str:
        return f"{self.url}/user/{name}/"

    def spawn(self, name: str, timeout: float = 120) -> None:
        """Create the user if needed and start their server; return once it is ready."""
        if self.driver.get(f"/users/{name}").status_code == 404:
            self.driver.post(f"/users/{name}").raise_for_status()
        response = self.driver.post(f"/users/{name}/server")
        assert response.status_code in (201, 202, 400), response.text  # 400: already running
        def ready() -> bool:
            model = self.driver.get(f"/users/{name}").json()
            server = model.get("servers", {}).get("", {})
            if not model.get("pending") and not server:
                raise RuntimeError(f"{name}'s server failed to start: see the hub's log in {self.folder}")
            return bool(server.get("ready"))

        wait_until(ready, timeout, f"{name}'s server was not ready after {timeout} s", interval=0.25)


def _wait_for_hub(api: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            return httpx.get(api + "/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout, lambda: f"JupyterHub did not answer at {api} in {timeout} s:\n{log.read_text()[-4000:]}",
               interval=0.25)


@pytest.fixture(scope="session")
def hub(tmp_path_factory) -> Hub:
    if not (HUB_PYTHON and Path(HUB_PYTHON).is_file() and HUB_PROXY and Path(HUB_PROXY).is_file()):
        pytest.fail("run this suite with `make test-hub` (it makes JupyterHub's venv and proxy: HUB_PYTHON, HUB_PROXY)")
    folder = tmp_path_factory.mktemp("hub")
    # The students' servers and the service import this checkout's helpers, and nothing else from it.
    pythonpath = folder / "pythonpath"
    pythonpath.mkdir()
    (pythonpath / "helpers").symlink_to(ROOT / "helpers")
    ports = {name: free_port() for name in ("proxy_port", "hub_port", "proxy_api_port", "service_port")}
    driver_token = secrets.token_hex(16)
    singleuser = str(Path(HUB_PYTHON).with_name("jupyterhub-singleuser"))
    config = folder / "jupyterhub_config.py"
    config.write_text(TEST_CONFIG.format(
        classroom=str(CLASSROOM_CONFIG), proxy=HUB_PROXY, folder=folder, singleuser=singleuser,
        pythonpath=str(pythonpath), driver_token=driver_token, driver_scopes=DRIVER_SCOPES, **ports))
    log = folder / "jupyterhub.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "JUPYTERHUB_"))}
    env["PATH"] = f"{Path(HUB_PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(pythonpath)
    with log.open("w") as log_file:
        process = subprocess.Popen([HUB_PYTHON, "-m", "jupyterhub", "-f", str(config)], cwd=folder, env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{ports['hub_port']}/hub/api"
    driver = httpx.Client(base_url=api, headers={"Authorization": f"token {driver_token}"}, timeout=60)
    try:
        _wait_for_hub(api, process, log)
        yield Hub(url=f"http://127.0.0.1:{ports['proxy_port']}", api=api,
                  service_url=f"http://127.0.0.1:{ports['service_port']}", driver=driver, folder=folder)
    finally:
        driver.close()
        process.terminate()  # the hub stops the students' servers, the service and the proxy it started
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)
        if os.environ.get("HUB_KEEP_LOGS"):
            shutil.copy(log, Path(os.environ["HUB_KEEP_LOGS"]))
        sys.stdout.write(f"\nJupyterHub's log: {log}\n")
