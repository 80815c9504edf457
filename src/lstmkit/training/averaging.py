"""Non-monotonically triggered averaged SGD (NT-ASGD, Merity et al. 2018).

Train with SGD; once the validation loss is worse than the best of the epochs before the last
``nonmono`` ones, keep a running average of the weights after every step from then on.
Evaluation and the saved checkpoint use the average (``swapped()``); training goes on with the
raw weights. This is what ``torch.optim.ASGD(t0=0, lambd=0)`` computes once switched on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from lstmkit.training.trainer import Hook, Trainer

logger = logging.getLogger(__name__)


class WeightAverager(Hook):
    """Running mean of the parameters once triggered.

    Example:
        >>> model = nn.Linear(1, 1, bias=False)
        >>> avg = WeightAverager(model, nonmono=0)
        >>> _ = model.weight.data.fill_(1.0); avg.start()       # the average starts here
        >>> _ = model.weight.data.fill_(3.0); avg.update()      # after one more step
        >>> with avg.swapped():
        ...     model.weight.item()
        2.0
        >>> model.weight.item()
        3.0
    """

    def __init__(self, model: nn.Module, nonmono: int = 5, monitor: str = "valid_loss") -> None:
        self.model, self.nonmono, self.monitor = model, nonmono, monitor
        self.average: list[torch.Tensor] | None = None
        self.count = 0
        self.started_epoch: int | None = None

    @property
    def active(self) -> bool:
        return self.average is not None

    def start(self) -> None:
        self.average = [p.detach().clone() for p in self.model.parameters()]
        self.count = 1

    @torch.no_grad()
    def update(self) -> None:
        if self.average is None:
            return
        self.count += 1
        for avg, p in zip(self.average, self.model.parameters()):
            avg.add_(p.detach() - avg, alpha=1.0 / self.count)

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """Inside the block the model holds the averaged weights (no-op before the trigger)."""
        if self.average is None:
            yield
            return
        params = list(self.model.parameters())
        saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p, avg in zip(params, self.average):
                p.copy_(avg)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, raw in zip(params, saved):
                    p.copy_(raw)

    def get_state(self) -> tuple[dict, dict]:
        tensors = {f"average.{i}": a.detach().cpu().contiguous() for i, a in enumerate(self.average or [])}
        return {"count": self.count, "started_epoch": self.started_epoch, "active": self.active}, tensors

    def set_state(self, values: dict, tensors: dict) -> None:
        self.count, self.started_epoch = values["count"], values["started_epoch"]
        if values["active"]:
            params = list(self.model.parameters())
            self.average = [tensors[f"average.{i}"].to(p.device) for i, p in enumerate(params)]

    def on_step_end(self, trainer: Trainer, loss: float, num_tokens: int) -> None:
        self.update()

    def on_epoch_end(self, trainer: Trainer) -> None:
        trainer.state.metrics["averaging"] = float(self.active)
        scores = [m[self.monitor] for m in trainer.state.history if self.monitor in m]
        earlier = scores[:-1]
        if self.active or len(earlier) <= self.nonmono:
            return
        if scores[-1] > min(earlier[: len(earlier) - self.nonmono]):   # AWD-LSTM's trigger
            self.start()
            self.started_epoch = trainer.state.epoch
            logger.info("NT-ASGD: %s stopped improving; averaging the weights from epoch %d on",
                        self.monitor, trainer.state.epoch + 1)
