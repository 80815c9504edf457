"""Time series with LSTMs: the tutorial's sin -> cos regression (stateful, the state carried from
window to window) and multi-horizon forecasting from CSV (ETTh1 with the Informer protocol).

Legend: B batch, L input length, H horizon, F_in/F_out features, D hidden size.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmkit.config import ModelConfig, RunConfig, TrainConfig
from lstmkit.errors import ConfigError
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Task, shard_rows

if TYPE_CHECKING:                      # types only: the model code loads with torch, when a method runs
    from lstmkit.tasks.forecast.model import ForecastData, SineStream
    from lstmkit.training.trainer import StepResult
    from torch import nn

logger = logging.getLogger(__name__)


class ForecastTask(Task):
    """Windowed forecasting from CSV, or the stateful sin -> cos stream."""

    name = "forecast"
    run_class = "lstmkit.tasks.forecast.run:ForecasterRun"   # what load() returns
    export_module = "lstmkit.tasks.forecast.export"
    export_length = False             # its graph takes the length its model was built for
    memory_help = 'a DataFrame or a dict of columns'
    help = "time series: sin -> cos, or forecasting from CSV (ETTh1)"
    data_help = "ett-h1|sine|PATH"
    data_aliases = ("etth1",)
    defaults = RunConfig(
        task="forecast",
        model=ModelConfig(hidden_size=64, dropout=0.1),
        train=TrainConfig(epochs=20, lr=0.001, batch_size=32, patience=3, clip_norm=1.0),
    )
    uses = COMMON_USES
    monitor = "valid_mse"
    monitor_label = "lowest valid MSE"
    headline = Headline("valid_mse", "valid MSE (scaled)")
    log_keys = ("train_loss", "valid_mse", "valid_mae")
    plot = ("loss.png", ("train_loss", "valid_mse"), "MSE (scaled)", True)
    flags = (Flag("--target", "forecast.target"), Flag("--inputs", "forecast.inputs"),
             Flag("--input-len", "forecast.input_len"), Flag("--horizon", "forecast.horizon"),
             Flag("--decoder", "forecast.decoder", ("direct", "autoregressive")), Flag("--stateful", "forecast.stateful"))

    def prepare(self, cfg: RunConfig, download: bool) -> ForecastData | SineStream:
        from lstmkit.data.datasets.timeseries import sine_series
        from lstmkit.tasks.forecast.model import SineStream, prepare

        fc = cfg.forecast
        if fc.stateful:
            if cfg.data.path != "sine":
                raise ConfigError(f"forecast.stateful (--stateful) reads one stream and works with --data sine only, "
                                  f"not {cfg.data.path!r}; drop it for CSV data (windows are independent there)")
            series = sine_series()
            n = len(series.values)
            return SineStream(series.values[:, :1], series.values[:, 1:], (int(n * 0.7), int(n * 0.8)))
        data = prepare(cfg.data.path, fc, download)
        logger.info("%s: %d inputs -> %d targets, windows train %d / valid %d / test %d",
                    data.series.source, len(data.inputs), len(data.targets), len(data.parts["train"][0]),
                    len(data.parts["valid"][0]), len(data.parts["test"][0]))
        return data

    def build(self, cfg: RunConfig, data) -> nn.Module:
        from lstmkit.tasks.forecast.model import Forecaster, SineStream, StreamRegressor

        self.data = data
        if isinstance(data, SineStream):
            return StreamRegressor(1, 1, cfg.model)
        return Forecaster(len(data.inputs), len(data.targets), cfg.forecast.horizon, cfg.model, cfg.forecast,
                          data.target_index)

    def save_assets(self, run_dir: Path, cfg: RunConfig, data) -> None:
        from lstmkit.tasks.forecast.model import ForecastData, save_scaler

        if isinstance(data, ForecastData):
            save_scaler(run_dir, data)

    def batches(self, ctx: Context, data, epoch: int):
        from lstmkit.data.batching import shuffled_batches
        from lstmkit.tasks.forecast.model import SineStream

        if isinstance(data, SineStream):
            size, end = ctx.cfg.forecast.input_len, data.cuts[0]
            return ((data.x[None, i : min(i + size, end)], data.y[None, i : min(i + size, end)])   # (1, L, 1) each
                    for i in range(0, end, size))
        x, y = data.parts["train"]
        return shuffled_batches(x, y, ctx.cfg.train.batch_size, ctx.generator)

    def shard(self, batch, rank):
        from lstmkit.tasks.forecast.model import SineStream

        if isinstance(self.data, SineStream):
            raise ConfigError("the stateful sine task is one stream; it cannot be split across processes")
        return shard_rows(rank, *batch)

    def step(self, model: nn.Module, ctx: Context, batch, state) -> StepResult:
        import torch.nn.functional as F
        from lstmkit.tasks.forecast.model import StreamRegressor
        from lstmkit.training.trainer import StepResult

        x, y = (b.to(ctx.device) for b in batch)
        with ctx.autocast():
            if isinstance(model, StreamRegressor):                       # the state goes on along the stream
                pred, new_state = model(x, state)                        # (1, L, 1)
                return StepResult(F.mse_loss(pred.float(), y), x.size(1), state=new_state)
            pred = model(x)                                              # (B, H, F_out)
        return StepResult(F.mse_loss(pred.float(), y), len(x), x.size(0) * x.size(1))

    def validate(self, model: nn.Module, ctx: Context, data) -> dict[str, float]:
        import torch.nn.functional as F
        from lstmkit.tasks.forecast.model import SineStream, _run_stream, errors, predict_windows

        if isinstance(data, SineStream):
            pred = _run_stream(model, data.x[: data.cuts[1]], ctx.device)
            return {"valid_mse": float(F.mse_loss(pred[data.cuts[0] :], data.y[data.cuts[0] : data.cuts[1]]))}
        x, y = data.parts["valid"]
        return {f"valid_{k}": v for k, v in errors(predict_windows(model, x), y).items()}

    def finish(self, model: nn.Module, ctx: Context, data, run_dir: Path) -> dict:
        import torch.nn.functional as F
        from lstmkit.tasks.forecast.model import SineStream, _run_stream, plot_forecast, score

        fc = ctx.cfg.forecast
        if isinstance(data, SineStream):
            pred, cut = _run_stream(model, data.x, ctx.device), data.cuts[1]
            plot_forecast(pred[cut:], data.y[cut:], "cos(t)", run_dir / "forecast.png", fc.plot_steps)
            return {"mse": float(F.mse_loss(pred[cut:], data.y[cut:])), "mae": float(F.l1_loss(pred[cut:], data.y[cut:])),
                    "steps": len(data.x) - cut}
        return score(model, data, run_dir, fc.plot_steps)


    def report(self, fitted: Any, options: dict[str, Any]) -> list[str]:
        test = fitted.test or {}
        if "mse" not in test:
            return []
        line = f"test MSE {test['mse']:.4g}, MAE {test['mae']:.4g}"
        if "mse_original" in test:
            line += f" (original units: MSE {test['mse_original']:.4g}, MAE {test['mae_original']:.4g})"
        return [line, f"plot: {fitted.run_dir / 'forecast.png'}"]

    def memory_part(self, arg: str, value: Any) -> Any | None:
        """A pandas DataFrame or a dict of columns."""
        from lstmkit import boundary

        if isinstance(value, boundary.PATH_TYPES):
            return None
        return boundary.columns(arg, value)

    def write_part(self, value: dict[str, list], folder: Path, name: str) -> Path:
        """Columns given in memory, as a CSV."""
        import csv
        import io

        from lstmkit.files import write_file

        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(list(value))
        writer.writerows(zip(*value.values()))
        return write_file(folder / f"{name}.csv", buffer.getvalue())
