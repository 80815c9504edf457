"""Run directories: weights in safetensors, config and vocabulary in JSON. Nothing is pickled,
so loading a run never executes code from it.

A run directory holds ``model.safetensors``, ``config.json`` (``asdict(cfg)`` plus a format
version), ``vocab.json`` where the task has one, ``metrics.json`` and plots.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from safetensors.torch import load_model, save_model
import torch
from torch import nn

from lstmkit.config import FORMAT_VERSION, RunConfig, migrate
from lstmkit.data.vocab import Vocab
from lstmkit.errors import ConfigError, RunDirError

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


def _finite(value):
    return value if not isinstance(value, float) or math.isfinite(value) else None


def save_metrics(run_dir: str | Path, history: list[dict[str, float]]) -> None:
    """``metrics.json``, strict JSON: a non-finite value is written as null."""
    clean = [{k: _finite(v) for k, v in m.items()} for m in history]
    _atomic_write_text(Path(run_dir) / METRICS, json.dumps(clean, indent=2, allow_nan=False))


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
    if version == 1:
        raw = migrate(raw)
        raw.get("train", {}).pop("stop_mid_epoch", None)     # format 2: the time budget is always a hard cap
    elif version != FORMAT_VERSION:
        raise RunDirError(f"{str(run_dir)!r} has config format {version!r}; this lstmkit reads 1 and {FORMAT_VERSION}")
    try:
        cfg = RunConfig.from_dict(raw)
    except ConfigError as err:
        raise RunDirError(f"{str(run_dir / CONFIG)!r} is damaged: {err}") from None
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

LAST_WEIGHTS, TRAIN_TENSORS = "last.safetensors", "train_state.safetensors"


def rng_state(generator: torch.Generator | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """The random states of torch (CPU and CUDA), numpy, Python and ``generator``, as JSON
    values and tensors, so that a resumed run draws the same dropout masks and batches."""
    import random

    import numpy as np

    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, internal, gauss = random.getstate()
    tensors["rng.python"] = torch.tensor(internal, dtype=torch.int64)
    if generator is not None:
        tensors["rng.generator"] = generator.get_state()
    values = {"numpy": [kind, int(pos), int(has_gauss), float(cached)], "python": [version, gauss]}
    return values, tensors


def set_rng_state(values: dict, tensors: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> None:
    """Restore what :func:`rng_state` captured."""
    import random

    import numpy as np

    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    kind, pos, has_gauss, cached = values["numpy"]
    np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, gauss = values["python"]
    random.setstate((version, tuple(int(v) for v in tensors["rng.python"].tolist()), gauss))
    if generator is not None and "rng.generator" in tensors:
        generator.set_state(tensors["rng.generator"])


def save_training_state(run_dir: str | Path, model: nn.Module, optimizer, epoch: int,
                        history: list[dict[str, float]], generator=None,
                        extra: dict[str, tuple[dict, dict]] | None = None) -> None:
    """Everything ``--resume`` needs in ONE safetensors file (tensors, and the rest as JSON in
    its metadata), replaced atomically: a run killed at any point keeps a whole state, the
    last finished epoch's. ``last.safetensors`` (the weights alone) is a convenience copy.

    ``extra`` maps a name (a hook's) to (JSON values, tensors) it wants back on resume.
    """
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    state = optimizer.state_dict()
    tensors = {f"model.{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    plain_state: dict[str, dict] = {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            if hasattr(value, "shape"):
                tensors[f"state.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain_state.setdefault(str(index), {})[name] = value
    rng_values, rng_tensors = rng_state(generator)
    tensors.update(rng_tensors)
    extra_values = {}
    for name, (values, extra_tensors) in (extra or {}).items():
        extra_values[name] = values
        tensors.update({f"extra.{name}.{k}": v.detach().cpu().contiguous() for k, v in extra_tensors.items()})
    meta = json.dumps({"epoch": epoch, "history": [{k: _finite(v) for k, v in m.items()} for m in history],
                       "param_groups": state["param_groups"], "plain_state": plain_state, "rng": rng_values,
                       "extra": extra_values}, allow_nan=False)
    tmp = run_dir / (TRAIN_TENSORS + ".tmp")
    save_file(tensors, str(tmp), metadata={"lstmkit_train_state": meta})
    os.replace(tmp, run_dir / TRAIN_TENSORS)
    tmp = run_dir / (LAST_WEIGHTS + ".tmp")
    save_model(model, str(tmp))
    os.replace(tmp, run_dir / LAST_WEIGHTS)


def load_training_state(run_dir: str | Path, model: nn.Module, optimizer, generator=None
                        ) -> tuple[int, list, dict[str, tuple[dict, dict]]]:
    """Restore what :func:`save_training_state` wrote; returns (last epoch, history, extra).

    Raises:
        RunDirError: if the run has no saved training state, or it is damaged.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    path = run_dir / TRAIN_TENSORS
    if not path.is_file():
        raise RunDirError(f"{str(run_dir)!r} has no {TRAIN_TENSORS}: it never finished an epoch, or was "
                          "trained by an lstmkit without exact resume; train it again with --overwrite")
    try:
        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {})["lstmkit_train_state"])
        tensors = load_file(str(path))
        weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        model.load_state_dict(weights, strict=True)
    except Exception as err:  # noqa: BLE001 - safetensors and load_state_dict raise their own types
        raise RunDirError(f"cannot resume from {str(path)!r} ({type(err).__name__}: {err}); it was written by "
                          "another lstmkit or is damaged: train again with --overwrite") from None
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, slots in meta["plain_state"].items():
        state.setdefault(int(index), {}).update(slots)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    set_rng_state(meta["rng"], tensors, generator)
    extra = {}
    for name, values in meta.get("extra", {}).items():
        prefix = f"extra.{name}."
        extra[name] = (values, {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    return int(meta["epoch"]), list(meta["history"]), extra
