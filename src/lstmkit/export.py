"""Export a trained run to ONNX or to a ``torch.export`` program (``.pt2``), with the recurrent
state as an explicit input and output where the model streams.

    lstmkit export runs/lm-... --format onnx            # runs/lm-.../model.onnx (+ model.onnx.json)

What each task's exported graph takes and gives (B batch, T time; names as in the file):

- ``lm``: ``tokens`` (B, T) int64 and ``state_in_h`` (+ ``state_in_c`` for an LSTM), each
  (L, B, H) -> ``logits`` (B, T, V), ``state_out_h`` (+ ``state_out_c``). Feed a text chunk by
  chunk, passing each chunk's ``state_out_*`` as the next ``state_in_*`` (zeros at the start):
  the result equals one pass over the whole text (tested). The ONNX graph takes any T; the
  ``pt2`` graph takes exactly T = ``--length`` (else ``lm.num_steps``) tokens per call, since
  torch.export unrolls the LSTM (the sidecar's ``"tokens_note"`` says so).
- ``classify``: ``tokens`` (B, T) int64, right-padded with id 0 to the exported T
  (``--length``, else ``classify.max_len``, else 256), and ``lengths`` (B,) int64 ->
  ``probabilities`` (B, C); unequal lengths and both directions are exact, as in eager mode. A
  run trained with ``classify.max_len=0`` (no cap) and exported without ``--length`` gets
  T = 256: longer texts must be cut to their first 256 tokens, which the model never did in
  training. The export says so in a warning and in the sidecar (``"max_len": 256`` and
  ``"max_len_note"``). The exporters unroll the T time steps, so the export's time grows with T
  (over a minute for a BiLSTM at T = 256 on 2 cores).
- ``forecast``: ``series`` (B, input_len, F_in) in original units -> ``forecast`` (B, horizon,
  F_out) in original units (the training scaler is inside the graph).
- ``image``: ``pixels`` (B, 28, 28) float in [0, 255], light digit on dark -> ``probabilities``
  (B, 10).
- ``tag``: ``words`` (B, T) (T = ``--length``, else 64) and ``lengths`` (B,) int64, ``chars`` (B*T, L) and
  ``char_lengths`` (B*T,) int64 (every position's characters, padded to 30, >= 1 also at padding; see
  :func:`lstmkit.tasks.tag.export.dense_tag_inputs`) -> ``tags`` (B, T) (Viterbi in the graph with a CRF, else argmax)
  and ``emissions`` (B, T, K).

Lengths and token ids are checked inside the graphs: every ``lengths`` (and the tagger's
``char_lengths``) must be in [1, T] (a length of 0 gave NaN, a negative or too large one
garbage), and every token id (``tokens``, the tagger's ``words`` and ``chars``) in [0, V - 1]
(ONNX reads a negative id from the end of the table); a forecaster's ``series`` must be finite
and an image's ``pixels`` in [0, 255] (a NaN series gave a believable forecast). Outside, the
``.pt2`` program raises
``RuntimeError: lengths must be between 1 and T ...`` and onnxruntime fails the run
(``INVALID_ARGUMENT``) at the Gather node named ``check_lengths_between_1_and_T`` (or
``check_tokens_between_0_and_V-1``; ONNX has no assert operator, and an out-of-range index is
its portable error). The sidecar's ``"checks"`` says the same.

Every graph takes any B. The language model's ONNX graph takes any T; the other graphs, and
every ``.pt2`` program, take the T they were exported with (``torch.export`` specialises the
time dimension of the fused recurrent kernels, and the length masks are built for it): pad or
chunk to it. Beside the file, a
``.json`` sidecar names the inputs and outputs, says each input's shape, dtype and range
(:func:`input_description`) and the graph's SHA-256, and points at the run; :mod:`lstmkit.exported`
runs a graph with its inputs checked against it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path

import torch

from lstmkit.boundary import printable
from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.files import OutputError, output_name, publish, stage, sweep_temporaries
from lstmkit.nn.exportable import MAX_EXPORT_LEN, ExportSpec, rule
from lstmkit.notices import quieted

logger = logging.getLogger(__name__)
MAX_BATCH = 65_536                  # the largest batch an exported graph is traced for

FORMATS = ("onnx", "pt2")


def _name_range_checks(model, ranges: dict[str, tuple[int, int]]) -> None:
    """Name each :class:`RangeCheck` Gather node of an ONNX graph after the rule it enforces:
    the node that indexes a ``.guard`` buffer, named after the graph input its index comes from
    (the exporter may merge the equal guard buffers, so their names do not tell)."""
    producer = {out: node for node in model.graph.node for out in node.output}

    def source(value: str) -> str | None:                       # the graph input a value is computed from
        todo, seen = [value], set()
        while todo:
            v = todo.pop()
            if v in ranges:
                return v
            if v in producer and v not in seen:
                seen.add(v)
                todo.extend(producer[v].input)
        return None

    for node in model.graph.node:
        if node.op_type == "Gather" and len(node.input) == 2 and node.input[0].endswith(".guard"):
            name = source(node.input[1])
            if name is not None:
                low, high = ranges[name]
                node.name = f"check_{name}_{rule(low, high, '_')}_batch_at_least_1"


def export_spec(run_dir: str | Path, length: int | None = None, fmt: str = "onnx") -> ExportSpec:
    """The exportable module of a run, in eval mode on the CPU, as its task builds it
    (``Task.export_spec``).

    ``length`` is the time length T of a classifier's tokens (default ``classify.max_len``, else
    256), a tagger's words (default 64), or a language model's tokens in a ``pt2`` graph (default
    ``lm.num_steps``: torch.export unrolls the LSTM, so that graph takes exactly T tokens, where the
    ONNX graph takes any number). Forecasters and image models have the length they were built
    for, and refuse it.
    """
    from lstmkit.training.checkpoint import read_run_config

    return _spec_of(Path(run_dir), read_run_config(run_dir), length, fmt)


def _spec_of(run_dir: Path, cfg, length: int | None, fmt: str) -> ExportSpec:
    """:func:`export_spec` of a run whose config is read already."""
    from lstmkit.boundary import integer
    from lstmkit.tasks import get_task

    if length is not None:
        length = integer("length", length, low=1, high=MAX_EXPORT_LEN)
    spec = get_task(cfg.task).export_spec(run_dir, cfg, length, fmt)
    import inspect

    takes = list(inspect.signature(spec.module.forward).parameters)
    if takes != list(spec.inputs):                 # the graph's input names are forward's argument names
        raise LstmkitError(f"task {cfg.task}'s export spec names the inputs {list(spec.inputs)}, but its module's "
                           f"forward takes {takes}; name forward's arguments as the inputs")
    return spec


def input_description(spec: ExportSpec, fmt: str) -> dict[str, object]:
    """What each input must be, for the sidecar and :func:`lstmkit.exported.load_exported`:
    ``input_shapes`` (a dimension is a size, ``"batch"``, ``"batch*T"`` or ``"time"``: any),
    ``input_dtypes`` and ``input_ranges`` ([low, high], as checked inside the graph)."""
    steps = int(spec.example[0].shape[1]) if spec.example[0].dim() > 1 else 1
    shapes: dict[str, list[object]] = {}
    for name, example in zip(spec.inputs, spec.example):
        dims: list[object] = list(example.shape)
        if name in spec.batch_axes:
            dims[spec.batch_axes[name]] = "batch"
        if name in spec.batch_times:
            dims[spec.batch_times[name]] = f"batch*{steps}"
        if fmt == "onnx" and name in spec.time_axes:
            dims[spec.time_axes[name]] = "time"
        shapes[name] = dims
    return {"input_shapes": shapes,
            "input_dtypes": {n: str(t.dtype).removeprefix("torch.") for n, t in zip(spec.inputs, spec.example)},
            "input_ranges": {n: [low, high] for n, (low, high) in spec.ranges.items()},
            "max_batch": MAX_BATCH, "batch_note": "every input holds the same examples: the batch dimensions agree"}


def _relax_onnx_axes(path: Path, spec: ExportSpec) -> None:
    """Name the batch and time axes in the ONNX graph's signature, so that runtimes take any size."""
    import onnx

    model = onnx.load(str(path))
    axes = {name: {axis: "batch"} for name, axis in spec.batch_axes.items()}
    for name in spec.outputs:
        axes.setdefault(name, {})[0 if not name.startswith("state_out") else 1] = "batch"
    for name, axis in spec.time_axes.items():
        axes.setdefault(name, {})[axis] = "time"
    for name, axis in spec.batch_times.items():
        axes.setdefault(name, {})[axis] = "batch_x_time"
    for value in [*model.graph.input, *model.graph.output]:
        for axis, label in axes.get(value.name, {}).items():
            dims = value.type.tensor_type.shape.dim
            if axis < len(dims):
                dims[axis].ClearField("dim_value")
                dims[axis].dim_param = label
    if spec.time_axes:              # the traced shapes inside hold the example's T: runtimes warn on any other
        del model.graph.value_info[:]
    _name_range_checks(model, spec.ranges)
    onnx.save(model, str(path))


def export_run(run_dir: str | Path, fmt: str = "onnx", output: str | Path | None = None, force: bool = False,
               length: int | None = None) -> Path:
    """Export ``run_dir``'s model; returns the written file (a ``.json`` sidecar beside it).
    Both are written atomically (a kill leaves an older export whole).

    Args:
        force: replace an existing file at ``output`` (the default ``RUN_DIR/model.FORMAT`` is
            lstmkit's own and is always replaced).
        length: the time length of a classifier's or tagger's graph (see :func:`export_spec`).

    Raises:
        ConfigError: for an unknown format or a task that cannot be exported yet.
        OutputError: for an output that is one of the run's own files, exists (without
            ``force``), or lies in a missing folder.
    """
    from lstmkit.training.checkpoint import read_run_config

    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose onnx or pt2")
    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)              # a run to export first: its folder's output checks come after
    target, sidecar_path = _targets(run_dir, fmt, output, force)
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError:
            raise ConfigError("ONNX export needs the onnx and onnxscript packages: pip install 'lstmkit[export]' "
                              "(or --format pt2, which needs only torch)") from None
    spec = _spec_of(run_dir, cfg, length, fmt)
    sweep_temporaries(target.parent)                  # what a killed export left
    staged: list[Path] = []
    try:
        staged.append(_stage_graph(spec, fmt, target))
        staged.append(stage(sidecar_path, json.dumps(_sidecar(spec, fmt, cfg.task, run_dir, staged[0]), indent=2)))
    except BaseException as err:
        for tmp in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        _export_failed(err, run_dir, fmt, target)
    publish(staged[0], target)                # both staged whole: the graph and its sidecar replace
    publish(staged[1], sidecar_path)          # the old pair one right after the other
    return target


def _targets(run_dir: Path, fmt: str, output: str | Path | None, force: bool) -> tuple[Path, Path]:
    """The graph's path and its description's, both checked as outputs (never a run's own file,
    an existing one only with ``force``; the run's default export only if lstmkit wrote it)."""
    from lstmkit.training.rundir import check_output, own_files

    default = run_dir / f"model.{fmt}"
    target = output_name(output, example=default.name) if output is not None else default
    other = {"onnx": "pt2", "pt2": "onnx"}[fmt]
    if target.suffix.lower() == f".{other}":
        raise ConfigError(f"--output {str(target)!r} is named like a .{other} file, but --format is {fmt}: name it "
                          f"{target.with_suffix('.' + fmt).name!r}, or pass --format {other}")
    own = os.path.realpath(target) == os.path.realpath(default)
    if own and not force and not written_by_export(default):
        raise OutputError(f"{str(default)!r} already exists and is not an export lstmkit wrote (its description "
                          f"{default.name}.json does not match it); move it, pass --force to replace it, or choose "
                          "another --output")
    protected = own_files(run_dir, exclude=(default.name, default.name + ".json"))
    check_output(target, protected=protected, force=force, replaceable=own, example=default.name)
    sidecar_path = Path(str(target) + ".json")          # checked too: --output RUN/config -> RUN/config.json
    if sidecar_path.is_dir():
        raise OutputError(f"--output {str(target)!r} needs its description {sidecar_path.name!r} beside it, and "
                          f"{str(sidecar_path)!r} is a directory; move that folder, or choose another --output")
    try:
        check_output(sidecar_path, protected=protected, force=force, replaceable=own, example=default.name)
    except OutputError as err:
        raise OutputError(f"--output {str(target)!r} writes its description {sidecar_path.name!r} beside it, and "
                          f"{str(err).removeprefix('--output ')}") from None
    if target.suffix.lower() != f".{fmt}":
        logger.warning("%s does not end in .%s; it is written all the same (the file is %s whatever its name)",
                       printable(str(target)), fmt, {"onnx": "an ONNX graph", "pt2": "a torch.export program"}[fmt])
    return target, sidecar_path


def _stage_graph(spec: ExportSpec, fmt: str, target: Path) -> Path:
    """The exported graph written beside ``target`` under a temporary name (published later)."""
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    shapes = {n: {a: batch} for n, a in spec.batch_axes.items()}
    for name, axis in spec.batch_times.items():                   # the tagger's per-position characters
        shapes[name] = {axis: batch * spec.example[0].shape[1]}
    if fmt == "pt2":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                 # torch's notes on the RNN's flat weights: not the user's
            program = torch.export.export(spec.module, spec.example, dynamic_shapes=_shapes_for(spec, shapes))
        with quieted("torch.export.pt2_archive._package"):   # "expect a file ending in .pt2": the staged name
            return stage(target, lambda tmp: torch.export.save(program, str(tmp)))
    with quieted("torch.onnx._internal.exporter._registration"), warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # "torchvision is not installed" x 4: not ours
        onnx_program = torch.onnx.export(spec.module, spec.example, dynamo=True, verbose=False,
                                         input_names=spec.inputs, output_names=spec.outputs,
                                         dynamic_shapes=_shapes_for(spec, shapes))

    def save_onnx(tmp: Path) -> None:
        onnx_program.save(str(tmp))
        _relax_onnx_axes(tmp, spec)

    return stage(target, save_onnx)


def _sidecar(spec: ExportSpec, fmt: str, task: str, run_dir: Path, graph: Path) -> dict[str, object]:
    """The graph's description: its inputs and their checks, its checksum, and a checksum of those checks."""
    from lstmkit.exported import checks_digest
    from lstmkit.training.manifest import sha256_file

    sidecar = {"task": task, "format": fmt, "inputs": spec.inputs, "outputs": spec.outputs,
               "example_shapes": {n: list(t.shape) for n, t in zip(spec.inputs, spec.example)},
               **input_description(spec, fmt), "sha256": sha256_file(graph),
               "run_dir": str(run_dir.resolve()), **spec.notes}
    sidecar["checks_sha256"] = checks_digest(sidecar)
    return sidecar


def _export_failed(err: BaseException, run_dir: Path, fmt: str, target: Path) -> None:
    """Raise ``err`` as what the user can act on: a full disk, an unwritable folder, the exporter's first line."""
    if isinstance(err, OSError):
        import errno

        fix = ("free space on that disk or choose another --output" if err.errno in (errno.ENOSPC, errno.EDQUOT)
               else "choose another --output, in a folder you can write files in")
        raise LstmkitError(f"cannot write the export {str(target)!r}: {err.strerror or err}; {fix}") from None
    if isinstance(err, LstmkitError) or not isinstance(err, Exception):
        raise err
    raise LstmkitError(f"exporting {str(run_dir)!r} to {fmt} failed: {str(err).splitlines()[0][:200]}") from None


def _shapes_for(spec: ExportSpec, shapes: dict) -> dict:
    """``dynamic_shapes`` by the module's argument names (they are the input names)."""
    return {name: shapes.get(name, {}) for name in spec.inputs}


def written_by_export(path: Path) -> bool:
    """Whether ``path`` (a run's default export) is absent or an export lstmkit wrote: beside it,
    a description naming its format and task whose checksum (where it has one) matches the
    graph. A user's own ``model.onnx`` in a run folder is never replaced unasked."""
    from lstmkit.boundary import parse_json
    from lstmkit.training.manifest import sha256_file

    side = Path(f"{path}.json")
    if not path.exists() and not side.exists():
        return True
    try:
        sidecar = parse_json(side.read_bytes())
        if not isinstance(sidecar, dict) or not {"format", "task", "inputs"} <= set(sidecar):
            return False
        return not path.exists() or "sha256" not in sidecar or sidecar["sha256"] == sha256_file(path)
    except (OSError, ValueError):
        return False


__all__ = ["FORMATS", "ExportSpec", "export_run", "export_spec", "input_description", "written_by_export"]
