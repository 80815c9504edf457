"""Hooks for the trainer: metrics files, plots, checkpoints, stopping rules, logging."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lstmkit.training.checkpoint import save_metrics
from lstmkit.training.plots import plot_history
from lstmkit.training.trainer import Hook, Trainer

logger = logging.getLogger(__name__)


class MetricsFile(Hook):
    """Rewrite ``metrics.json`` in the run directory after every epoch."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, trainer: Trainer) -> None:
        save_metrics(self.run_dir, trainer.state.history)


class PlotMetrics(Hook):
    """Redraw a PNG of some metrics after every epoch (the tutorial's live plot)."""

    def __init__(self, path: str | Path, keys: Sequence[str], ylabel: str, log_y: bool = False) -> None:
        self.path, self.keys, self.ylabel, self.log_y = Path(path), list(keys), ylabel, log_y

    def on_epoch_end(self, trainer: Trainer) -> None:
        plot_history(trainer.state.history, self.keys, self.path, self.ylabel, self.log_y)


class SaveBest(Hook):
    """Call ``save`` when the monitored metric improves (lower is better)."""

    def __init__(self, save: Callable[[], None], monitor: str) -> None:
        self.save, self.monitor, self.best = save, monitor, math.inf

    def on_fit_start(self, trainer: Trainer) -> None:
        self.best = min((m[self.monitor] for m in trainer.state.history), default=math.inf)

    def on_epoch_end(self, trainer: Trainer) -> None:
        score = trainer.state.metrics[self.monitor]
        if score < self.best:
            self.best = score
            self.save()


class EarlyStopping(Hook):
    """Stop when the monitored metric has not improved for ``patience`` epochs."""

    def __init__(self, monitor: str, patience: int) -> None:
        self.monitor, self.patience, self.best, self.wait = monitor, patience, math.inf, 0

    def on_fit_start(self, trainer: Trainer) -> None:
        self.best, self.wait = math.inf, 0
        for metrics in trainer.state.history:             # a resumed run picks up its count
            score = metrics[self.monitor]
            self.best, self.wait = (score, 0) if score < self.best else (self.best, self.wait + 1)

    def on_epoch_end(self, trainer: Trainer) -> None:
        score = trainer.state.metrics[self.monitor]
        if score < self.best:
            self.best, self.wait = score, 0
        else:
            self.wait += 1
        trainer.state.should_stop = trainer.state.should_stop or self.wait >= self.patience


class TimeBudget(Hook):
    """A hard cap on training time: stop at the first step past ``minutes`` (counted over a
    resumed run's earlier epochs too). The partial epoch is still validated and may be kept."""

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60

    def _check(self, trainer: Trainer, where: str) -> None:
        if not trainer.state.should_stop and time.perf_counter() - trainer.state.started >= self.seconds:
            logger.info("time budget of %.1f min reached %s; stopping", self.seconds / 60, where)
            trainer.state.should_stop = True

    def on_step_end(self, trainer: Trainer, loss: float, num_tokens: int) -> None:
        self._check(trainer, f"during epoch {trainer.state.epoch}")

    def on_epoch_end(self, trainer: Trainer) -> None:
        self._check(trainer, f"after epoch {trainer.state.epoch}")


class LogEpoch(Hook):
    """Log one line per epoch with the chosen metrics."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)

    def on_epoch_end(self, trainer: Trainer) -> None:
        m = trainer.state.metrics
        parts = [f"{k} {m[k]:.4g}" if k != "tokens_per_s" else f"{k} {m[k]:,.0f}" for k in self.keys if k in m]
        logger.info("epoch %d: %s (%.1fs)", trainer.state.epoch, ", ".join(parts), m.get("epoch_s", 0.0))
