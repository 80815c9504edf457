"""Recurrent layer speed: lstmkit native/reference against torch.nn.LSTM and the tutorial loop.

Every method runs on the same batch, interleaved round-robin; medians and ratios to
``torch.nn.LSTM`` go to ``benchmarks/results/rnn_<device>.json``.

    python benchmarks/bench_rnn.py                 # all configs on CPU
    python benchmarks/bench_rnn.py --configs b,c --repeats 5
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import TutorialLSTM  # noqa: E402
from common import interleaved, median, write_result  # noqa: E402

from lstmkit.nn import LSTM  # noqa: E402


@dataclass(frozen=True)
class Config:
    name: str
    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    batch: int
    steps: int
    repeats: int
    train: bool = True
    note: str = ""


CONFIGS = {
    "a": Config("a", 100, 256, 2, True, 64, 256, 5, note="IMDB BiLSTM"),
    "b": Config("b", 64, 256, 1, False, 32, 35, 15, note="char LM (d2l)"),
    "c": Config("c", 200, 200, 2, False, 20, 20, 15, note="PTB Zaremba small"),
    "d": Config("d", 28, 128, 2, False, 128, 28, 10, note="MNIST rows"),
    "e": Config("e", 100, 256, 1, False, 1, 50, 30, train=False, note="inference latency"),
}

# Ratio to torch.nn.LSTM (training time on a-d) that each method must stay under.
TARGETS = {"native": 1.05, "reference": 4.0}
LENGTHS_TARGET = 1.1  # padded-plus-lengths (unequal) over the equal-length time, config a


def unequal_lengths(batch: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    """Lengths spread over [T/2, T], one row at T so the padded batch is T long."""
    lengths = torch.randint(steps // 2, steps + 1, (batch,), generator=generator)
    lengths[0] = steps
    return lengths


def build(cfg: Config, device: torch.device) -> dict[str, nn.Module]:
    kw = dict(num_layers=cfg.num_layers, bidirectional=cfg.bidirectional, batch_first=True)
    torch.manual_seed(0)
    base = nn.LSTM(cfg.input_size, cfg.hidden_size, **kw)
    models: dict[str, nn.Module] = {"torch": base}
    for backend in ("native", "reference"):
        model = LSTM(cfg.input_size, cfg.hidden_size, backend=backend, **kw)
        model.load_state_dict(base.state_dict())
        models[backend] = model
    models["tutorial"] = TutorialLSTM(cfg.input_size, cfg.hidden_size, cfg.num_layers,
                                      cfg.bidirectional)
    return {name: m.to(device) for name, m in models.items()}


def make_calls(cfg: Config, models: dict[str, nn.Module], x: torch.Tensor, lengths: torch.Tensor,
               train: bool) -> dict:
    """One closure per method; each runs forward (+ backward when training)."""

    def run(fn):
        def call():
            if train:
                out = fn()
                out.float().sum().backward()
            else:
                with torch.no_grad():
                    fn()
        return call

    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    calls = {
        "torch": run(lambda: models["torch"](x)[0]),
        "native": run(lambda: models["native"](x)[0]),
        "reference": run(lambda: models["reference"](x)[0]),
        "tutorial": run(lambda: models["tutorial"](x)),
        "torch_packed_unequal": run(lambda: models["torch"](packed)[0].data),
        "native_lengths_unequal": run(
            lambda: models["native"](x, lengths=lengths, need_cell_state=False)[0]),
    }
    return calls


def bench_config(cfg: Config, device: torch.device, repeats: int | None) -> dict:
    g = torch.Generator().manual_seed(0)
    models = build(cfg, device)
    x = torch.randn(cfg.batch, cfg.steps, cfg.input_size, generator=g).to(device)
    lengths = unequal_lengths(cfg.batch, cfg.steps, g)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    result: dict = {"config": asdict(cfg), "lengths_mean": float(lengths.float().mean())}
    modes = ["train", "infer"] if cfg.train else ["infer"]
    for mode in modes:
        for m in models.values():
            m.train(mode == "train")
        calls = make_calls(cfg, models, x, lengths, train=mode == "train")
        times = interleaved(calls, repeats or cfg.repeats, warmup=1, sync=sync)
        med = {name: median(t) for name, t in times.items()}
        result[mode] = {
            "median_s": med,
            "ratio_to_torch": {name: med[name] / med["torch"] for name in med},
            "lengths_unequal_over_equal": med["native_lengths_unequal"] / med["native"],
            "packed_unequal_over_equal": med["torch_packed_unequal"] / med["torch"],
            "repeats": len(times["torch"]),
        }
        print(f"[{cfg.name}/{mode}] " + "  ".join(
            f"{n}={v * 1e3:.1f}ms({v / med['torch']:.2f}x)" for n, v in med.items()), flush=True)
    return result


def check_targets(results: dict) -> dict:
    checks = {}
    for name, res in results.items():
        if "train" not in res:
            continue
        ratios = res["train"]["ratio_to_torch"]
        for method, limit in TARGETS.items():
            checks[f"{name}/{method}<= {limit}x"] = ratios[method] <= limit
    if "a" in results:
        value = results["a"]["train"]["lengths_unequal_over_equal"]
        checks[f"a/lengths_unequal_over_equal<= {LENGTHS_TARGET}"] = value <= LENGTHS_TARGET
    if "e" in results:
        checks["e/native<= 1.05x (inference)"] = results["e"]["infer"]["ratio_to_torch"]["native"] <= 1.05
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="a,b,c,d,e", help="comma-separated keys of CONFIGS")
    parser.add_argument("--repeats", type=int, default=None, help="override repeats per config")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None, help="result name (default rnn_<device>)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    keys = [k.strip() for k in args.configs.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {sorted(CONFIGS)}")
    results = {k: bench_config(CONFIGS[k], device, args.repeats) for k in keys}
    checks = check_targets(results)
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    path = write_result(args.out or f"rnn_{device.type}", {"results": results, "targets": checks})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
