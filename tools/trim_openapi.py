"""Trim OpenAI's published OpenAPI description to the operations the practice server implements.

    python tools/trim_openapi.py --repo PATH/TO/openai-openapi [--rev HEAD] [--out tests/fuzz/openai-openapi.json]

The fuzzer (make test-fuzz) runs against OpenAI's own description of the API, so that "what a client may send"
is OpenAI's definition, not ours. The full description is 3 MB and covers hundreds of operations; this keeps
the ones listed in tests/fuzz/operations.txt (one "METHOD /path" a line: adding an operation is one line there
and a re-run of this script) and every component they reference, followed transitively. Everything else
stays as published, except the code samples (x-oaiMeta), which only make the file larger.

--repo is a clone of github.com/openai/openai-openapi (bare or not); the commit it read is written into the
output's info, so the vendored file says where it came from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "https://github.com/openai/openai-openapi"
SOURCE_FILE = "openapi.json"
DEFAULT_OPERATIONS = ROOT / "tests" / "fuzz" / "operations.txt"
DEFAULT_OUT = ROOT / "tests" / "fuzz" / "openai-openapi.json"
COMPONENT_REF = "#/components/"


def read_operations(path: Path) -> list[tuple[str, str]]:
    """ "METHOD /path" lines; blank lines and # comments are skipped."""
    operations = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            method, _, api_path = line.partition(" ")
            operations.append((method.lower(), api_path.strip()))
    return operations


def refs_in(node: Any) -> Iterator[str]:
    """Every component reference under node: "$ref" values, and discriminator mappings (which name schemas too)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str) and value.startswith(COMPONENT_REF):
                yield value
            elif key == "mapping" and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, str) and v.startswith(COMPONENT_REF))
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def component_of(ref: str) -> tuple[str, str]:
    """("schemas", "Name") from "#/components/schemas/Name" (or from a pointer deeper inside it)."""
    section, name = ref[len(COMPONENT_REF):].split("/")[:2]
    return section, name.replace("~1", "/").replace("~0", "~")


def without_code_samples(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_code_samples(v) for k, v in node.items() if k != "x-oaiMeta"}
    if isinstance(node, list):
        return [without_code_samples(item) for item in node]
    return node


def trim(spec: dict, operations: list[tuple[str, str]]) -> dict:
    paths: dict[str, dict] = {}
    for method, api_path in operations:
        path_item = spec["paths"].get(api_path, {})
        if method not in path_item:
            raise SystemExit(f"{method.upper()} {api_path} is not in the description")
        shared = {k: v for k, v in path_item.items() if k in ("parameters", "summary", "description")}
        paths.setdefault(api_path, dict(shared))[method] = path_item[method]
    paths = without_code_samples(paths)

    security_schemes = {name for requirement in spec.get("security", []) for name in requirement}
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict):
                security_schemes.update(name for req in operation.get("security", []) for name in req)

    kept: dict[str, dict[str, Any]] = {}
    pending = list(refs_in(paths))
    while pending:
        section, name = component_of(pending.pop())
        if name in kept.get(section, {}):
            continue
        try:
            component = spec["components"][section][name]
        except KeyError:
            raise SystemExit(f"dangling reference: #/components/{section}/{name}") from None
        kept.setdefault(section, {})[name] = without_code_samples(component)
        pending.extend(refs_in(component))
    if security_schemes:
        kept["securitySchemes"] = {n: spec["components"]["securitySchemes"][n] for n in sorted(security_schemes)}

    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec.get("servers", []),
        "security": spec.get("security", []),
        "paths": paths,
        "components": {section: dict(sorted(items.items())) for section, items in sorted(kept.items())},
    }


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="a clone of " + ORIGIN)
    parser.add_argument("--rev", default="HEAD", help="the commit to read (default HEAD)")
    parser.add_argument("--operations", type=Path, default=DEFAULT_OPERATIONS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    commit = git(args.repo, "rev-parse", f"{args.rev}^{{commit}}").strip()
    committed = git(args.repo, "show", "-s", "--format=%cI", commit).strip()
    spec = json.loads(git(args.repo, "show", f"{commit}:{SOURCE_FILE}"))
    operations = read_operations(args.operations)
    trimmed = trim(spec, operations)
    trimmed["info"] = {
        **trimmed["info"],
        "x-trimmed-from": {
            "repository": ORIGIN,
            "commit": commit,
            "committed": committed,
            "file": SOURCE_FILE,
            "operations": [f"{m.upper()} {p}" for m, p in operations],
            "by": "tools/trim_openapi.py (every component the operations reference is kept; code samples dropped)",
        },
    }
    args.out.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n")
    counts = ", ".join(f"{len(v)} {k}" for k, v in trimmed["components"].items())
    print(f"{args.out}: {len(operations)} operations, {counts}, from {ORIGIN} at {commit[:12]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
