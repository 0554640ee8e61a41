"""python -m helpers serve | check | demo | lab"""

from __future__ import annotations

import argparse
import sys

from .defaults import PRACTICE_HOST, PRACTICE_PORT, TOKENS_PER_SECOND
from .server import faults


def _serve(args: argparse.Namespace) -> int:
    from .server.serve import serve

    serve(host=args.host, port=args.port, tokens_per_second=args.tokens_per_second, api_key=args.api_key,
          access_log=not args.no_access_log, jupyterhub=args.jupyterhub)
    return 0


def _check(_args: argparse.Namespace) -> int:
    from .check import check

    return 0 if check().ok else 1


def _demo(args: argparse.Namespace) -> int:
    """The seed's test_interference.py, done with the modern client."""
    from . import chat

    try:
        if args.no_stream:
            print(chat.complete(args.prompt).text)
        else:
            for piece in chat.stream(args.prompt):
                print(piece, end="", flush=True)
            print()
    except Exception as error:
        from .errors import explain

        print(f"\n{explain(error)}", file=sys.stderr)
        return 1
    return 0


def _lab(args: argparse.Namespace) -> int:
    from .lab import lab

    return lab(args.jupyter_args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the offline practice server",
        description="Run the practice server: an offline, deterministic, OpenAI-compatible chat server.",
        epilog="Practice faults, per request, with the header 'X-Practice-Fault: SPEC' or the model name "
        "'MODEL+SPEC':\n\n" + faults.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help=f"address to listen on (default {PRACTICE_HOST}; any other address needs "
                       "--api-key)")
    serve.add_argument("--port", type=int, help=f"port (default {PRACTICE_PORT}, as gpt4free's interference API)")
    serve.add_argument("--tokens-per-second", type=float, default=TOKENS_PER_SECOND,
                       help=f"pace of streamed replies (default {TOKENS_PER_SECOND:g}; 0 = as fast as possible)")
    serve.add_argument("--api-key", default=None, help="require this key as 'Authorization: Bearer KEY'")
    serve.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
    serve.add_argument("--jupyterhub", action="store_true",
                       help="run as a JupyterHub service: each request's key must be a hub token (students' servers "
                       "send theirs); listens at JUPYTERHUB_SERVICE_URL unless --host/--port")
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="check the configured server: models, a completion, a stream")
    check.set_defaults(run=_check)

    demo = commands.add_parser("demo", help="stream a reply to the terminal (the seed script, modernised)")
    demo.add_argument("--prompt", default="write a poem about a tree")
    demo.add_argument("--no-stream", action="store_true", help="wait for the whole reply instead")
    demo.set_defaults(run=_demo)

    lab = commands.add_parser(
        "lab",
        help=f"start the practice server (unless one answers on :{PRACTICE_PORT}) and JupyterLab",
        description=f"Start the practice server (unless one answers on :{PRACTICE_PORT}) and JupyterLab on notebooks/. "
        "Other options go to jupyter lab, e.g. python -m helpers lab --no-browser --ServerApp.port=8889",
    )
    lab.set_defaults(run=_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "lab":  # only lab passes options on (to jupyter lab)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.jupyter_args = unknown
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
