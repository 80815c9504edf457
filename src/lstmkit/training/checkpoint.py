"""Run directories: weights in safetensors, config and vocabulary in JSON. Nothing is pickled,
so loading a run never executes code from it.

A run directory holds ``model.safetensors``, ``config.json`` (``cfg.to_dict()`` plus a format
version), ``vocab.json`` where the task has one, ``metrics.json`` and plots.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

from safetensors.torch import load_model, save_model
import torch
from torch import nn

from lstmkit.boundary import parse_json
from lstmkit.config import FORMAT_VERSION, RunConfig, migrate
from lstmkit.data.vocab import Vocab
from lstmkit.errors import ConfigError, RunDirError
from lstmkit.files import write_file, writing
from lstmkit.training import manifest

WEIGHTS, CONFIG, VOCAB, METRICS, SCORES = "model.safetensors", "config.json", "vocab.json", "metrics.json", "eval.json"


def _write_text(path: Path, text: str) -> None:
    write_file(path, text)


CHECKSUM_KEY, RUN_ID_KEY = "lstmkit_sha256", "lstmkit_run_id"
# Files a run needs to be loaded or resumed; the manifest lists the ones a run has.
NEEDED = (WEIGHTS, CONFIG, VOCAB, "labels.json", "chars.json", "tags.json", "scaler.json")


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{state[name].dtype}|{tuple(state[name].shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def _weights_writer(model: nn.Module, run_id: str | None):
    metadata = {CHECKSUM_KEY: weights_digest(model.state_dict())}
    if run_id is not None:
        metadata[RUN_ID_KEY] = run_id
    return lambda path: save_model(model, str(path), metadata=metadata)


def save_weights(model: nn.Module, path: Path) -> None:
    """``model``'s weights to ``path`` (atomically), with their checksum in the metadata."""
    with writing(path) as tmp:
        _weights_writer(model, None)(tmp)


def save_files(run_dir: str | Path, contents: dict) -> str:
    """Save files a run needs (name -> bytes, text or a writer of a path) through the manifest;
    returns the run's identity."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return manifest.commit(run_dir, contents, adopt=NEEDED + (TRAIN_TENSORS, LAST_WEIGHTS))


def save_run(run_dir: str | Path, model: nn.Module, cfg: RunConfig, vocab: Vocab | None = None) -> Path:
    """Write weights, config and vocabulary, each atomically, and the manifest last."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = manifest.run_id_of(run_dir) or manifest.new_run_id()
    contents: dict = {WEIGHTS: _weights_writer(model, run_id), CONFIG: cfg.to_json()}
    if vocab is not None:
        contents[VOCAB] = vocab.to_json()
    manifest.commit(run_dir, contents, adopt=NEEDED + (TRAIN_TENSORS, LAST_WEIGHTS), run_id=run_id)
    return run_dir


def run_file(run_dir: str | Path, name: str) -> Path:
    """The path of a file the run needs, after checking it against the run's manifest.

    Raises:
        RunDirError: if the file is missing, or does not belong to this run.
    """
    run_dir = Path(run_dir)
    manifest.verify(run_dir, required=(name,))
    path = run_dir / name
    if not path.is_file():
        raise RunDirError(f"{str(run_dir)!r} has no {name}; it is damaged or not this kind of run: train again")
    return path


def _finite(value):
    return value if not isinstance(value, float) or math.isfinite(value) else None


def finite_json(value):
    """``value`` with every non-finite float, however deep, made None (strict JSON)."""
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return _finite(value)


def _strict_json(value) -> str:
    return json.dumps(finite_json(value), indent=2, ensure_ascii=False, allow_nan=False)


def save_metrics(run_dir: str | Path, history: list[dict[str, float]]) -> None:
    """``metrics.json``, strict JSON: a non-finite value is written as null."""
    _write_text(Path(run_dir) / METRICS, _strict_json(history))


def save_scores(run_dir: str | Path, scores: dict) -> None:
    """``eval.json`` (test or evaluation scores), strict JSON: a non-finite value is written as null."""
    _write_text(Path(run_dir) / SCORES, _strict_json(scores))


def unfinished_run(run_dir: Path) -> str | None:
    """Why a folder that lstmkit trains into holds no run yet, when it says so: a live training
    (its lock) or one stopped before it saved its first epoch (a stale lock, its temporaries or
    in-memory data). None for any other folder."""
    from lstmkit.files import TMP_MARK
    from lstmkit.training.manifest import LOCK

    lock = run_dir / LOCK
    try:
        pid = int(lock.read_text() or "0") if lock.is_file() else 0
    except (OSError, ValueError):
        pid = 0
    if pid:
        try:
            os.kill(pid, 0)
            return (f"{str(run_dir)!r} is being trained (pid {pid}) and has not saved its first epoch yet; wait for it "
                    "to save one")
        except ProcessLookupError:
            pass
        except PermissionError:
            return f"{str(run_dir)!r} is being trained by another user's process (pid {pid}); wait for it"
    try:
        names = [p.name for p in run_dir.iterdir()]
    except OSError:
        return None
    if pid or any(TMP_MARK in n for n in names) or "data" in names:
        return (f"{str(run_dir)!r} holds no run: a training into it was stopped before it saved its first epoch "
                "(a run replaced with --overwrite is gone once the new one starts); train again into it")
    return None


def read_run_config(run_dir: str | Path, task: str | None = None) -> RunConfig:
    """Read a run's config, checking that ``run_dir`` is a run directory (of ``task``, if given).

    Raises:
        RunDirError: if the directory or its files are missing or unreadable, or the run is of
            another task.
    """
    run_dir = Path(run_dir)
    hint = "pass the run directory that `lstmkit train` printed"
    if run_dir.is_file():
        raise RunDirError(f"{str(run_dir)!r} is a file, not a run directory; pass the folder that holds the run's "
                          "files (model.safetensors, config.json, ...)")
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist; {hint}")
    for name in (CONFIG, WEIGHTS):
        problem = manifest.file_problem(run_dir / name)
        if problem == "missing":
            raise RunDirError(unfinished_run(run_dir) or f"{str(run_dir)!r} is not a run directory (no {name}); {hint}")
        if problem is not None:
            raise RunDirError(f"{str(run_dir / name)!r} is {problem}, not the run's {name}; restore the run from a "
                              "copy or train again")
    manifest.verify(run_dir, required=(CONFIG, WEIGHTS))
    key = (str((run_dir / CONFIG).resolve()), _file_signature(run_dir / CONFIG), _file_signature(run_dir / "manifest.json"))
    cfg = _configs.get(key)
    if cfg is None:
        cfg = _parse_run_config(run_dir)
        if len(_configs) >= 64:
            _configs.pop(next(iter(_configs)))
        _configs[key] = cfg                       # frozen: one load reads config.json once, however often asked
    _check_installed(run_dir, cfg.task)           # a task unregistered since
    if task is not None and cfg.task != task:
        raise RunDirError(f"{str(run_dir)!r} holds a run of task {cfg.task!r}, not of task {task!r}; lstmkit.load "
                          "(or any lstmkit command) reads the task from the run itself")
    return cfg


def _check_installed(run_dir: Path, task: str) -> None:
    from lstmkit import registry

    if task not in registry.names():
        raise RunDirError(f"{str(run_dir)!r} is a run of task {task!r}, which is not installed here (tasks: "
                          f"{', '.join(registry.names())}); install the package that provides it (its "
                          f"'{registry.ENTRY_POINT_GROUP}' entry point) or call lstmkit.tasks.register({task!r}, ...) "
                          "before loading")


_configs: dict[tuple, RunConfig] = {}        # (path, stat of config.json and of the manifest) -> the config


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _parse_run_config(run_dir: Path) -> RunConfig:
    """``config.json`` read and migrated from older formats (its files already checked)."""
    try:
        raw = parse_json((run_dir / CONFIG).read_text(encoding="utf-8"))
    except ValueError as err:
        raise RunDirError(f"{str(run_dir / CONFIG)!r} is not valid JSON: {err}") from None
    if not isinstance(raw, dict):
        raise RunDirError(f"{str(run_dir / CONFIG)!r} is damaged: it holds a JSON {type(raw).__name__}, not the "
                          "config object; train again")
    version = raw.get("format_version")
    if version == 1:
        raw = migrate(raw)
        raw.get("train", {}).pop("stop_mid_epoch", None)     # format 2: the time budget is always a hard cap
    elif version not in range(2, FORMAT_VERSION + 1) or isinstance(version, bool):
        raise RunDirError(f"{str(run_dir)!r} has config format {version!r}; this lstmkit reads 1 to {FORMAT_VERSION}")
    if version >= 3 and manifest.read_manifest(run_dir) is None:
        raise RunDirError(f"{str(run_dir)!r} has no {manifest.MANIFEST}, which every run of config format "
                          f"{version} has: it was removed or the run was copied without it; restore it "
                          "from a copy or train again")
    task = raw.get("task")
    if isinstance(task, str):
        _check_installed(run_dir, task)
    try:
        return RunConfig.from_dict(raw)
    except ConfigError as err:
        raise RunDirError(f"{str(run_dir / CONFIG)!r} is damaged, or was written for another version of task "
                          f"{task!r}: {err}") from None


_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
                "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_TORCH_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
                 torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
                 torch.bool: "BOOL"}
MAX_HEADER_BYTES = 100 * 2**20       # safetensors' own limit


def read_weights_header(path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Each tensor's dtype and shape from a safetensors file, checked against the file's size
    before anything is allocated.

    Raises:
        RunDirError: naming the file and what is wrong with it (truncated, not safetensors,
            a header or tensor that does not fit the file).
    """
    return _read_header(path)[0]


def _read_header(path: str | Path) -> tuple[dict[str, tuple[str, tuple[int, ...]]], str | None]:
    """:func:`read_weights_header` and the checksum stored in the metadata (None for runs
    saved before checksums), from one read of the header."""
    path = Path(path)
    fix = "the run directory is damaged; train again or restore it from a copy"
    what = f"{str(path)!r}" + (f" (a link to {os.path.realpath(path)!r})" if path.is_symlink() else "")
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if len(head) < 8:
                raise RunDirError(f"weights {what} are truncated ({size} bytes); {fix}")
            length = int.from_bytes(head, "little")
            if length > min(size - 8, MAX_HEADER_BYTES):
                raise RunDirError(f"weights {what} are not a safetensors file or are truncated: the header claims "
                                  f"{length:,} bytes in a {size:,}-byte file; {fix}")
            raw = f.read(length)
    except OSError as err:
        raise RunDirError(f"cannot read weights {what}: {err.strerror}") from None
    try:
        header = parse_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RunDirError(f"weights {what} are not a safetensors file (the header is not JSON); {fix}") from None
    if not isinstance(header, dict):
        raise RunDirError(f"weights {what} are not a safetensors file (the header is not a JSON object); {fix}")
    data_size = size - 8 - length
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ok = (dtype in _DTYPE_BYTES and isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
                  and type(begin) is int and type(end) is int and 0 <= begin <= end <= data_size)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise RunDirError(f"weights {what}: the entry of tensor {name!r} is malformed or points past the end "
                              f"of the file; {fix}")
        if math.prod(shape) * _DTYPE_BYTES[dtype] != end - begin:
            raise RunDirError(f"weights {what}: tensor {name!r} claims shape {shape} ({dtype}) but holds "
                              f"{end - begin:,} bytes; {fix}")
        tensors[name] = (dtype, tuple(shape))
    metadata = header.get("__metadata__")
    checksum = metadata.get(CHECKSUM_KEY) if isinstance(metadata, dict) else None
    return tensors, checksum if isinstance(checksum, str) else None


def build_and_load(run_dir: str | Path, build: Callable[[], nn.Module], device: str | torch.device = "cpu",
                   sizes: object | None = None) -> nn.Module:
    """Build the run's model with ``build`` and load ``model.safetensors`` into it, checking
    first, without allocating, that every tensor's name, shape and dtype match what the config
    builds, and after loading that every weight is finite.

    Raises:
        RunDirError: the weights file is damaged, does not match ``config.json``, or holds
            non-finite values.
    """
    run_dir = Path(run_dir)
    path = run_dir / WEIGHTS
    stored, checksum = _read_header(path)
    _check_run_id(run_dir, path)
    fix = "the run directory is damaged or its files come from different runs; train again"
    try:
        with torch.device("meta"):                           # shapes only: nothing is allocated
            probe = build()
            expected, aliases = _signature(probe), _alias_groups(probe)
    except (RuntimeError, ValueError, OverflowError) as err:
        raise RunDirError(f"{str(run_dir / CONFIG)!r} describes a model that cannot be built "
                          f"({str(err).splitlines()[0][:100]}); {fix}") from None
    try:
        _check_tensors(path, stored, expected, aliases)
    except RunDirError as err:
        if sizes is None:
            raise
        m = sizes                                           # the model section of the run's config
        raise RunDirError(f"{err} ({CONFIG} asks for model.hidden_size={m.hidden_size}, "
                          f"model.embedding_dim={m.embedding_dim}, model.num_layers={m.num_layers})") from None
    model = build()
    _load_checked(path, model, checksum)
    return model.to(device)


def _check_run_id(run_dir: Path, path: Path) -> None:
    """The weights carry the identity of the run that saved them; it must be this run's."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            stored = (f.metadata() or {}).get(RUN_ID_KEY)
    except Exception:  # noqa: BLE001 - damaged files are reported by the checks that follow
        stored = None
    ident = manifest.run_id_of(run_dir)
    if ident is None:
        if stored is not None:             # saved with a manifest (format 3): its loss is no downgrade to trust
            raise RunDirError(f"weights {str(path)!r} were saved by a run with a manifest (run id {stored[:8]}...), "
                              f"but {str(run_dir)!r} has no {manifest.MANIFEST}: its files were changed or copied "
                              "in part; restore the run's manifest.json or train again")
        return
    manifest.verify(run_dir, required=(path.name,))
    if stored is not None and stored != ident:
        raise RunDirError(f"weights {str(path)!r} were saved by another run (run id {stored[:8]}..., this run is "
                          f"{ident[:8]}...); restore this run's own weights or train again")


def _signature(model: nn.Module) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Name -> (dtype, shape) of every tensor in ``model``'s state dict. Of tied tensors (one
    tensor under several names) the file keeps one name; :func:`_alias_groups` lists them."""
    return {k: (_TORCH_DTYPES.get(v.dtype, str(v.dtype)), tuple(v.shape)) for k, v in model.state_dict().items()}


def _alias_groups(model: nn.Module) -> list[set[str]]:
    """Sets of state-dict names that are one tensor (tied weights)."""
    groups: dict[int, set[str]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        groups.setdefault(id(tensor), set()).add(name)
    return [g for g in groups.values() if len(g) > 1]


def _check_tensors(path: Path, stored: dict, expected: dict, aliases: list[set[str]] = ()) -> None:
    fix = "the run directory is damaged or its files come from different runs; train again"
    missing = sorted(n for n in set(expected) - set(stored)
                     if not any(n in group and group & set(stored) for group in aliases))
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:3])}"] if missing else []) + \
                ([f"unexpected {', '.join(extra[:3])}"] if extra else [])
        raise RunDirError(f"weights {str(path)!r} do not match {CONFIG} ({'; '.join(parts)}); {fix}")
    for name, (dtype, shape) in expected.items():
        if name in stored and stored[name] != (dtype, shape):
            raise RunDirError(f"weights {str(path)!r}: tensor {name!r} is {stored[name][1]} {stored[name][0]} in the "
                              f"file but {shape} {dtype} by {CONFIG}; {fix}")


def _load_checked(path: Path, model: nn.Module, checksum: str | None) -> None:
    fix = "the run directory is damaged; train again or restore it from a copy"
    try:
        load_model(model, str(path), strict=True)
    except Exception as err:                                  # SafetensorError and kin: the header was checked
        raise RunDirError(f"cannot load weights {str(path)!r}: {str(err).splitlines()[0][:160]}; {fix}") from None
    state = model.state_dict()
    if checksum is not None and weights_digest(state) != checksum:
        raise RunDirError(f"weights {str(path)!r} do not match their checksum: the file was changed or damaged "
                          f"after training; {fix}")
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise RunDirError(f"weights {str(path)!r}: tensor {name!r} holds NaN or infinite values; the run "
                              "diverged or the file is damaged; train again (with a lower train.lr if it diverged)")


def load_weights(run_dir: str | Path, model: nn.Module) -> nn.Module:
    """Load ``model.safetensors`` into ``model`` (already built), with the checks of
    :func:`build_and_load`."""
    path = Path(run_dir) / WEIGHTS
    stored, checksum = _read_header(path)
    _check_run_id(Path(run_dir), path)
    _check_tensors(path, stored, _signature(model), _alias_groups(model))
    _load_checked(path, model, checksum)
    return model


def load_vocab(run_dir: str | Path, name: str = VOCAB) -> Vocab:
    path = Path(run_dir) / name
    if not path.is_file():
        raise RunDirError(f"{str(run_dir)!r} has no {name}; it is not a text model's run directory")
    return Vocab.load(run_file(run_dir, name))


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
    meta = json.dumps({"epoch": epoch, "history": finite_json(history),
                       "param_groups": state["param_groups"], "plain_state": plain_state, "rng": rng_values,
                       "extra": extra_values}, allow_nan=False)
    run_id = manifest.run_id_of(run_dir) or manifest.new_run_id()
    manifest.commit(run_dir, {TRAIN_TENSORS: lambda p: save_file(tensors, str(p), metadata={"lstmkit_train_state": meta}),
                              LAST_WEIGHTS: _weights_writer(model, run_id)},
                    adopt=NEEDED + (TRAIN_TENSORS, LAST_WEIGHTS), run_id=run_id)


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
    manifest.verify(run_dir, required=(TRAIN_TENSORS,))
    if not path.is_file():
        raise RunDirError(f"{str(run_dir)!r} has no {TRAIN_TENSORS}: it never finished an epoch, or was "
                          "trained by an lstmkit without exact resume; train it again with --overwrite")
    try:
        with safe_open(str(path), "pt") as f:
            meta = parse_json((f.metadata() or {})["lstmkit_train_state"])
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
