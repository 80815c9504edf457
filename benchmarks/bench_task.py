"""Train one configuration of any task (through the same recipe as the CLI) on its full data and record it.

    python benchmarks/bench_task.py --task tag --config benchmarks/configs/tag_ud_en_ewt.toml --name tag_ud_en_ewt
    python benchmarks/bench_task.py --task forecast --config benchmarks/configs/forecast_etth1.toml \\
        --set forecast.horizon=48 --name forecast_etth1_48
    python benchmarks/bench_task.py --task image --config benchmarks/configs/image_mnist_rows.toml --name image_mnist_rows

Writes ``benchmarks/results/<name>.json``: command, machine, date, commit, config, wall and
training time, per-epoch history and the test scores the task saved (its eval.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from lstmkit.config import load_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=["lm", "classify", "tag", "forecast", "image"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from lstmkit.tasks import get_task
    from lstmkit.training.recipe import fit

    cfg = load_config(args.config, args.overrides, base=get_task(args.task).defaults)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        start = time.perf_counter()
        result = fit(cfg, run_dir)
        wall = time.perf_counter() - start
    scores = dict(result.test or {})
    extra = {"end_to_end_jieba": scores.pop("end_to_end_jieba")} if "end_to_end_jieba" in scores else {}
    payload = {"task": args.task, "wall_s": wall, "train_s": result.train_seconds, "epochs_run": len(result.history),
               "best_epoch": result.best.get("epoch"), "test": scores, **extra, "config": json.loads(cfg.to_json()),
               "history": result.history}
    path = write_result(args.name, payload)
    print(f"{wall / 60:.1f} min; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
