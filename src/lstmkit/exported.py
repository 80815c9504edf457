"""Run an exported graph with its inputs checked against the description beside it.

    from lstmkit.exported import load_exported
    model = load_exported("runs/clf/model.onnx")          # reads model.onnx.json beside it
    out = model(tokens=ids, lengths=lengths)              # {"probabilities": array (B, C)}

Fed directly, the runtimes answer a wrong input from deep inside: a ``.pt2`` program says
``Guard failed: lengths.size()[0] == tokens.size()[0]`` for batches of different sizes or
``Tensor dtype mismatch! Expected: Long, Got: int`` for int32 lengths, and onnxruntime names an
internal node. :class:`ExportedModel` checks every input first, against the sidecar's
``input_shapes``, ``input_dtypes`` and ``input_ranges`` (written by :func:`lstmkit.export.export_run`),
and says which input, what it got and what it needs. The graphs check the ranges again inside
(see :mod:`lstmkit.export`), so a caller who skips this module is still refused, less clearly.

The sidecar holds the graph's SHA-256: a graph swapped for another, or one whose sidecar is
another export's, is refused by name. A ``.pt2`` is loaded by ``torch.export.load``, which may
unpickle constants: load only ``.pt2`` files you made. An ONNX graph carries no code.

Outputs are NumPy arrays in both formats (the common ground of onnxruntime and torch).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.boundary import parse_json, printable, ragged, shown
from lstmkit.boundary import ArgumentError
from lstmkit.errors import LstmkitError, listing

BATCH = "batch"                # a dimension of the batch size, equal across inputs
TIME = "time"                  # a dimension of any size (the ONNX language model's tokens)
# "batch*T": a dimension of the batch size times T (the tagger's per-position characters)


class ExportError(LstmkitError):
    """An exported graph, or its description, cannot be used."""


class ExportedModel:
    """An exported graph and the checks of its inputs; call it with the inputs by name (or in
    the order of :attr:`inputs`), get ``{output name: numpy array}``."""

    def __init__(self, path: Path, sidecar: dict[str, Any], run) -> None:
        self.path = path
        self.sidecar = sidecar
        self.inputs: list[str] = list(sidecar["inputs"])
        self.outputs: list[str] = list(sidecar["outputs"])
        self._run = run

    def __repr__(self) -> str:
        return f"ExportedModel({printable(str(self.path))!r}, inputs={self.inputs}, outputs={self.outputs})"

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
        values = self.check(*args, **kwargs)
        try:
            return dict(zip(self.outputs, self._run(values)))
        except Exception as err:           # noqa: BLE001 - a runtime's own words, after every check passed
            first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
            raise ExportError(f"the graph {printable(str(self.path))!r} refused inputs that its description allows "
                              f"({printable(first)}); the description may not be this graph's: export again") from None

    def check(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """The inputs in graph order, as arrays of the graph's dtypes.

        Raises:
            ArgumentError: naming the input, what it got and what the graph takes.
        """
        if len(args) > len(self.inputs):
            raise ArgumentError(f"the graph takes {len(self.inputs)} inputs ({', '.join(self.inputs)}); "
                                f"got {len(args)} positional values")
        given = dict(zip(self.inputs, args))
        for name, value in kwargs.items():
            if name not in self.inputs:
                raise ArgumentError(f"the graph has no input {printable(name)!r}; its inputs are "
                                    f"{listing(self.inputs)}")
            if name in given:
                raise ArgumentError(f"input {name!r} given twice (by position and by name)")
            given[name] = value
        missing = [n for n in self.inputs if n not in given]
        if missing:
            raise ArgumentError(f"missing input{'s' if len(missing) > 1 else ''} {listing(missing)}; "
                                f"the graph takes {', '.join(self.inputs)}")
        arrays = [_array(name, given[name], self.sidecar["input_dtypes"][name]) for name in self.inputs]
        batch: tuple[str, int] | None = None
        for name, array in zip(self.inputs, arrays):
            dims = self.sidecar["input_shapes"][name]
            if array.ndim != len(dims):
                raise ArgumentError(f"input {name!r} has shape {tuple(array.shape)}; the graph takes "
                                    f"{len(dims)} dimensions ({_said(dims)})")
            for axis, (dim, size) in enumerate(zip(dims, array.shape)):
                if dim == BATCH or (isinstance(dim, str) and dim.startswith(BATCH + "*")):
                    times = 1 if dim == BATCH else int(dim.split("*", 1)[1])
                    if size == 0 or size % times:
                        raise ArgumentError(f"input {name!r} has shape {tuple(array.shape)}: axis {axis} must be "
                                            f"{'the batch size (>= 1)' if times == 1 else f'the batch size x {times}'}, "
                                            f"got {size}")
                    if size // times > self.sidecar.get("max_batch", size // times):
                        raise ArgumentError(f"input {name!r} holds a batch of {size // times}; the graph takes at "
                                            f"most {self.sidecar['max_batch']}: split it into smaller batches")
                    if batch is None:
                        batch = (name, size // times)
                    elif size // times != batch[1]:
                        raise ArgumentError(f"input {name!r} is for a batch of {size // times}, input {batch[0]!r} "
                                            f"for {batch[1]}: every input holds the same examples")
                elif dim == TIME:
                    if size == 0:
                        raise ArgumentError(f"input {name!r} has shape {tuple(array.shape)}: axis {axis} (time) "
                                            "must hold at least one step")
                elif size != dim:
                    raise ArgumentError(f"input {name!r} has shape {tuple(array.shape)}; the graph takes "
                                        f"({_said(dims)}): axis {axis} must be {dim}, got {size}"
                                        f"{_pad_hint(name, dim, size)}")
            low, high = self.sidecar["input_ranges"].get(name, (None, None))
            _check_range(name, array, low, high)             # on the values given: 1e300 said as 1e300
        return [a if a.dtype == np.int64 else a.astype(np.float32) for a in arrays]


def _said(dims: list) -> str:
    return ", ".join(str(d) for d in dims)


def _pad_hint(name: str, dim: int, size: int) -> str:
    return (f"; pad (or cut) to {dim}, the length it was exported with, or export again with --length {size}"
            if name in ("tokens", "words") else "")


def _array(name: str, value: Any, dtype: str) -> np.ndarray:
    """``value`` as a NumPy array of ``dtype``: integers stay integers (no float is rounded into
    an id), any integer width is widened, a float input takes floats or integers."""
    if hasattr(value, "detach"):                                  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:
        where = ragged(name, value)
        raise ArgumentError(f"input {name!r} must be an array of {dtype}; got {shown(value)} "
                            f"({where or err})") from None
    kind = array.dtype.kind
    if kind == "O":                                            # None, a mix of types: said as given
        where = ragged(name, value)
        raise ArgumentError(f"input {name!r} must be an array of {dtype}; got {shown(value)}"
                            + (f" ({where})" if where else ""))
    if dtype.startswith("int"):
        if kind not in "iu":
            raise ArgumentError(f"input {name!r} must hold integers ({dtype}); got {shown(array)}"
                                + ("; ids and lengths are whole numbers: convert with .astype('int64')"
                                   if kind == "f" else ""))
        if kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
            raise ArgumentError(f"input {name!r} holds {int(array.max())}, beyond int64")
        return array.astype(np.int64, copy=False)
    if kind not in "iuf":
        raise ArgumentError(f"input {name!r} must hold numbers ({dtype}); got {shown(array)}")
    return array


def _check_range(name: str, array: np.ndarray, low: float | None, high: float | None) -> None:
    if low is None or array.size == 0:
        return
    if array.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(array) | (array < low) | (array > high)
    else:
        bad = (array < low) | (array > high)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        value = array[where].item()
        rule = "finite (no NaN or inf)" if math.isinf(high) or high > 3e38 else f"between {_num(low)} and {_num(high)}"
        raise ArgumentError(f"input {name!r} must be {rule}; at {where} it holds {value!r}"
                            f" ({int(bad.sum())} value{'s' if bad.sum() > 1 else ''} outside)")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _sidecar(path: Path) -> dict[str, Any]:
    side = Path(f"{path}.json")
    if not path.is_file():
        raise ExportError(f"{str(path)!r} is not a file; give the path of an exported graph (model.onnx or model.pt2)")
    if not side.is_file():
        raise ExportError(f"{str(path)!r} has no description {side.name!r} beside it; it holds the names and "
                          "shapes of the inputs: export again with `lstmkit export RUN --output ...`")
    try:
        sidecar = parse_json(side.read_bytes())
    except (OSError, ValueError) as err:
        raise ExportError(f"the description {str(side)!r} cannot be read ({str(err)[:120]}); export again") from None
    needed = ("format", "inputs", "outputs", "input_shapes", "input_dtypes", "input_ranges", "sha256", "checks_sha256")
    if not isinstance(sidecar, dict) or any(key not in sidecar for key in needed):
        raise ExportError(f"the description {str(side)!r} lacks the input shapes and checksum this loader needs "
                          "(written by lstmkit before they were recorded, or not by lstmkit); export again")
    if sidecar.get("checks_sha256") != checks_digest(sidecar):
        raise ExportError(f"the description {str(side)!r} was edited after the export (its inputs, shapes, dtypes or "
                          "ranges no longer match their checksum), so it may not describe the graph; export again")
    if not _well_formed(sidecar):
        raise ExportError(f"the description {str(side)!r} is damaged (its inputs, shapes or dtypes are not what "
                          "lstmkit writes); export again")
    return sidecar


def _dim_ok(dim: Any) -> bool:
    if isinstance(dim, int) and not isinstance(dim, bool):
        return dim >= 1
    if dim in (BATCH, TIME):
        return True
    return isinstance(dim, str) and dim.startswith(BATCH + "*") and dim[len(BATCH) + 1:].isdigit()


def _well_formed(sidecar: dict[str, Any]) -> bool:
    inputs, shapes, dtypes, ranges = (sidecar[k] for k in ("inputs", "input_shapes", "input_dtypes", "input_ranges"))
    if not (isinstance(inputs, list) and inputs and all(isinstance(n, str) for n in inputs)
            and isinstance(sidecar["outputs"], list) and all(isinstance(n, str) for n in sidecar["outputs"])
            and all(isinstance(d, dict) for d in (shapes, dtypes, ranges))):
        return False
    for name in inputs:
        if not (isinstance(shapes.get(name), list) and all(_dim_ok(d) for d in shapes[name])
                and dtypes.get(name) in ("int64", "float32")):
            return False
        bounds = ranges.get(name, [0, 0])
        if not (isinstance(bounds, list) and len(bounds) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
            return False
    batch = sidecar.get("max_batch", 1)
    return isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1


CHECKED = ("format", "inputs", "outputs", "input_shapes", "input_dtypes", "input_ranges", "max_batch", "sha256")


def checks_digest(sidecar: dict[str, Any]) -> str:
    """The SHA-256 of what this module checks inputs against (the ``CHECKED`` keys, canonical
    JSON): written by the export as ``"checks_sha256"``, so a hand-edited range or shape is
    refused instead of letting the graph answer from deep inside."""
    import hashlib
    import json

    text = json.dumps({key: sidecar.get(key) for key in CHECKED}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def load_exported(path: str | Path) -> ExportedModel:
    """The exported graph at ``path`` (``.onnx`` or ``.pt2``), checked against its sidecar.

    Raises:
        ExportError: the graph or its sidecar is missing, damaged, or not the pair export wrote.
    """
    from lstmkit.training.manifest import sha256_file

    from lstmkit import boundary

    path = boundary.path("path", path)
    if path.name.endswith(".json") and Path(str(path)[: -len(".json")]).is_file():
        raise ExportError(f"{str(path)!r} is the description of an export; pass the graph beside it, "
                          f"{str(path)[: -len('.json')]!r}")
    sidecar = _sidecar(path)
    if sha256_file(path) != sidecar["sha256"]:
        raise ExportError(f"{str(path)!r} is not the graph its description {path.name + '.json'!r} was written "
                          "for (their checksums differ): the graph or the description was replaced; export again")
    fmt = sidecar["format"]
    with path.open("rb") as f:
        archive = f.read(4) == b"PK\x03\x04"                   # a .pt2 is a zip archive; ONNX is protobuf
    if fmt == "pt2" and (path.suffix.lower() == ".onnx" or not archive):
        raise ExportError(f"{str(path)!r} is named or built like an ONNX graph, which carries no code, but its "
                          "description says pt2, which torch.export.load may unpickle; load it only if you made it, "
                          "under a name ending in .pt2")
    if fmt == "onnx" and (path.suffix.lower() == ".pt2" or archive):
        raise ExportError(f"{str(path)!r} is described as an ONNX graph but is named or built like a pt2 archive; "
                          "export again")
    if fmt == "onnx":
        try:
            import onnxruntime
        except ImportError:
            raise ExportError("running an ONNX graph needs onnxruntime: pip install 'lstmkit[export]'") from None
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def run(values: list[np.ndarray]) -> list[np.ndarray]:
            return session.run(None, dict(zip(sidecar["inputs"], values)))
    elif fmt == "pt2":
        import torch

        from lstmkit.notices import quieted

        with quieted("torch._export.serde.serialize"):     # "Symbol u1 did not appear": torch's, not the user's
            module = torch.export.load(str(path)).module()

        def run(values: list[np.ndarray]) -> list[np.ndarray]:
            with torch.no_grad():
                out = module(*(torch.from_numpy(np.ascontiguousarray(v)) for v in values))
            return [t.numpy() for t in (out if isinstance(out, (tuple, list)) else (out,))]
    else:
        raise ExportError(f"the description of {str(path)!r} names format {printable(fmt)!r}; onnx and pt2 are known")
    return ExportedModel(path, sidecar, run)


__all__ = ["CHECKED", "ExportError", "ExportedModel", "checks_digest", "load_exported"]
