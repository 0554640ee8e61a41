"""make test-install: the built sdist and wheel, installed into clean venvs."""
