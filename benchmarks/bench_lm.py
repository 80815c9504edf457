"""Language-model benchmarks: train one configuration on its full corpus, score the best epoch
on the whole validation and test parts, generate samples, and record everything.

    python benchmarks/bench_lm.py --config benchmarks/configs/ptb_zaremba_small.toml --name lm_ptb_zaremba_small
    python benchmarks/bench_lm.py --config benchmarks/configs/tinyshakespeare.toml --name lm_tinyshakespeare \\
        --prefix "ROMEO:"

Writes ``benchmarks/results/<name>.json``: the command, machine, date, commit, config, wall
time, per-epoch history, valid/test perplexity (bits per character for char models) and samples.
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

from lstmkit.config import RunConfig, load_config  # noqa: E402
from lstmkit.tasks.lm import generate  # noqa: E402
from lstmkit.tasks.lm.sampling import Sampling  # noqa: E402
from lstmkit.training.recipe import fit  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a TOML run configuration")
    parser.add_argument("--name", required=True, help="results file name (without .json)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--prefix", default=None, help="generation prefix (default: start of the valid text)")
    parser.add_argument("--gen-length", type=int, default=300)
    parser.add_argument("--run-dir", type=Path, default=None, help="keep the run here (default: a temp dir)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = load_config(args.config, args.overrides, base=RunConfig(task="lm"))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or Path(tmp) / "run"
        start = time.perf_counter()
        result = fit(cfg, run_dir)
        wall = time.perf_counter() - start
    corpus = result.data
    history = result.history
    prefix = args.prefix
    if prefix is None:
        count = 5 if cfg.lm.level == "word" else 20
        prefix = generate.detokenize(corpus.vocab.decode(corpus.valid_ids[:count].tolist()), corpus.tokenizer)
    n, reading = args.gen_length, (corpus.normalize, corpus.tokenizer)
    samples = {
        "greedy": generate.generate(result.model, corpus.vocab, prefix, Sampling(n), *reading),
        "temperature_0.8_seed_0": generate.generate(result.model, corpus.vocab, prefix,
                                                    Sampling(n, temperature=0.8, seed=0), *reading),
        "top_p_0.9_seed_0": generate.generate(result.model, corpus.vocab, prefix, Sampling(n, top_p=0.9, seed=0),
                                              *reading),
    }
    best = min(history, key=lambda m: m.get("valid_loss", m["train_loss"]))
    payload = {
        "corpus": corpus.source,
        "tokens": {"train": corpus.train_ids.numel(), "valid": corpus.valid_ids.numel(),
                   "test": corpus.test_ids.numel(), "vocabulary": len(corpus.vocab), "tokenizer": corpus.tokenizer},
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "wall_s": wall,
        "train_s": history[-1]["elapsed_s"],
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "scores_of_best_model": result.test,
        "median_tokens_per_s": sorted(m["tokens_per_s"] for m in history)[len(history) // 2],
        "prefix": prefix,
        "samples": samples,
        "config": json.loads(cfg.to_json()),
        "history": history,
    }
    path = write_result(args.name, payload)
    print(f"{wall / 60:.1f} min; scores {result.test}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
