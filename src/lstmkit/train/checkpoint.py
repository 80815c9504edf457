"""Run directories: weights in safetensors, config and vocabulary in JSON. Nothing is pickled,
so loading a run never executes code from it.

A run directory holds ``model.safetensors``, ``config.json`` (``asdict(cfg)`` plus a format
version), ``vocab.json`` where the task has one, ``metrics.json`` and plots.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors.torch import load_model, save_model
from torch import nn

from lstmkit.config import FORMAT_VERSION, RunConfig
from lstmkit.data.vocab import Vocab
from lstmkit.errors import RunDirError

WEIGHTS, CONFIG, VOCAB, METRICS = "model.safetensors", "config.json", "vocab.json", "metrics.json"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_run(run_dir: str | Path, model: nn.Module, cfg: RunConfig, vocab: Vocab | None = None) -> Path:
    """Write weights, config and vocabulary; each file is replaced atomically."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / (WEIGHTS + ".tmp")
    save_model(model, str(tmp))
    os.replace(tmp, run_dir / WEIGHTS)
    _atomic_write_text(run_dir / CONFIG, cfg.to_json())
    if vocab is not None:
        _atomic_write_text(run_dir / VOCAB, vocab.to_json())
    return run_dir


def save_metrics(run_dir: str | Path, history: list[dict[str, float]]) -> None:
    _atomic_write_text(Path(run_dir) / METRICS, json.dumps(history, indent=2))


def read_run_config(run_dir: str | Path) -> RunConfig:
    """Read a run's config, checking that ``run_dir`` is a run directory.

    Raises:
        RunDirError: if the directory or its files are missing or unreadable.
    """
    run_dir = Path(run_dir)
    hint = "pass the run directory that `lstmkit train` printed"
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist; {hint}")
    for name in (CONFIG, WEIGHTS):
        if not (run_dir / name).is_file():
            raise RunDirError(f"{str(run_dir)!r} is not a run directory (no {name}); {hint}")
    try:
        raw = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
    except ValueError as err:
        raise RunDirError(f"{str(run_dir / CONFIG)!r} is not valid JSON: {err}") from None
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        raise RunDirError(f"{str(run_dir)!r} has config format {version!r}; this lstmkit reads {FORMAT_VERSION}")
    return RunConfig.from_dict(raw)


def load_weights(run_dir: str | Path, model: nn.Module) -> nn.Module:
    """Load ``model.safetensors`` into a model built from the run's config."""
    path = Path(run_dir) / WEIGHTS
    try:
        load_model(model, str(path), strict=True)
    except (RuntimeError, OSError) as err:
        raise RunDirError(f"cannot load weights {str(path)!r}: {err}") from None
    return model


def load_vocab(run_dir: str | Path) -> Vocab:
    path = Path(run_dir) / VOCAB
    if not path.is_file():
        raise RunDirError(f"{str(run_dir)!r} has no {VOCAB}; it is not a text model's run directory")
    return Vocab.load(path)
