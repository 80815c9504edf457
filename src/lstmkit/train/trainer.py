"""The trainer: a short loop that emits events; hooks do the rest (STYLE.md section 8)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from lstmkit.train.metrics import perplexity

logger = logging.getLogger(__name__)

# A step turns one batch into (mean loss, number of items it averages over) and optionally a
# third value, the number of tokens the batch fed (for tokens/s when items are not tokens).
# The loss may be a pair (objective to minimise, loss to report) when the objective carries
# penalties (AR/TAR) that the reported loss and perplexity must leave out.
StepFn = Callable[[Any], tuple]


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


class Trainer:
    """Runs epochs of (forward, backward, clip, step) and reports metrics to hooks.

    Args:
        model: the module being trained.
        optimizer: its optimizer.
        clip_norm: clip the global gradient norm to this (0 = off).
        hooks: event handlers, called in order.
        progress: show a tqdm progress bar per epoch.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> data = [(torch.ones(4, 2), torch.zeros(4, 1))]
        >>> step = lambda b: (nn.functional.mse_loss(model(b[0]), b[1]), 4)
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
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.clip_norm = clip_norm
        self.hooks = list(hooks)
        self.progress = progress
        self.state = TrainerState()

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
            batches: the batches of epoch ``e`` (called once per epoch).
            step: loss of one batch; see :data:`StepFn`.
            evaluate: validation metrics, run in eval mode without gradients.
            batches_per_epoch: length of the progress bar.
            start_epoch, history: where a resumed run goes on from.
        """
        self.state = TrainerState(history=list(history or []))
        if history:                                   # elapsed time goes on from the saved run
            self.state.started -= history[-1].get("elapsed_s", 0.0)
        self._emit("on_fit_start")
        for epoch in range(start_epoch, epochs + 1):
            self.state.epoch = epoch
            metrics = self._train_epoch(batches(epoch), step, batches_per_epoch)
            if evaluate is not None:
                self.model.eval()
                with torch.no_grad():
                    metrics.update(evaluate())
            metrics["elapsed_s"] = time.perf_counter() - self.state.started
            self.state.metrics = metrics
            self.state.history.append(metrics)
            self._emit("on_epoch_end")
            if self.state.should_stop:
                break
        self._emit("on_fit_end")
        return self.state

    def _train_epoch(self, batches: Iterable[Any], step: StepFn, total: int | None) -> dict[str, float]:
        self.model.train()
        loss_sum, items, tokens, start = 0.0, 0, 0, time.perf_counter()
        bar = tqdm(batches, total=total, desc=f"epoch {self.state.epoch}", disable=not self.progress,
                   leave=False, unit="batch")
        for batch in bar:
            loss, count, *fed = step(batch)
            objective, loss = loss if isinstance(loss, tuple) else (loss, loss)
            self.optimizer.zero_grad(set_to_none=True)
            objective.backward()
            if self.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
            self.optimizer.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the loss became {value} at epoch {self.state.epoch}, step {self.state.step}; "
                    "lower the learning rate or clip gradients (train.clip_norm)"
                )
            loss_sum, items, tokens = loss_sum + value * count, items + count, tokens + (fed[0] if fed else count)
            self.state.step += 1
            bar.set_postfix(loss=f"{value:.3f}")
            self._emit("on_step_end", value, count)
            if self.state.should_stop:               # a hook ended training mid-epoch
                break
        seconds = time.perf_counter() - start
        if items == 0:
            raise ValueError("an epoch produced no batches; the data is shorter than one batch "
                             "(lower train.batch_size or train.num_steps)")
        mean = loss_sum / items
        return {"epoch": self.state.epoch, "train_loss": mean, "train_ppl": perplexity(mean),
                "tokens_per_s": tokens / seconds, "epoch_s": seconds}
