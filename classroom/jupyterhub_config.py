# A classroom on one machine: JupyterHub, and the practice server as a hub-managed service.
#
#   pip install jupyterhub "openai-jupyter-tutorial @ git+https://github.com/OWNER/REPO"
#   npm install -g configurable-http-proxy
#   jupyterhub -f classroom/jupyterhub_config.py
#
# Students log in, open the notebooks and run them: `helpers` finds the service through the hub and
# sends each student's own hub token as the key (there is no shared key to hand out). `make test-hub`
# starts a hub from this file (with test ports, logins and spawner on top) and runs notebook 04 in
# five students' servers against the service.
import sys

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

# The practice server, started and stopped by the hub. It listens at `url` and accepts a request only
# with a token the hub vouches for (`--jupyterhub`).
c.JupyterHub.services = [
    {
        "name": "practice",
        "url": "http://127.0.0.1:10101",
        "command": [sys.executable, "-m", "helpers", "serve", "--jupyterhub"],
    }
]

# Each user's server may read where that service is, and nothing more than before: by default its token
# may only post activity and reach its own server. A token gets only scopes its user has, so the
# user role is given the same scope.
PRACTICE = "read:services!service=practice"
c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", PRACTICE]}]
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", PRACTICE]

# Logins, spawner and resources are the site's choice (JupyterHub's default: system users with PAM, one
# local process per user).
