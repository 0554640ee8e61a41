"""make test-hub: a real JupyterHub with the practice server as its service."""
