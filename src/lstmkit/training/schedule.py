"""Learning-rate schedules, applied between epochs by a trainer hook."""

from __future__ import annotations

import logging
import math

import torch

from lstmkit.training.trainer import Hook, Trainer

logger = logging.getLogger(__name__)


def scheduled_lr(kind: str, lr: float, epoch: int, epochs: int, decay: float = 0.5, decay_start: int = 0) -> float:
    """The learning rate of ``epoch`` (1-based) for the fixed schedules.

    ``step``: ``lr`` for the first ``decay_start`` epochs, then multiplied by ``decay`` every
    epoch (Zaremba et al. 2014: small model lr 1, decay_start 4, decay 0.5). ``cosine``: from
    ``lr`` at epoch 1 down to ``lr / epochs`` at the last epoch. ``none`` and ``plateau``
    (which reacts to validation loss) start from ``lr``.

    Example:
        >>> [scheduled_lr("step", 1.0, e, 13, 0.5, 4) for e in (1, 4, 5, 6)]
        [1.0, 1.0, 0.5, 0.25]
    """
    if kind == "step":
        return lr * decay ** max(0, epoch - decay_start)
    if kind == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / max(1, epochs)))
    return lr


class LRSchedule(Hook):
    """Set the optimizer's learning rate before each epoch; ``plateau`` multiplies it by
    ``decay`` after an epoch whose ``monitor`` did not improve on the best so far."""

    def __init__(self, optimizer: torch.optim.Optimizer, kind: str, lr: float, epochs: int,
                 decay: float = 0.5, decay_start: int = 0, monitor: str = "valid_loss") -> None:
        self.optimizer, self.kind, self.lr, self.epochs = optimizer, kind, lr, epochs
        self.decay, self.decay_start, self.monitor = decay, decay_start, monitor
        self.current, self.best = lr, math.inf

    def _set(self, lr: float) -> None:
        self.current = lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def on_fit_start(self, trainer: Trainer) -> None:
        if not trainer.state.history:                 # a resumed run restored its rate (set_state)
            self._set(scheduled_lr(self.kind, self.lr, 1, self.epochs, self.decay, self.decay_start))

    def get_state(self) -> tuple[dict, dict]:
        return {"current": self.current, "best": self.best if math.isfinite(self.best) else None}, {}

    def set_state(self, values: dict, tensors: dict) -> None:
        self.best = math.inf if values.get("best") is None else values["best"]
        self._set(values["current"])

    def on_epoch_end(self, trainer: Trainer) -> None:
        metrics = trainer.state.metrics
        metrics["lr"] = self.current
        if self.kind == "plateau":
            score = metrics.get(self.monitor, metrics["train_loss"])
            if score < self.best:
                self.best = score
            else:
                self._set(self.current * self.decay)
                logger.info("no improvement in %s; learning rate now %.4g", self.monitor, self.current)
        else:
            next_epoch = trainer.state.epoch + 1
            self._set(scheduled_lr(self.kind, self.lr, next_epoch, self.epochs, self.decay, self.decay_start))
