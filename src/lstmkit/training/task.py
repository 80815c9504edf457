"""What a task is: the pieces the one training recipe (:mod:`lstmkit.training.recipe`) asks of it.

A task declares its defaults, the shared config fields it reads, the metric that picks the
best epoch, and how it builds data, model, loss per batch, validation, test scores and the
files a run needs to be used again. Everything else (device, seeding, optimizer, schedule,
early stopping, time cap, checkpoints, resume, bf16, gradient clipping, data parallelism) is
the recipe's, written once for all tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from lstmkit.config import RunConfig

if TYPE_CHECKING:                  # the contract is read without torch (the command line's help)
    import torch
    from torch import nn

    from lstmkit.training.distributed import Rank
    from lstmkit.training.trainer import Hook, StepResult

# Shared fields (section.field) that every task reads.
COMMON_USES = frozenset({
    "data.path", "model.cell", "model.backend", "model.hidden_size", "model.num_layers", "model.dropout",
    *(f"train.{name}" for name in ("epochs", "batch_size", "lr", "optimizer", "clip_norm", "seed", "device",
                                   "max_minutes", "patience", "weight_decay", "bf16", "lr_schedule", "lr_decay",
                                   "decay_start", "diverge_factor")),
})


@dataclass(frozen=True)
class Flag:
    """A command-line flag of ``lstmkit train TASK`` that sets one config field."""

    flag: str                          # e.g. --hidden-size
    key: str                           # e.g. model.hidden_size
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Option:
    """A flag that sets no config field: of ``lstmkit train TASK``, what the command does after
    training (``--save-vectors``, ``--gen-length``; its value reaches :meth:`Task.report`); of
    ``lstmkit predict`` and ``lstmkit eval``, an option of the task's run (``--invert``), passed
    to its ``predict_lines`` or ``evaluate`` by :attr:`dest`."""

    flag: str                          # e.g. --gen-length
    help: str
    type: type | None = None           # None: a switch (present or not)
    default: Any = None
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


def _single_process() -> Rank:
    from lstmkit.training.distributed import Rank

    return Rank()


@dataclass
class Context:
    """What a task's step and evaluation need from the recipe."""

    cfg: RunConfig
    device: torch.device
    rank: Rank = field(default_factory=_single_process)
    autocast: Callable[[], AbstractContextManager] = nullcontext   # bf16 where asked for
    generator: torch.Generator | None = None                       # the data order's random source


@dataclass(frozen=True)
class Headline:
    """The metric that chose the best epoch, as the summary line shows it."""

    key: str          # e.g. valid_acc
    label: str        # e.g. "valid accuracy"
    percent: bool = False

    def format(self, value: float) -> str:
        return f"{100 * value:.2f}%" if self.percent else f"{value:.4g}"


class Defaults:
    """A task's default config, built when first read: ``RunConfig(task=name, **sections)``.

    A task added from outside writes ``defaults = Defaults(model=ModelConfig(hidden_size=16))``
    in its class body, which runs before the registry knows the task (a ``RunConfig`` for it
    could not be built there yet).
    """

    def __init__(self, **sections: Any) -> None:
        self.sections = sections

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = f"_built_{name}"

    def __get__(self, obj: Any, owner: type) -> RunConfig:
        built = owner.__dict__.get(self.attribute)
        if built is None:
            built = RunConfig(task=owner.name, **self.sections)
            setattr(owner, self.attribute, built)
        return built


class Task:
    """What every task is; a task's ``task.py`` subclasses it, filling in the class attributes
    (read without torch by the command line) and the methods (which import what they need)."""

    name: str = ""
    help: str = ""                    # one line for ``lstmkit train --help``
    data_help: str = ""               # what --data takes: dataset names and PATH, joined by |
    data_aliases: tuple[str, ...] = ()  # other spellings the task's loader takes
    section: type | None = None       # its config section ([name]); the registry's entry may name it instead
    defaults: RunConfig = Defaults()  # the task's default config (unset: RunConfig(task=name))
    uses: frozenset[str] = COMMON_USES
    monitor: str = "valid_loss"       # lower is better; picks the best epoch, drives early stopping
    monitor_label: str = "lowest valid loss"
    headline: Headline = Headline("valid_loss", "lowest valid loss")
    log_keys: tuple[str, ...] = ("train_loss", "valid_loss")
    plot: tuple[str, tuple[str, ...], str, bool] | None = None   # file, keys, y label, log scale
    perplexity: bool = False          # report train_ppl (language models)
    needs_data: bool = True           # train refuses to start without data.path
    flags: tuple[Flag, ...] = ()      # task flags of ``lstmkit train TASK`` besides the common ones
    run_class: str = ""               # "module:Class" of the loaded run (a lstmkit.tasks.run.Run)
    options: tuple[Option, ...] = ()  # flags of ``lstmkit train TASK`` for after training
    predict_flags: tuple[Option, ...] = ()  # flags of ``lstmkit predict`` that its runs read
    eval_flags: tuple[Option, ...] = ()     # flags of ``lstmkit eval`` that its runs read
    eval_data_help: str = ""          # what ``lstmkit eval --data`` takes for its runs
    export_module: str = ""           # the module whose export_spec builds the task's graph (lstmkit export)
    export_length: bool = True        # the graph's time length is chosen at export (--length)
    memory_help: str = "a path"       # what else lstmkit.train(data=...) takes for the task, for messages
    text_hint: str = ""               # said after "--data X is neither a file nor a dataset" when X has a space

    # --- data and model ------------------------------------------------------------------
    def prepare(self, cfg: RunConfig, download: bool) -> Any:
        raise NotImplementedError

    def build(self, cfg: RunConfig, data: Any) -> nn.Module:
        raise NotImplementedError

    def save_assets(self, run_dir: Path, cfg: RunConfig, data: Any) -> None:
        """Files besides weights and config that loading needs (vocabularies, labels, scaler)."""

    def check_resume(self, run_dir: Path, data: Any) -> None:
        """Raise if ``data`` no longer matches what the run was trained with."""

    # --- training ------------------------------------------------------------------------
    def batches(self, ctx: Context, data: Any, epoch: int) -> Iterable[Any]:
        raise NotImplementedError

    def num_batches(self, ctx: Context, data: Any) -> int | None:
        return None

    def shard(self, batch: Any, rank: Rank) -> Any:
        """This process's rows of a global batch (data-parallel), or None if it has none."""
        raise NotImplementedError(f"task {self.name} cannot be trained data-parallel")

    def step(self, model: nn.Module, ctx: Context, batch: Any, state: Any) -> StepResult:
        raise NotImplementedError

    def validate(self, model: nn.Module, ctx: Context, data: Any) -> dict[str, float]:
        return {}

    def hooks(self, model: nn.Module, optimizer: torch.optim.Optimizer, ctx: Context) -> list[Hook]:
        """Task-specific hooks (NT-ASGD for language models)."""
        return []

    def weights_for_eval(self) -> AbstractContextManager:
        """The weights validation and checkpoints use (averaged ones under NT-ASGD)."""
        return nullcontext()

    # --- after training ------------------------------------------------------------------
    def finish(self, model: nn.Module, ctx: Context, data: Any, run_dir: Path) -> dict[str, Any] | None:
        """Score the best model on the test part; write eval.json (and plots)."""
        return None

    def load(self, run_dir: str | Path, device: str = "cpu") -> Any:
        """The trained run, ready to predict: the task's :class:`lstmkit.tasks.run.Run`
        (``run_class``, named by path: the run's module imports the task's, not back)."""
        from lstmkit import registry

        if not isinstance(self.run_class, str) or self.run_class.count(":") != 1:
            from lstmkit.errors import ConfigError

            raise ConfigError(f"task {self.name!r} has no loaded-run class: set its run_class to 'module:Class' (a "
                              f"lstmkit.tasks.run.Run), got {self.run_class!r}")
        return registry.resolve(self.run_class, f"run class of task {self.name!r}")(run_dir, device)

    # --- the command line ------------------------------------------------------------------
    def check_options(self, run_dir: Path, cfg: RunConfig, options: dict[str, Any]) -> None:
        """Refuse, before training, options (:attr:`options`, by dest) that could not be carried out."""

    def report(self, fitted: Any, options: dict[str, Any]) -> list[str]:
        """The lines ``lstmkit train`` prints after the summary: the test score and a pointer
        to the full report (a task adds its own: perplexity and a sample, forecast errors)."""
        import shlex

        from lstmkit.boundary import printable

        test = fitted.test or {}
        if "accuracy" not in test:
            return []
        return [f"test accuracy {100 * test['accuracy']:.2f}% "
                f"(report: lstmkit eval {printable(shlex.quote(str(fitted.run_dir)))})"]

    def memory_part(self, arg: str, value: Any) -> Any | None:
        """``value`` of ``lstmkit.train``'s argument ``arg`` checked as data in memory (rows,
        sentences, columns, text), or None where it is a name or a path.

        Raises:
            ArgumentError: naming ``arg``, for data in memory the task cannot read.
        """
        return None

    def data_keys(self, paths: dict[str, str], folder: Path) -> dict[str, str]:
        """The ``data.*`` settings for the parts of ``lstmkit.train`` (``path``, ``valid_path``,
        ``test_path``: names, paths, or files written in ``folder``)."""
        return paths

    def export_spec(self, run_dir: Path, cfg: RunConfig, length: int | None, fmt: str) -> Any:
        """The run's exportable module (an :class:`lstmkit.nn.exportable.ExportSpec`) for ``fmt``,
        with ``length`` steps where the task's graph takes one.

        Raises:
            ConfigError: for a task without export, or a length it does not take.
        """
        from lstmkit.errors import ConfigError

        if not self.export_module:
            raise ConfigError(f"export of {self.name} runs is not supported")
        if length is not None and not self.export_length:
            raise ConfigError(f"--length does not apply to a {self.name} run: its graph takes the length its model "
                              "was built for; leave --length out")
        import importlib

        return importlib.import_module(self.export_module).export_spec(run_dir, cfg, length, fmt)

    def write_part(self, value: Any, folder: Path, name: str) -> Path:
        """Data given in memory to ``lstmkit.train`` (checked at the boundary), as a file in
        ``folder`` that the task's readers take; returns its path."""
        from lstmkit.errors import DataError

        raise DataError(f"task {self.name} takes its data as a name or a path, not {type(value).__name__}")


def shard_rows(rank: Rank, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
    """Rows ``rank::world`` of each tensor (dim 0), or None when this rank gets none."""
    import torch

    rows = rank.slice(list(range(tensors[0].size(0))))
    if not rows:
        return None
    index = torch.tensor(rows)
    return tuple(t.index_select(0, index) for t in tensors)
