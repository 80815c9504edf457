"""The one training recipe every task goes through.

Device, seeding, data parallelism, optimizer, learning-rate schedule, early stopping on the
task's metric, a hard time cap, best-checkpoint saving, bf16 autocast (with the CPU fallback of
:mod:`lstmkit.nn.precision`), gradient clipping, divergence checks and exact resume are written
here once; a :class:`~lstmkit.training.task.Task` supplies data, model, step and evaluation.

Exact resume: after every epoch the run saves the weights, the optimizer, the history, the
random states of torch, numpy, Python and the data order, and the hooks' own states (schedule,
weight averaging) in one safetensors file. ``resume=True`` restores them and goes on, so
"2 epochs, then resume to 4" reaches the weights of 4 epochs in one go, dropout included.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmkit.config import RunConfig, check_used
from lstmkit.errors import ConfigError, DataError, LstmkitError, RunDirError
from lstmkit.registry import get_task
from lstmkit.training.task import Context, Task
from lstmkit.training import checkpoint, distributed, manifest
from lstmkit.training.build import device_of, make_optimizer
from lstmkit.training.rundir import DirectoryLock, RunDirectory  # noqa: F401 - DirectoryLock: old import path
from lstmkit.training.memory import check_model_fits
from lstmkit.training.hooks import EarlyStopping, LogEpoch, MetricsFile, PlotMetrics, SaveBest, TimeBudget
from lstmkit.training.schedule import LRSchedule
from lstmkit.training.trainer import Hook, Trainer

logger = logging.getLogger(__name__)


@dataclass
class Fitted:
    """The outcome of :func:`fit`."""

    task: str
    run_dir: Path
    model: nn.Module                       # the best epoch's weights, in eval mode
    data: Any                              # what the task prepared (vocabularies, splits, ...)
    history: list[dict[str, float]]
    best: dict[str, float]                 # the metrics of the epoch kept
    test: dict[str, Any] | None            # the task's test scores (also in eval.json)
    train_seconds: float

    def summary(self) -> str:
        """One line: epochs, time, and the metric that chose the best epoch."""
        spec = get_task(self.task)
        head = spec.headline
        text = f"trained {len(self.history)} epochs in {self.train_seconds / 60:.1f} min; best epoch " \
               f"{int(self.best['epoch'])} by {spec.monitor_label}"
        if head.key in self.best:
            text += f": {head.label} {head.format(self.best[head.key])}"
        return text


def check_data_name(spec: Task, path: str) -> None:
    """A ``--data`` value that is neither a file nor one of the task's dataset names, and does
    not look like a path, is most likely a misspelled name: say so, with the nearest name."""
    import difflib

    names = [n for n in spec.data_help.split("|") if n != "PATH"]
    if not path or path in names or path in spec.data_aliases or Path(path).exists() or "/" in path or "\\" in path or Path(path).suffix:
        return
    close = difflib.get_close_matches(path.lower(), names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    text_hint = spec.text_hint if " " in path.strip() else ""
    raise DataError(f"--data {path!r} is neither a file nor a dataset of task {spec.name}; {hint}"
                    f"the names are {', '.join(names)}, or pass the path of a file{text_hint}")


def check_fits_in_memory(build, cfg: RunConfig) -> None:
    """The model check of :mod:`lstmkit.training.memory` (kept under its old name)."""
    check_model_fits(build, cfg.model)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def autocast_factory(device: torch.device, bf16: bool):
    """A context-manager factory: bf16 autocast when asked for, else nothing."""
    if not bf16:
        return nullcontext
    if device.type == "cpu":
        from lstmkit.nn.precision import cpu_bf16_rnn_supported

        if not cpu_bf16_rnn_supported():
            logger.info("bf16: this CPU lacks bf16 recurrent kernels; LSTM/GRU layers run in float32, "
                        "the rest in bf16")
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16)


class SaveState(Hook):
    """Save what ``resume`` needs after every epoch (hooks' states included)."""

    def __init__(self, run_dir: Path, model: nn.Module, optimizer, generator, stateful: list[tuple[str, Hook]]):
        self.run_dir, self.model, self.optimizer = run_dir, model, optimizer
        self.generator, self.stateful = generator, stateful

    def on_epoch_end(self, trainer: Trainer) -> None:
        extra = {name: hook.get_state() for name, hook in self.stateful}
        checkpoint.save_training_state(self.run_dir, self.model, self.optimizer, trainer.state.epoch,
                                       trainer.state.history, self.generator, extra)


def fit(cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, overwrite: bool = False,
        progress: bool = False, download: bool = False, prepared: Any = None,
        claim: RunDirectory | None = None) -> Fitted:
    """Train ``cfg.task`` into ``run_dir``; see the module docstring.

    Args:
        resume: go on from the last epoch saved in ``run_dir`` up to ``cfg.train.epochs``.
        overwrite: replace the run in ``run_dir``: its files are removed only once the new
            run's data are ready (:mod:`lstmkit.training.rundir`).
        prepared: data the task already prepared (the Python API's in-memory data).
        claim: the run directory, already claimed by the caller (the Python API writes
            in-memory data into it first).

    Raises:
        ConfigError: for a value the task does not use, or data it needs and lacks.
        DivergenceError: when the loss explodes (the run keeps the best epoch before it).
    """
    spec: Task = get_task(cfg.task)
    check_used(cfg)
    t = cfg.train
    if spec.needs_data and not cfg.data.path and prepared is None:
        raise ConfigError(f"train {cfg.task} needs data: pass --data {spec.data_help}, or set path in the "
                          "[data] table of --config")
    check_data_name(spec, cfg.data.path)
    warn_reused_data(cfg)
    if claim is None:
        RunDirectory(run_dir, overwrite=overwrite, resume=resume).precheck()   # before minutes of preparation
    if not resume:
        _refuse_inputs_the_run_replaces(cfg, Path(run_dir))
    device = device_of(t.device)
    rank = distributed.setup(device)
    final_dir = Path(run_dir)
    # Only rank 0 writes the run; the others keep a scratch directory that is removed at the end.
    if rank.is_main:
        held = claim if claim is not None else RunDirectory(final_dir, overwrite=overwrite, resume=resume)
        scope = nullcontext(held) if claim is not None else held
        work_dir = final_dir
    else:
        held, work_dir = None, Path(tempfile.mkdtemp(prefix=f"lstmkit-rank{rank.rank}-"))
        scope = nullcontext()
    try:
        with scope:
            seed_everything(t.seed)
            data = prepared if prepared is not None else spec.prepare(cfg, download)
            check_fits_in_memory(lambda: spec.build(cfg, data), cfg)
            seed_everything(t.seed)
            model = spec.build(cfg, data).to(device)
            if rank.world > 1:
                distributed.broadcast_parameters(model)
            optimizer = make_optimizer(model.parameters(), t)
            generator = torch.Generator().manual_seed(t.seed)
            ctx = Context(cfg, device, rank, autocast_factory(device, t.bf16), generator)
            if held is not None:
                held.clear_previous(keep=_inputs(cfg))          # the new run is ready: the old one goes
            return _fit_locked(spec, cfg, final_dir, work_dir, model, optimizer, ctx, data, resume, progress)
    finally:
        if not rank.is_main:
            shutil.rmtree(work_dir, ignore_errors=True)
        if rank.world > 1:
            distributed.teardown()


def warn_reused_data(cfg: RunConfig) -> None:
    """A validation or test file that is the training file is allowed (a smoke test), but its
    scores then measure memory, not generalisation: say so."""
    d = cfg.data
    if not d.path or not Path(d.path).is_file():
        return
    for name, other in (("data.valid_path (--valid-data)", d.valid_path), ("data.test_path (--test-data)", d.test_path)):
        try:
            same = bool(other) and Path(other).is_file() and (
                os.path.samefile(d.path, other) or (os.path.getsize(d.path) == os.path.getsize(other)
                                                    and manifest.sha256_file(Path(d.path)) == manifest.sha256_file(Path(other))))
        except OSError:
            same = False
        if same:
            logger.warning("%s is the training data %r (the same file, or a copy): its scores will show what the model remembers, not how it "
                           "does on new data; give a separate file", name, d.path)


class InputsGuard(Hook):
    """The checksums of the files a run is trained on, saved with its resume state; ``--resume``
    refuses data that changed since (the same file edited: labels renamed would relabel the
    trained model, flipped labels would train on the opposite). Runs saved without them resume
    as before."""

    def __init__(self, cfg: RunConfig) -> None:
        d = cfg.data
        paths = {"data.path": d.path, "data.valid_path": d.valid_path, "data.test_path": d.test_path,
                 "vectors.path": cfg.vectors.path}
        self.sums = {key: manifest.sha256_file(Path(p)) for key, p in paths.items() if p and Path(p).is_file()}

    def get_state(self) -> tuple[dict, dict]:
        return {"sha256": self.sums}, {}

    def set_state(self, values: dict, tensors: dict) -> None:
        stored = values.get("sha256", {})
        changed = sorted(k for k in set(stored) | set(self.sums) if stored.get(k) != self.sums.get(k))
        if changed:
            raise RunDirError(f"the data changed since this run started: the file of {', '.join(changed)} has other "
                              "contents (its SHA-256 differs); resuming would go on with other data under the same "
                              "labels and vocabulary: resume with the original files, or train a new run")


def _refuse_inputs_the_run_replaces(cfg: RunConfig, run_dir: Path) -> None:
    """Data or vectors that are one of the old run's own files in ``run_dir`` (``--data
    RUN/vocab.json --overwrite``) would be replaced by the new run's file of that name: the
    config would then name a file that is no longer the data. Refused before anything is read."""
    from lstmkit.files import same_file
    from lstmkit.training.rundir import holds_run, own_files

    if not run_dir.is_dir() or not holds_run(run_dir):
        return
    staged = run_dir / "data"                     # the Python API's in-memory data: inputs the clearing keeps
    for given in _inputs(cfg):
        for own in own_files(run_dir):
            if own.parent != staged and same_file(Path(given), own):
                raise ConfigError(f"the input {given!r} is the file {own.name} of the run in {str(run_dir)!r}, which "
                                  "this training replaces; copy it out of the run first, or train into another "
                                  "--run-dir")


def _inputs(cfg: RunConfig) -> list[str]:
    """The files a run reads, which clearing an old run in the same folder must keep."""
    return [p for p in (cfg.data.path, cfg.data.valid_path, cfg.data.test_path, cfg.vectors.path)
            if p and Path(p).exists()]


def _fit_locked(spec: Task, cfg: RunConfig, final_dir: Path, run_dir: Path, model: nn.Module, optimizer,
                ctx: Context, data: Any, resume: bool, progress: bool) -> Fitted:
    t = cfg.train
    task_hooks = spec.hooks(model, optimizer, ctx)
    schedule = LRSchedule(optimizer, t.lr_schedule, t.lr, t.epochs, t.lr_decay, t.decay_start, spec.monitor)
    stateful: list[tuple[str, Hook]] = [("schedule", schedule), ("inputs", InputsGuard(cfg))]
    stateful += [(f"task{i}", h) for i, h in enumerate(task_hooks)]
    start_epoch, history = 1, []
    if resume:
        spec.check_resume(final_dir, data)
        last, history, extra = checkpoint.load_training_state(final_dir, model, optimizer, ctx.generator)
        for name, hook in stateful:
            if name in extra:
                hook.set_state(*extra[name])
        start_epoch = last + 1
        if start_epoch > t.epochs:
            raise ConfigError(f"{str(final_dir)!r} already trained {last} epochs; pass a larger --epochs "
                              f"(train.epochs) to go on")
        logger.info("resuming %s after epoch %d", final_dir, last)
    spec.save_assets(run_dir, cfg, data)

    def validate() -> dict[str, float]:
        with spec.weights_for_eval():
            return spec.validate(model, ctx, data)

    def save_best() -> None:
        with spec.weights_for_eval():
            checkpoint.save_run(run_dir, model, cfg)

    monitor = spec.monitor
    hooks: list[Hook] = [schedule, *task_hooks, LogEpoch(list(spec.log_keys)), MetricsFile(run_dir)]
    if spec.plot is not None:
        name, keys, ylabel, log_y = spec.plot
        hooks.append(PlotMetrics(run_dir / name, keys, ylabel, log_y))
    hooks += [_Monitored(SaveBest(save_best, monitor), monitor)]
    hooks += [_Monitored(EarlyStopping(monitor, t.patience), monitor)] if t.patience > 0 else []
    hooks += [TimeBudget(t.max_minutes)] if t.max_minutes > 0 else []
    hooks += [distributed.SyncStop()] if ctx.rank.world > 1 else []
    hooks.append(SaveState(run_dir, model, optimizer, ctx.generator, stateful))
    params = [p for p in model.parameters() if p.requires_grad]
    sync = (lambda count: distributed.average_gradients(params, count)) if ctx.rank.world > 1 else None
    trainer = Trainer(model, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress and ctx.rank.is_main,
                      gradient_sync=sync, diverge_factor=t.diverge_factor, perplexity=spec.perplexity)

    def batches(epoch: int):
        for batch in spec.batches(ctx, data, epoch):
            yield spec.shard(batch, ctx.rank) if ctx.rank.world > 1 else batch

    state = trainer.fit(t.epochs, batches, lambda batch, carried: spec.step(model, ctx, batch, carried), validate,
                        spec.num_batches(ctx, data), start_epoch, history)
    if not (run_dir / checkpoint.WEIGHTS).is_file():
        raise LstmkitError("training ended before any epoch was kept; raise train.max_minutes or train.epochs")
    checkpoint.load_weights(run_dir, model)
    model.eval()
    scored = [m for m in state.history if monitor in m]
    best = min(scored, key=lambda m: m[monitor]) if scored else state.history[-1]
    test = spec.finish(model, ctx, data, run_dir) if ctx.rank.is_main else None
    if test is not None:
        checkpoint.save_scores(run_dir, test)
    return Fitted(cfg.task, final_dir, model, data, state.history, best, test, state.history[-1]["elapsed_s"])


class _Monitored(Hook):
    """A hook on the task's metric, falling back to the training loss when an epoch has no
    validation metric (a corpus without a validation part)."""

    def __init__(self, inner: Hook, monitor: str) -> None:
        self.inner, self.monitor = inner, monitor
        self.inner.monitor = monitor

    def on_fit_start(self, trainer: Trainer) -> None:
        for m in trainer.state.history:
            m.setdefault(self.monitor, m["train_loss"])
        self.inner.on_fit_start(trainer)

    def on_step_end(self, trainer: Trainer, loss: float, num_tokens: int) -> None:
        self.inner.on_step_end(trainer, loss, num_tokens)

    def on_epoch_end(self, trainer: Trainer) -> None:
        metrics = trainer.state.metrics
        if self.monitor not in metrics:
            metrics[self.monitor] = metrics["train_loss"]
        self.inner.on_epoch_end(trainer)


def resume_config(run_dir: str | Path, epochs: int | None = None) -> RunConfig:
    """The config of the run in ``run_dir``, with ``epochs`` raised if given."""
    cfg = checkpoint.read_run_config(run_dir)
    if epochs is not None:
        cfg = replace(cfg, train=replace(cfg.train, epochs=epochs))
    return cfg
