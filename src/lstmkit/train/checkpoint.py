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


_MODEL_NAMES = {"classify": "a classifier", "forecast": "a forecaster", "image": "an image classifier",
                "lm": "a language model", "tag": "a tagger"}


def read_run_config(run_dir: str | Path, task: str | None = None) -> RunConfig:
    """Read a run's config, checking that ``run_dir`` is a run directory (of ``task``, if given).

    Raises:
        RunDirError: if the directory or its files are missing or unreadable, or the run is of
            another task.
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
    cfg = RunConfig.from_dict(raw)
    if task is not None and cfg.task != task:
        raise RunDirError(f"{str(run_dir)!r} holds {_MODEL_NAMES[cfg.task]}, not {_MODEL_NAMES[task]}")
    return cfg


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


# --- resumable training state: the last epoch's weights, optimizer, history, RNG ------------

LAST_WEIGHTS, TRAIN_STATE, TRAIN_TENSORS = "last.safetensors", "train_state.json", "train_state.safetensors"


def save_training_state(run_dir: str | Path, model: nn.Module, optimizer, epoch: int,
                        history: list[dict[str, float]], generator=None) -> None:
    """Everything ``--resume`` needs, without pickle: tensors in safetensors, the rest in JSON."""
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    state = optimizer.state_dict()
    tensors = {}
    plain_state: dict[str, dict] = {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            if hasattr(value, "shape"):
                tensors[f"state.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain_state.setdefault(str(index), {})[name] = value
    if generator is not None:
        tensors["generator"] = generator.get_state()
    tmp = run_dir / (TRAIN_TENSORS + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, run_dir / TRAIN_TENSORS)
    tmp = run_dir / (LAST_WEIGHTS + ".tmp")
    save_model(model, str(tmp))
    os.replace(tmp, run_dir / LAST_WEIGHTS)
    _atomic_write_text(run_dir / TRAIN_STATE, json.dumps({
        "epoch": epoch, "history": history, "param_groups": state["param_groups"],
        "plain_state": plain_state}, indent=1))


def load_training_state(run_dir: str | Path, model: nn.Module, optimizer, generator=None) -> tuple[int, list]:
    """Restore what :func:`save_training_state` wrote; returns (last epoch, history).

    Raises:
        RunDirError: if the run has no saved training state.
    """
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    if not (run_dir / TRAIN_STATE).is_file():
        raise RunDirError(f"{str(run_dir)!r} has no {TRAIN_STATE}; only runs trained by this version can resume")
    meta = json.loads((run_dir / TRAIN_STATE).read_text(encoding="utf-8"))
    tensors = load_file(str(run_dir / TRAIN_TENSORS))
    load_model(model, str(run_dir / LAST_WEIGHTS), strict=True)
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, slots in meta["plain_state"].items():
        state.setdefault(int(index), {}).update(slots)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    if generator is not None and "generator" in tensors:
        generator.set_state(tensors["generator"])
    return int(meta["epoch"]), list(meta["history"])
