"""IMDB training throughput: lstmkit's batches against the tutorial's, interleaved in one run.

* lstmkit: length-bucketed batches, padded batch plus lengths on the fused kernel;
* tutorial: random batches padded to their longest review, ``pack_padded_sequence`` into
  ``torch.nn.LSTM`` (what the torchtext-era tutorials do).

Both train the same model (weights copied) on the same reviews, one batch of each in turn;
tokens/s counts real tokens. Writes ``benchmarks/results/classify_throughput.json``.

    python benchmarks/bench_classify_throughput.py --batches 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from lstmkit.config import DataConfig, ModelConfig  # noqa: E402
from lstmkit.tasks.classify.options import ClassifyOptions
from lstmkit.data.batching import BucketBatchSampler, pad_batch  # noqa: E402
from lstmkit.tasks.classify.model import TextClassifier  # noqa: E402
from lstmkit.tasks.classify.data import prepare  # noqa: E402


class PackedTutorialModel(nn.Module):
    """The tutorial's classifier: nn.LSTM on a PackedSequence, final hidden states of both directions."""

    def __init__(self, source: TextClassifier) -> None:
        super().__init__()
        self.embed = source.embed
        rnn = source.rnn
        self.rnn = nn.LSTM(rnn.input_size, rnn.hidden_size, rnn.num_layers, batch_first=True,
                           bidirectional=rnn.bidirectional)
        self.rnn.load_state_dict(rnn.state_dict())
        self.head, self.drop = source.head, source.drop

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embed(ids))                                            # (B, T, E)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, padding_value=float("-inf"))  # (B, T, D*H)
        return self.head(self.drop(out.amax(1)))                                   # max pooling, as ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="imdb")
    parser.add_argument("--batches", type=int, default=10, help="timed batches per method")
    parser.add_argument("--max-minutes", type=float, default=15.0, help="stop timing after this long")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=800)
    args = parser.parse_args(argv)
    data = prepare(DataConfig(path=args.data, min_freq=2), ClassifyOptions(max_len=args.max_len), seed=0)
    cfg = ModelConfig(embedding_dim=50, hidden_size=256, bidirectional=True, dropout=0.5)
    torch.manual_seed(0)
    ours = TextClassifier(len(data.vocab), len(data.labels), cfg, pooling="max")
    tutorial = PackedTutorialModel(TextClassifier(len(data.vocab), len(data.labels), cfg, pooling="max"))
    tutorial.load_state_dict(ours.state_dict(), strict=False)
    opts = {name: torch.optim.Adam(m.parameters(), lr=1e-3) for name, m in (("lstmkit", ours), ("tutorial", tutorial))}
    g = torch.Generator().manual_seed(0)
    lengths = [len(s) for s in data.train.ids]
    bucketed = iter(BucketBatchSampler(lengths, args.batch_size, generator=g))
    shuffled = iter(BucketBatchSampler(lengths, args.batch_size, bucket_factor=1, generator=g))  # random rows

    def train_batch(name: str, model: nn.Module, rows: list[int]) -> tuple[float, int, int]:
        ids, lens = pad_batch([data.train.ids[i] for i in rows])
        start = time.perf_counter()
        loss = F.cross_entropy(model(ids, lens), data.train.labels[rows])
        opts[name].zero_grad()
        loss.backward()
        opts[name].step()
        return time.perf_counter() - start, int(lens.sum()), ids.numel()

    stats: dict[str, list[tuple[float, int, int]]] = {"lstmkit": [], "tutorial": []}
    train_batch("lstmkit", ours, next(bucketed))                                 # warm-up
    train_batch("tutorial", tutorial, next(shuffled))
    started = time.perf_counter()
    for number in range(1, args.batches + 1):
        stats["lstmkit"].append(train_batch("lstmkit", ours, next(bucketed)))
        stats["tutorial"].append(train_batch("tutorial", tutorial, next(shuffled)))
        print(f"batch pair {number}: lstmkit {stats['lstmkit'][-1][0]:.2f}s, tutorial {stats['tutorial'][-1][0]:.2f}s",
              file=sys.stderr, flush=True)
        if time.perf_counter() - started > 60 * args.max_minutes:
            break
    result = {}
    for name, rows in stats.items():
        seconds, tokens, padded = (sum(r[i] for r in rows) for i in range(3))
        result[name] = {"tokens_per_s": tokens / seconds, "seconds": seconds, "real_tokens": tokens,
                        "padded_tokens": padded, "padding_fraction": 1 - tokens / padded,
                        "median_batch_s": statistics.median(r[0] for r in rows)}
    ratio = result["lstmkit"]["tokens_per_s"] / result["tutorial"]["tokens_per_s"]
    path = write_result("classify_throughput", {
        "model": "BiLSTM 1x256 over 50-d embeddings, max pooling, batch 64, max_len 800, Adam",
        "batches_per_method": len(stats["lstmkit"]), "max_len": args.max_len, "methods": result, "speedup_tokens_per_s": ratio,
        "target_speedup": 3.0, "meets_target": ratio >= 3.0})
    print(f"lstmkit {result['lstmkit']['tokens_per_s']:,.0f} tokens/s vs tutorial "
          f"{result['tutorial']['tokens_per_s']:,.0f} tokens/s: {ratio:.2f}x; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
