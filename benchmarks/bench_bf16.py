"""bf16 training on the CPU: fp32 against native bf16 and against lstmkit's fallback, interleaved.

Three ways to take one training step (forward, backward, SGD update) of the same two models:

* ``fp32``: no autocast;
* ``bf16_native``: bf16 autocast with the fused recurrent kernel in bf16 (only where the CPU
  has bf16 kernels, i.e. AVX-512 BF16 or AMX: probed, not assumed);
* ``bf16_fallback``: bf16 autocast with the recurrent layers in fp32 and the layers around them
  (embeddings, output projection) in bf16, what lstmkit does on an AVX2-only CPU
  (``LSTMKIT_CPU_BF16=0`` takes that path on any CPU).

Models: a word LM (embedding 256, 2 x 256 LSTM, 10,000-word softmax; batch 32 x 64 steps) and a
BiLSTM classifier (embedding 128, 1 x 256 per direction, 2 classes; batch 32 x 256 steps). Each
mode starts from the same weights; steps are timed round-robin so drift hits all modes alike.
Writes ``benchmarks/results/bf16_cpu.json``.

    python benchmarks/bench_bf16.py --repeats 10
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, median, write_result  # noqa: E402

from lstmkit.nn import LSTM  # noqa: E402
from lstmkit.nn import precision  # noqa: E402


class WordLM(nn.Module):
    def __init__(self, vocab: int = 10_000, dim: int = 256) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = LSTM(dim, dim, num_layers=2, batch_first=True)
        self.out = nn.Linear(dim, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (B, T) -> (B, T, V)
        return self.out(self.rnn(self.embed(x))[0])


class BiClassifier(nn.Module):
    def __init__(self, vocab: int = 20_000, dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (B, T) -> (B, 1, 2)
        _, (h, _) = self.rnn(self.embed(x), need_cell_state=False)
        return self.out(torch.cat([h[-2], h[-1]], dim=-1)).unsqueeze(1)


def set_native(native: bool) -> None:
    """Point lstmkit's bf16 detection at native kernels or at the fallback."""
    os.environ["LSTMKIT_CPU_BF16"] = "1" if native else "0"
    precision.cpu_bf16_rnn_supported.cache_clear()


def step_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str) -> Callable[[], float]:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step() -> float:
        if mode != "fp32":
            set_native(mode == "bf16_native")
        region = torch.autocast("cpu", dtype=torch.bfloat16) if mode != "fp32" else nullcontext()
        with region:
            logits = model(x)
        loss = nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def native_bf16_available() -> bool:
    os.environ.pop("LSTMKIT_CPU_BF16", None)
    precision.cpu_bf16_rnn_supported.cache_clear()
    return precision.cpu_bf16_rnn_supported()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    native = native_bf16_available()
    cpu_flags = set()
    try:
        cpu_flags = {f for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
                     for f in line.split(":", 1)[1].split()}
    except OSError:
        pass
    modes = ["fp32", "bf16_fallback"] + (["bf16_native"] if native else [])
    cases = {
        "word_lm": (WordLM(), torch.randint(0, 10_000, (32, 64)), torch.randint(0, 10_000, (32, 64))),
        "bilstm_classifier": (BiClassifier(), torch.randint(0, 20_000, (32, 256)), torch.randint(0, 2, (32, 1))),
    }
    results = {}
    for name, (model, x, y) in cases.items():
        fns = {mode: step_fn(copy.deepcopy(model), x, y, mode) for mode in modes}
        first_loss = {mode: fn() for mode, fn in fns.items()}           # also the warm-up
        times = interleaved(fns, args.repeats, warmup=1)
        med = {mode: median(ts) for mode, ts in times.items()}
        results[name] = {
            "median_step_s": med,
            "all_step_s": times,
            "first_step_loss": first_loss,
            "speed_vs_fp32": {mode: med["fp32"] / med[mode] for mode in modes},
        }
        print(name, {m: f"{med[m] * 1000:.1f} ms ({med['fp32'] / med[m]:.2f}x fp32)" for m in modes})
    path = write_result("bf16_cpu", {
        "what": "one training step (forward, backward, SGD) per mode, interleaved; speed_vs_fp32 > 1 is faster",
        "native_bf16_recurrent_kernels": native,
        "cpu_flags": sorted(cpu_flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}),
        "repeats": args.repeats,
        "results": results,
    })
    print(f"written {path}")


if __name__ == "__main__":
    main()
