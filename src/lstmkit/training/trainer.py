"""The trainer: a short loop that emits events; hooks do the rest (STYLE.md section 8)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lstmkit.errors import LstmkitError
from lstmkit.training.metrics import perplexity

logger = logging.getLogger(__name__)



@dataclass
class StepResult:
    """What a step returns: the contract every task's step keeps.

    ``step(batch, state) -> StepResult``. ``state`` is what the previous step of the same epoch
    returned in ``StepResult.state``, detached from its graph by the trainer (truncated BPTT),
    and ``None`` at the start of every epoch; stateless tasks ignore it and return ``None``.
    """

    loss: Tensor                      # the mean loss over ``count`` items, as reported
    count: int                        # items the mean is over (rows, tokens, tagged words)
    tokens: int | None = None         # items fed, for tokens/s (default: ``count``)
    objective: Tensor | None = None   # what to minimise when it adds penalties (AR/TAR); else loss
    state: Any = None                 # recurrent state to carry to the next step (stateful tasks)


StepFn = Callable[[Any, Any], StepResult]


def detach_tree(value: Any) -> Any:
    """Tensors in nested tuples/lists, detached (the cut of truncated BPTT)."""
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (tuple, list)):
        return type(value)(detach_tree(v) for v in value)
    return value


class DivergenceError(LstmkitError):
    """The training loss exploded; the run directory keeps the last good epoch."""


@dataclass
class TrainerState:
    epoch: int = 0
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)   # the latest epoch's
    history: list[dict[str, float]] = field(default_factory=list)
    should_stop: bool = False
    started: float = field(default_factory=time.perf_counter)


class Hook:
    """Override the events you need; each gets the trainer."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_step_end(self, trainer: Trainer, loss: float, num_tokens: int) -> None: ...
    def on_epoch_end(self, trainer: Trainer) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...

    def get_state(self) -> tuple[dict[str, Any], dict[str, Tensor]]:
        """What ``--resume`` must restore: JSON-able values and tensors (none by default)."""
        return {}, {}

    def set_state(self, values: dict[str, Any], tensors: dict[str, Tensor]) -> None: ...


class Trainer:
    """Runs epochs of (forward, backward, clip, step) and reports metrics to hooks.

    Args:
        model: the module being trained.
        optimizer: its optimizer.
        clip_norm: clip the global gradient norm to this (0 = off).
        hooks: event handlers, called in order.
        progress: show a tqdm progress bar per epoch.
        gradient_sync: data-parallel training: called after each backward with the step's item
            count; it averages the gradients over the processes
            (:func:`lstmkit.training.distributed.average_gradients`). The step's objective is then
            scaled by its count, so the average is the global batch's mean loss.
        diverge_factor: stop when the smoothed step loss exceeds this many times the loss of the
            first step, taken before any update (0 = only on a non-finite loss).

    Example:
        >>> model = nn.Linear(2, 1)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> data = [(torch.ones(4, 2), torch.zeros(4, 1))]
        >>> step = lambda b, state: StepResult(nn.functional.mse_loss(model(b[0]), b[1]), 4)
        >>> state = Trainer(model, opt).fit(2, lambda epoch: data, step)
        >>> len(state.history), state.history[-1]["train_loss"] < state.history[0]["train_loss"]
        (2, True)
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        clip_norm: float = 0.0,
        hooks: Sequence[Hook] = (),
        progress: bool = False,
        gradient_sync: Callable[[int], None] | None = None,
        diverge_factor: float = 0.0,
        perplexity: bool = False,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.clip_norm = clip_norm
        self.hooks = list(hooks)
        self.progress = progress
        self.gradient_sync = gradient_sync
        self.diverge_factor = diverge_factor
        self.perplexity = perplexity                   # report train_ppl (language models)
        self.state = TrainerState()
        self._reference: float | None = None          # loss level of the first steps
        self._smoothed: float | None = None

    def _emit(self, event: str, *args: Any) -> None:
        for hook in self.hooks:
            getattr(hook, event)(self, *args)

    def fit(
        self,
        epochs: int,
        batches: Callable[[int], Iterable[Any]],
        step: StepFn,
        evaluate: Callable[[], dict[str, float]] | None = None,
        batches_per_epoch: int | None = None,
        start_epoch: int = 1,
        history: list[dict[str, float]] | None = None,
    ) -> TrainerState:
        """Train for ``epochs`` epochs (or until a hook sets ``should_stop``).

        Args:
            batches: the batches of epoch ``e`` (called once per epoch); ``None`` stands for a
                batch with no rows for this process (data-parallel), which still joins the
                gradient average.
            step: loss of one batch; see :class:`StepResult`.
            evaluate: validation metrics, run in eval mode without gradients.
            batches_per_epoch: length of the progress bar.
            start_epoch, history: where a resumed run goes on from.

        Raises:
            DivergenceError: when the loss becomes non-finite or explodes.
        """
        self.state = TrainerState(history=list(history or []))
        self._reference = history[0]["train_loss"] if history else None
        self._smoothed = None
        if history:                                   # elapsed time goes on from the saved run
            self.state.started -= history[-1].get("elapsed_s", 0.0)
            self.state.step = int(history[-1].get("steps", 0))
        self._emit("on_fit_start")
        for epoch in range(start_epoch, epochs + 1):
            self.state.epoch = epoch
            metrics = self._train_epoch(batches(epoch), step, batches_per_epoch)
            if evaluate is not None:
                self.model.eval()
                with torch.no_grad():
                    metrics.update(evaluate())
            for key, value in metrics.items():
                if isinstance(value, float) and not math.isfinite(value) and key.startswith("valid"):
                    raise DivergenceError(f"{key} became {value} at epoch {epoch}; the model diverged. "
                                          "Lower train.lr (or clip gradients with train.clip_norm)")
            metrics["elapsed_s"] = time.perf_counter() - self.state.started
            metrics["steps"] = self.state.step
            self.state.metrics = metrics
            self.state.history.append(metrics)
            self._emit("on_epoch_end")
            if self.state.should_stop:
                break
        self._emit("on_fit_end")
        return self.state

    def _check_divergence(self, value: float) -> None:
        where = f"epoch {self.state.epoch}, step {self.state.step}"
        fix = "lower train.lr (it is the usual cause) or clip gradients harder (train.clip_norm)"
        if not math.isfinite(value):
            raise DivergenceError(f"the training loss became {value} at {where}; {fix}")
        self._smoothed = value if self._smoothed is None else 0.9 * self._smoothed + 0.1 * value
        if self._reference is None:                   # the loss before any update: the starting level
            self._reference = value
            return
        if self.diverge_factor > 0 and self._smoothed > self.diverge_factor * max(self._reference, 1e-8):
            raise DivergenceError(
                f"the training loss exploded at {where}: {self._smoothed:.4g} (smoothed), over "
                f"{self.diverge_factor:g}x its starting level {self._reference:.4g}; {fix}. "
                "The run directory keeps the best epoch before it")

    def _train_epoch(self, batches: Iterable[Any], step: StepFn, total: int | None) -> dict[str, float]:
        self.model.train()
        loss_sum, items, tokens, start = 0.0, 0, 0, time.perf_counter()
        carried: Any = None                           # a new stream every epoch
        bar = tqdm(batches, total=total, desc=f"epoch {self.state.epoch}", disable=not self.progress,
                   leave=False, unit="batch")
        for batch in bar:
            self.optimizer.zero_grad(set_to_none=True)
            count, value = 0, 0.0
            if batch is not None:
                result = step(batch, carried)
                carried = detach_tree(result.state)
                objective = result.objective if result.objective is not None else result.loss
                count = result.count
                if self.gradient_sync is not None:    # the local sum; the sync divides by the global count
                    objective = objective * count
                objective.backward()
                value = float(result.loss.detach())
                self._check_divergence(value)
                loss_sum, items = loss_sum + value * count, items + count
                tokens += result.tokens if result.tokens is not None else count
            if self.gradient_sync is not None:
                self.gradient_sync(count)
            if self.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
            self.optimizer.step()
            self.state.step += 1
            bar.set_postfix(loss=f"{value:.3f}")
            self._emit("on_step_end", value, count)
            if self.state.should_stop:               # a hook ended training mid-epoch
                break
        seconds = time.perf_counter() - start
        if items == 0:
            raise LstmkitError("an epoch produced no batches; the data is shorter than one batch "
                               "(lower train.batch_size, or lm.num_steps for a language model)")
        mean = loss_sum / items
        metrics = {"epoch": self.state.epoch, "train_loss": mean, "tokens_per_s": tokens / seconds,
                   "epoch_s": seconds}
        if self.perplexity:
            metrics["train_ppl"] = perplexity(mean)
        return metrics
