"""Dynamic int8 quantisation of the IMDB classifier: accuracy change and CPU speed-up.

Trains the README's IMDB classifier (``bench_classify.py``'s lstmkit set-up; ``--set`` to
change it, e.g. fewer epochs), then scores the fp32 model and its int8 copy
(``lstmkit.nn.quantize.quantize_dynamic``: BiLSTM and linear layers) on the whole 25,000-review
test split, and times inference of the same batches round-robin. Writes
``benchmarks/results/quantize_imdb.json``.

    python benchmarks/bench_quantize.py --set train.epochs=1
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import SETUPS  # noqa: E402
from common import interleaved, median, write_result  # noqa: E402

from lstmkit.config import RunConfig, apply_overrides  # noqa: E402
from lstmkit.data.batching import pad_batch  # noqa: E402
from lstmkit.data.vocab import PAD  # noqa: E402
from lstmkit.nn.quantize import quantize_dynamic  # noqa: E402
from lstmkit.tasks.classify.model import predict_split  # noqa: E402
from lstmkit.training.recipe import fit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--batches", type=int, default=20, help="timed batches of 64 test reviews")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = ["data.path=imdb", *SETUPS["lstmkit"], *args.overrides]
    cfg = apply_overrides(RunConfig(task="classify"), overrides)
    with tempfile.TemporaryDirectory() as tmp:
        fitted = fit(cfg, Path(tmp) / "run")
    model, data = fitted.model.cpu().eval(), fitted.data
    pad = data.vocab.stoi[PAD]
    small = quantize_dynamic(model)
    cpu = torch.device("cpu")
    scores = {}
    for name, m in (("fp32", model), ("int8", small)):
        start = time.perf_counter()
        with torch.no_grad():
            probs, labels = predict_split(m, data.test, 64, pad, cpu)
        scores[name] = {"accuracy": float((probs.argmax(-1) == labels).float().mean()),
                        "seconds_whole_test": time.perf_counter() - start}
        print(name, scores[name])
    g = torch.Generator().manual_seed(0)
    rows = torch.randperm(len(data.test), generator=g)[: 64 * args.batches].view(args.batches, 64).tolist()
    batches = [pad_batch([data.test.ids[i] for i in r], pad) for r in rows]

    def run(m):
        def go():
            with torch.no_grad():
                for ids, lengths in batches:
                    m(ids, lengths)
        return go

    times = interleaved({"fp32": run(model), "int8": run(small)}, repeats=5, warmup=1)
    med = {k: median(v) for k, v in times.items()}
    params = sum(p.numel() for p in model.parameters())
    payload = {
        "overrides": overrides,
        "epochs_run": len(fitted.history),
        "test_reviews": len(data.test),
        "scores": scores,
        "accuracy_change_points": 100 * (scores["int8"]["accuracy"] - scores["fp32"]["accuracy"]),
        "timed": f"{args.batches} batches of 64 random test reviews, 5 interleaved repeats, medians",
        "median_seconds": med,
        "all_seconds": times,
        "speedup_int8": med["fp32"] / med["int8"],
        "parameters": params,
        "threads": torch.get_num_threads(),
    }
    path = write_result("quantize_imdb", payload)
    print(f"fp32 {100 * scores['fp32']['accuracy']:.2f}% -> int8 {100 * scores['int8']['accuracy']:.2f}%; "
          f"int8 inference {payload['speedup_int8']:.2f}x fp32; wrote {path}")


if __name__ == "__main__":
    main()
