"""Time series with LSTMs: the tutorial's sin -> cos regression (stateful, the state carried from
window to window) and multi-horizon forecasting from CSV (ETTh1 with the Informer protocol).

Legend: B batch, L input length, H horizon, F_in/F_out features, D hidden size.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmkit.config import ModelConfig, RunConfig, TrainConfig
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Option, Task

if TYPE_CHECKING:                      # types only: the model code loads with torch, when a method runs
    from lstmkit.tasks.forecast.data import ForecastData, SineStream
    from lstmkit.training.trainer import StepResult
    from torch import nn

logger = logging.getLogger(__name__)


class ForecastTask(Task):
    """Windowed forecasting from CSV, or the stateful sin -> cos stream."""

    name = "forecast"
    run_class = "lstmkit.tasks.forecast.run:ForecasterRun"   # what load() returns
    export_module = "lstmkit.tasks.forecast.export"
    eval_data_help = "a CSV (default: its own)"
    predict_flags = (Option("--data", "a CSV whose last rows to forecast from", Path),
                     Option("--output", "where to write the forecast CSV (default RUN_DIR/forecast.csv)", str),
                     Option("--force", "replace an existing --output file"))
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

    # The data says how it is trained on: windows (ForecastData) or one stream (SineStream).
    def prepare(self, cfg: RunConfig, download: bool) -> ForecastData | SineStream:
        from lstmkit.tasks.forecast.data import load

        data = load(cfg, download)
        logger.info("%s", data.describe())
        return data

    def build(self, cfg: RunConfig, data: ForecastData | SineStream) -> nn.Module:
        self.data = data
        return data.build(cfg)

    def save_assets(self, run_dir: Path, cfg: RunConfig, data: ForecastData | SineStream) -> None:
        data.save_assets(run_dir)

    def batches(self, ctx: Context, data: ForecastData | SineStream, epoch: int):
        return data.batches(ctx)

    def shard(self, batch, rank):
        return self.data.shard(batch, rank)

    def step(self, model: nn.Module, ctx: Context, batch, state) -> StepResult:
        return self.data.step(model, ctx, batch, state)

    def validate(self, model: nn.Module, ctx: Context, data: ForecastData | SineStream) -> dict[str, float]:
        return data.validate(model, ctx)

    def finish(self, model: nn.Module, ctx: Context, data: ForecastData | SineStream, run_dir: Path) -> dict:
        return data.finish(model, ctx, run_dir)

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
