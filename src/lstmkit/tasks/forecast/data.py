"""The forecaster's data, in its two kinds, each of which says how it is trained on.

:class:`ForecastData`: windows cut from a CSV (ETTh1 or any table), scaled by the training
rows; independent windows in shuffled batches. :class:`SineStream`: the tutorial's one long
sin(t) -> cos(t) stream, read window after window with the state carried along. The task asks
its data (``build``, ``batches``, ``step``, ``validate``, ``finish``) and never which kind it is.

Legend: B batch, L input length, H horizon, F_in/F_out features, N steps of the stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import RunConfig
from lstmkit.data.datasets.timeseries import (
    Borders, Scaler, Series, fraction_borders, informer_borders, locate_ett, read_csv_series, sine_series, windows,
)
from lstmkit.errors import ConfigError, DataError
from lstmkit.tasks.forecast.options import ForecastOptions

if TYPE_CHECKING:
    from lstmkit.training.distributed import Rank
    from lstmkit.training.task import Context
    from lstmkit.training.trainer import StepResult

logger = logging.getLogger(__name__)


@dataclass
class ForecastData:
    series: Series
    inputs: list[str]
    targets: list[str]
    borders: Borders
    scaler: Scaler                     # over the input columns, training rows only
    y_scaler: Scaler                   # over the target columns, training rows only
    target_index: list[int] | None     # positions of the targets among the inputs, if all are
    parts: dict[str, tuple[Tensor, Tensor]] = field(default_factory=dict)   # scaled (x, y) windows

    def describe(self) -> str:
        train, valid, test = (len(self.parts[p][0]) for p in ("train", "valid", "test"))
        return (f"{self.series.source}: {len(self.inputs)} inputs -> {len(self.targets)} targets, windows train "
                f"{train} / valid {valid} / test {test}")

    def build(self, cfg: RunConfig) -> nn.Module:
        from lstmkit.tasks.forecast.model import Forecaster

        return Forecaster(len(self.inputs), len(self.targets), cfg.forecast.horizon, cfg.model, cfg.forecast,
                          self.target_index)

    def save_assets(self, run_dir: Path) -> None:
        from lstmkit.tasks.forecast.model import save_scaler

        save_scaler(run_dir, self)

    def batches(self, ctx: Context) -> Any:
        from lstmkit.data.batching import shuffled_batches

        x, y = self.parts["train"]
        return shuffled_batches(x, y, ctx.cfg.train.batch_size, ctx.generator)

    def shard(self, batch: Any, rank: Rank) -> Any:
        from lstmkit.training.task import shard_rows

        return shard_rows(rank, *batch)                 # windows are independent: any rank takes any

    def step(self, model: nn.Module, ctx: Context, batch: Any, state: Any) -> StepResult:
        from lstmkit.training.trainer import StepResult

        x, y = (b.to(ctx.device) for b in batch)
        with ctx.autocast():
            pred = model(x)                                              # (B, H, F_out)
        return StepResult(F.mse_loss(pred.float(), y), len(x), x.size(0) * x.size(1))

    def validate(self, model: nn.Module, ctx: Context) -> dict[str, float]:
        from lstmkit.tasks.forecast.model import errors, predict_windows

        x, y = self.parts["valid"]
        return {f"valid_{k}": v for k, v in errors(predict_windows(model, x), y).items()}

    def finish(self, model: nn.Module, ctx: Context, run_dir: Path) -> dict[str, Any]:
        from lstmkit.tasks.forecast.model import score

        return score(model, self, run_dir, ctx.cfg.forecast.plot_steps)


@dataclass
class SineStream:
    """The tutorial's one long stream: sin(t) in, cos(t) out; 70/10/20 cut points. Trained window
    after window (forecast.input_len steps) with the state carried from one to the next."""

    x: Tensor                  # (N, 1)
    y: Tensor                  # (N, 1)
    cuts: tuple[int, int]      # end of train, end of valid

    @classmethod
    def load(cls) -> SineStream:
        series = sine_series()
        n = len(series.values)
        return cls(series.values[:, :1], series.values[:, 1:], (int(n * 0.7), int(n * 0.8)))

    def describe(self) -> str:
        return f"sine stream: {len(self.x)} steps, train {self.cuts[0]} / valid {self.cuts[1] - self.cuts[0]}"

    def build(self, cfg: RunConfig) -> nn.Module:
        from lstmkit.tasks.forecast.model import StreamRegressor

        return StreamRegressor(1, 1, cfg.model)

    def save_assets(self, run_dir: Path) -> None:
        """Nothing besides the weights: the stream is not scaled."""

    def batches(self, ctx: Context) -> Any:
        size, end = ctx.cfg.forecast.input_len, self.cuts[0]
        return ((self.x[None, i : min(i + size, end)], self.y[None, i : min(i + size, end)])   # (1, L, 1) each
                for i in range(0, end, size))

    def shard(self, batch: Any, rank: Rank) -> Any:
        raise ConfigError("the stateful sine task is one stream; it cannot be split across processes")

    def step(self, model: nn.Module, ctx: Context, batch: Any, state: Any) -> StepResult:
        from lstmkit.training.trainer import StepResult

        x, y = (b.to(ctx.device) for b in batch)
        with ctx.autocast():
            pred, new_state = model(x, state)                            # (1, L, 1): the state goes on
        return StepResult(F.mse_loss(pred.float(), y), x.size(1), state=new_state)

    def validate(self, model: nn.Module, ctx: Context) -> dict[str, float]:
        from lstmkit.tasks.forecast.model import run_stream

        pred = run_stream(model, self.x[: self.cuts[1]], ctx.device)
        return {"valid_mse": float(F.mse_loss(pred[self.cuts[0] :], self.y[self.cuts[0] : self.cuts[1]]))}

    def finish(self, model: nn.Module, ctx: Context, run_dir: Path) -> dict[str, Any]:
        from lstmkit.tasks.forecast.model import plot_forecast, run_stream

        pred, cut = run_stream(model, self.x, ctx.device), self.cuts[1]
        plot_forecast(pred[cut:], self.y[cut:], "cos(t)", run_dir / "forecast.png", ctx.cfg.forecast.plot_steps)
        return {"mse": float(F.mse_loss(pred[cut:], self.y[cut:])), "mae": float(F.l1_loss(pred[cut:], self.y[cut:])),
                "steps": len(self.x) - cut}


def load_series(path: str, fc: ForecastOptions, download: bool = False) -> Series:
    if path == "sine":
        return sine_series()
    if path in ("ett-h1", "etth1"):
        path = str(locate_ett(download))
    columns = list(dict.fromkeys(fc.input_columns() + fc.target_columns())) or None
    return read_csv_series(path, columns, fc.date_column)


def prepare(path: str, fc: ForecastOptions, download: bool = False) -> ForecastData:
    """Read, split by time, scale by the training part, and cut windows for each part.

    Raises:
        DataError: for missing columns, non-numeric cells, or too few rows for a window.
    """
    series = load_series(path, fc, download)
    if path == "sine":
        inputs, targets = ["sin"], ["cos"]
    else:
        inputs = fc.input_columns() or series.columns
        targets = fc.target_columns() or inputs
    split = fc.split if fc.split != "auto" else ("informer" if path in ("ett-h1", "etth1") else "fraction")
    n = series.values.size(0)
    borders = informer_borders(fc.input_len) if split == "informer" else fraction_borders(n, fc.input_len)
    if borders.test[1] > n:
        raise DataError(f"the Informer split needs {borders.test[1]} rows, the series has {n}; use forecast.split=fraction")
    col = {c: i for i, c in enumerate(series.columns)}
    x_all = series.values[:, [col[c] for c in inputs]]                              # (N, F_in)
    y_all = series.values[:, [col[c] for c in targets]]                             # (N, F_out)
    scaler = Scaler.fit(x_all[borders.train[0] : borders.train[1]], inputs)     # warns of constant columns
    y_scaler = Scaler.fit(y_all[borders.train[0] : borders.train[1]],
                          None if all(t in inputs for t in targets) else targets)   # (warned of already)
    after = borders.train[1]
    if after < n:                                          # validation and test rows the scaling never saw
        scaler.warn_far_outside(x_all[after:], inputs, "the validation and test rows")
    x_scaled, y_scaled = scaler.transform(x_all), y_scaler.transform(y_all)
    target_index = [inputs.index(t) for t in targets] if all(t in inputs for t in targets) else None
    data = ForecastData(series, inputs, targets, borders, scaler, y_scaler, target_index)
    for part in ("train", "valid", "test"):
        a, b = getattr(borders, part)
        data.parts[part] = windows(x_scaled[a:b], y_scaled[a:b], fc.input_len, fc.horizon)
    return data


def load(cfg: RunConfig, download: bool = False) -> ForecastData | SineStream:
    """The data ``cfg`` names: the stateful sine stream (``forecast.stateful``), else windows.

    Raises:
        ConfigError: for ``forecast.stateful`` with data other than the sine stream.
    """
    if cfg.forecast.stateful:
        if cfg.data.path != "sine":
            raise ConfigError(f"forecast.stateful (--stateful) reads one stream and works with --data sine only, "
                              f"not {cfg.data.path!r}; drop it for CSV data (windows are independent there)")
        return SineStream.load()
    return prepare(cfg.data.path, cfg.forecast, download)


__all__ = ["ForecastData", "SineStream", "load", "load_series", "prepare"]
