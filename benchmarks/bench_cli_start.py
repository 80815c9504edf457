"""How long the command line takes to start (issue 19, item 6): `lstmkit --help`,
`lstmkit train --help`, `lstmkit train lm --help` and `lstmkit config classify`, each run as a
fresh process, the median of ``--repeats`` wall times, interleaved; with whether torch was
imported (``python -X importtime``) and its share of the import time.

    python benchmarks/bench_cli_start.py --repeats 10 --label before

Writes ``benchmarks/results/cli_start.json``, keeping the other labels' runs already there
(so a "before" and an "after" sit side by side).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, median, write_result  # noqa: E402

COMMANDS = {
    "lstmkit --help": ["--help"],
    "lstmkit train --help": ["train", "--help"],
    "lstmkit train lm --help": ["train", "lm", "--help"],
    "lstmkit config classify": ["config", "classify"],
}
ENTRY = "import sys; from lstmkit.cli import main; sys.exit(main(sys.argv[1:]))"


def _run(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def _imports(args: list[str]) -> dict:
    """Whether torch is imported, and its cumulative import time (s), from ``-X importtime``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", ENTRY, *args], capture_output=True, text=True)
    torch = 0.0
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == "torch" and parts[1].isdigit():
            torch = int(parts[1]) / 1e6
    return {"imports_torch": torch > 0, "torch_import_s": round(torch, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--label", default="now", help="the name of this measurement (before, after, ...)")
    args = parser.parse_args()
    for argv in COMMANDS.values():
        _run(argv)                                              # warm the file cache
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):                               # interleaved: a slow moment hits every command
        for name, argv in COMMANDS.items():
            times[name].append(_run(argv))
    measured = {name: {"median_s": round(median(ts), 3), "min_s": round(min(ts), 3), "runs": len(ts),
                       **_imports(COMMANDS[name])} for name, ts in times.items()}
    for name, m in measured.items():
        print(f"{name:28s} median {m['median_s']:.3f} s  torch imported: {m['imports_torch']}")
    old_path = RESULTS / "cli_start.json"
    runs = {}
    if old_path.is_file():
        runs = json.loads(old_path.read_text()).get("runs", {})
    runs[args.label] = {"goal_help_s": 0.3, "commands": measured}
    write_result("cli_start", {"runs": runs})


if __name__ == "__main__":
    main()
