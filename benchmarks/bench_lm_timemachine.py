"""The README's main job, timed: ``lstmkit train lm`` on the shipped Time Machine.

Runs the command's default configuration (or the backend given) through the CLI entry point,
then records wall time, per-epoch perplexities, tokens/s and a generated sample in
``benchmarks/results/lm_timemachine[_<backend>].json``.

    python benchmarks/bench_lm_timemachine.py
    python benchmarks/bench_lm_timemachine.py --backend reference --epochs 5
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from lstmkit.cli import main as lstmkit_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["native", "reference"], default=None)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cli = ["train", "lm", "--run-dir", str(run_dir), "--no-progress"]
        cli += ["--backend", args.backend] if args.backend else []
        cli += ["--epochs", str(args.epochs)] if args.epochs else []
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            status = lstmkit_main(cli)
        wall = time.perf_counter() - start
        if status != 0:
            print(out.getvalue())
            return status
        history = json.loads((run_dir / "metrics.json").read_text())
        config = json.loads((run_dir / "config.json").read_text())
        sample = io.StringIO()
        with contextlib.redirect_stdout(sample):
            lstmkit_main(["-q", "generate", str(run_dir), "--prefix", "the time", "--length", "200"])
        sampled = io.StringIO()
        with contextlib.redirect_stdout(sampled):
            lstmkit_main(["-q", "generate", str(run_dir), "--prefix", "the time", "--length", "200",
                          "--temperature", "0.7", "--seed", "0"])
    best = min(history, key=lambda m: m["valid_loss"])
    payload = {
        "job": "lstmkit " + " ".join(cli[:2] + cli[4:]),
        "wall_s": wall,
        "under_3_minutes": wall < 180,
        "epochs": len(history),
        "final_train_ppl": history[-1]["train_ppl"],
        "best_valid_ppl": best["valid_ppl"],
        "best_valid_bpc": best["valid_bpt"],
        "best_epoch": best["epoch"],
        "median_tokens_per_s": sorted(m["tokens_per_s"] for m in history)[len(history) // 2],
        "config": config,
        "cli_output": out.getvalue().strip().splitlines(),
        "generated_greedy": sample.getvalue().strip(),
        "generated_temperature_0.7_seed_0": sampled.getvalue().strip(),
        "history": history,
    }
    name = "lm_timemachine" + (f"_{args.backend}" if args.backend else "")
    path = write_result(name, payload)
    print(f"{wall:.0f}s, best valid ppl {best['valid_ppl']:.2f}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
