"""Tagger training speed in sentences/s with the CRF on and off, interleaved batch by batch on
the same batches of UD English-EWT (or another treebank), plus Viterbi vs argmax decoding.

    python benchmarks/bench_tag_speed.py --data ud-en-ewt --batches 60

Writes ``benchmarks/results/tag_speed.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, write_result  # noqa: E402

from lstmkit.config import ModelConfig  # noqa: E402
from lstmkit.tasks.tag.options import TagOptions  # noqa: E402

from lstmkit.data.datasets.treebank import locate_treebank, read_conllu  # noqa: E402
from lstmkit.tasks.tag.model import Tagger  # noqa: E402
from lstmkit.tasks.tag.data import TagVocabs, batches  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ud-en-ewt")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    train = read_conllu(locate_treebank(args.data)["train"])
    vocabs = TagVocabs.build(train, 2)
    cfg = ModelConfig(embedding_dim=100, hidden_size=200, num_layers=2, bidirectional=True, dropout=0.33)
    models = {}
    for crf in (False, True):
        torch.manual_seed(0)
        model = Tagger(vocabs, cfg, TagOptions(crf=crf))
        models["crf" if crf else "softmax"] = (model, torch.optim.Adam(model.parameters(), 2e-3))
    data = list(batches(train, vocabs, args.batch_size, True, torch.Generator().manual_seed(0)))[: args.batches]
    train_times: dict[str, list[float]] = {k: [] for k in models}
    decode_times: dict[str, list[float]] = {k: [] for k in models}
    sentences = [len(b.lengths) for b in data]
    for batch in data:                                     # interleaved: each batch through both models
        for name, (model, opt) in models.items():
            model.train()
            start = time.perf_counter()
            loss, _ = model.loss(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            train_times[name].append(time.perf_counter() - start)
            model.eval()
            start = time.perf_counter()
            model.predict(batch)
            decode_times[name].append(time.perf_counter() - start)
    per_batch = args.batch_size
    results = {
        name: {"train_sentences_per_s": sum(sentences) / sum(train_times[name]),
               "decode_sentences_per_s": sum(sentences) / sum(decode_times[name]),
               "median_train_batch_ms": 1000 * median(train_times[name]),
               "median_decode_batch_ms": 1000 * median(decode_times[name])}
        for name in models
    }
    results["crf_over_softmax_train_time"] = sum(train_times["crf"]) / sum(train_times["softmax"])
    results["crf_over_softmax_decode_time"] = sum(decode_times["crf"]) / sum(decode_times["softmax"])
    path = write_result("tag_speed", {"data": args.data, "batches": len(data), "batch_size": per_batch,
                                      "model": cfg.__dict__, "results": results})
    print(results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
