"""IMDB sentiment on the official 25k/25k split: accuracy and wall time on this machine.

Trains through the library (the one recipe, ``lstmkit.training.recipe.fit``) with lstmkit's set-up or the tutorial's, and
writes ``benchmarks/results/classify_imdb_<setup>.json``.

    python benchmarks/bench_classify.py --setup lstmkit
    python benchmarks/bench_classify.py --setup tutorial
    python benchmarks/bench_classify.py --setup lstmkit --set train.epochs=2   # any override
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from lstmkit.config import RunConfig, apply_overrides  # noqa: E402
from lstmkit.training.recipe import fit  # noqa: E402

GLOVE = "../shared/data/glove/glove.6B.50d.top100k.txt.gz"

SETUPS = {
    # lstmkit: 1-layer BiLSTM over fine-tuned GloVe 50d, max pooling over the real steps,
    # length-bucketed batches on the padded-plus-lengths fast path.
    "lstmkit": ["model.embedding_dim=50", "model.hidden_size=256", "model.num_layers=1",
                "model.bidirectional=true", "classify.pooling=max", "model.dropout=0.5",
                f"vectors.path={GLOVE}", "classify.max_len=800", "data.min_freq=2",
                "train.epochs=10", "train.lr=0.001", "train.batch_size=64", "train.patience=2",
                "train.max_minutes=27"],
    # The tutorial's set-up: 2-layer BiLSTM, 100-d vectors (here GloVe 50d), dropout 0.5,
    # final hidden states of both directions.
    "tutorial": ["model.embedding_dim=50", "model.hidden_size=256", "model.num_layers=2",
                 "model.bidirectional=true", "classify.pooling=last", "model.dropout=0.5",
                 f"vectors.path={GLOVE}", "data.min_freq=2", "train.epochs=5", "train.lr=0.001",
                 "train.batch_size=64", "train.max_minutes=27"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=sorted(SETUPS), default="lstmkit")
    parser.add_argument("--data", default="imdb")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--name", default=None, help="result file name (default classify_imdb_<setup>)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = [f"data.path={args.data}", *SETUPS[args.setup], *args.overrides]
    cfg = apply_overrides(RunConfig(task="classify"), overrides)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(cfg, Path(tmp) / "run")
    wall = time.perf_counter() - start
    test = result.test
    payload = {
        "setup": args.setup,
        "overrides": overrides,
        "test_accuracy": test["accuracy"],
        "test_per_class": test["per_class"],
        "test_confusion": test["confusion"],
        "train_seconds": result.train_seconds,
        "wall_seconds": wall,
        "prepare_seconds": result.data.seconds,
        "epochs_run": len(result.history),
        "best_epoch": result.best["epoch"],
        "vocab_size": len(result.data.vocab),
        "history": result.history,
        "config": cfg.to_dict(),
    }
    path = write_result(args.name or f"classify_imdb_{args.setup}", payload)
    print(f"{args.setup}: test accuracy {100 * test['accuracy']:.2f}% in {result.train_seconds / 60:.1f} min "
          f"of training ({wall / 60:.1f} min wall); wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
