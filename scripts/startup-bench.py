#!/usr/bin/env python3
"""Size and start-up time of ssm-keeper binaries, offline (no emulator, no AWS call).

    scripts/startup-bench.py target/release/ssm-keeper [OTHER_BINARY ...] [--runs 200]

Each command runs a few times per binary to warm the page cache, then --runs times, the
binaries taking turns run by run so that they share the machine's load alike; the median and
the fastest run are reported (hyperfine's way, without hyperfine). The commands read the
repository's stacks/prod.yaml: `--version` (argument parsing only), `validate` (the stack file
parsed and checked) and `iam-policy --account-id` (a policy built and printed as JSON).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "--version": ["--version"],
    "validate --stack prod": ["validate", "--stack", "prod"],
    "iam-policy --stack prod --role restore --account-id 111122223333": [
        "iam-policy", "--stack", "prod", "--role", "restore", "--account-id", "111122223333",
    ],
}


def once(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    binaries = [str(Path(b).resolve()) for b in args.binaries]
    for shown, binary in zip(args.binaries, binaries):
        size = os.path.getsize(binary)
        print(f"{shown}: {size / 1024 / 1024:.1f} MiB ({size} bytes)")
    print()
    print("| command | " + " | ".join(args.binaries) + " |")
    print("|---|" + "---|" * len(binaries))
    for name, tail in COMMANDS.items():
        times = {b: [] for b in binaries}
        for binary in binaries:
            for _ in range(args.warmup):
                once([binary, *tail], root)
        for _ in range(args.runs):
            for binary in binaries:
                times[binary].append(once([binary, *tail], root))
        cells = [
            f"{statistics.median(t) * 1000:.2f} ms (fastest {min(t) * 1000:.2f})"
            for t in times.values()
        ]
        print(f"| `ssm-keeper {name}` | " + " | ".join(cells) + " |")
    print(f"\nmedian of {args.runs} runs each (fastest in parentheses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
