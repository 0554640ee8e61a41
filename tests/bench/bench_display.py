"""Benchmark: the helper's streaming + widget display against a bare loop, in a real kernel.

    python -m tests.bench.bench_display [--rounds 7] [--paced]

Same 2,000-token stream ("count to 2000") from the practice server at full speed. Each round
runs both cells back to back, alternating which goes first; the figure is the median of the
per-round ratios (target: at most 1.15x). With --paced, also streams the same reply at 30 tokens/s
through the widget and reports display messages per second and reply-text bytes carried.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from helpers.server import replies
from helpers.server.testing import running_server
from tests.kernel_harness import Kernel

PROMPT = "count to 2000"
BARE = f"""
t = time.perf_counter()
stream = client.chat.completions.create(model="practice", messages=[{{"role": "user", "content": "{PROMPT}"}}], stream=True)
for chunk in stream:
    pass
print("SECONDS", time.perf_counter() - t)
"""
HELPER = f"""
t = time.perf_counter()
r = helpers.stream_to_output("{PROMPT}", client=client)
print("\\nSECONDS", time.perf_counter() - t)
"""


def seconds(run) -> float:
    assert not run.errors, run.errors
    return float(run.printed("SECONDS"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--paced", action="store_true", help="also measure display traffic at 30 tokens/s (~70 s)")
    args = parser.parse_args()
    reply = replies.reply_text([{"role": "user", "content": PROMPT}])
    with running_server(tokens_per_second=0) as server, Kernel({"OPENAI_BASE_URL": server.base_url}) as kernel:
        kernel.run("import time, helpers\nclient = helpers.client()")
        kernel.run(BARE), kernel.run(HELPER)  # warm up both paths
        bare, helper, ratios = [], [], []
        for round_ in range(args.rounds):
            order = [(BARE, bare), (HELPER, helper)]
            for code, times in order if round_ % 2 == 0 else reversed(order):
                times.append(seconds(kernel.run(code)))
            ratios.append(helper[-1] / bare[-1])
        ratio = statistics.median(ratios)
        print("| 2,000-token stream, full speed | median s | min s |")
        print("|---|---|---|")
        print(f"| bare `for chunk in stream: pass` | {statistics.median(bare):.3f} | {min(bare):.3f} |")
        print(f"| helpers.stream_to_output (widget) | {statistics.median(helper):.3f} | {min(helper):.3f} |")
        print(f"\nratio helper/bare (median of {args.rounds} paired rounds): {ratio:.2f}x "
              f"(target <= 1.15x: {'PASS' if ratio <= 1.15 else 'FAIL'})")
        if args.paced:
            run = kernel.run(
                HELPER.replace("client=client)", "client=client, extra_headers={'X-Practice-Tokens-Per-Second': '30'})"),
                timeout=150,
            )
            duration = seconds(run)
            updates = len(run.of_type("stream", "comm_msg", "display_data", "clear_output"))
            text = sum(len(m["content"]["text"].encode()) for m in run.of_type("stream")) - len(run.stdout.rsplit("\n", 2)[-2]) - 1
            print(f"\npaced at 30 tokens/s: {duration:.1f} s, {updates} display messages = {updates / duration:.1f}/s, "
                  f"reply text carried {text} bytes for a {len(reply.encode())}-byte reply = "
                  f"{text / len(reply.encode()):.2f}x (target < 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
