"""The forecaster's models, metrics, plots, scaler and loading (its Task is task.py, its data data.py).

Time series with LSTMs: the tutorial's sin -> cos regression (stateful, the state carried from
window to window) and multi-horizon forecasting from CSV (ETTh1 with the Informer protocol).

Legend: B batch, L input length, H horizon, F_in/F_out features, D hidden size.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.boundary import parse_json
from lstmkit.config import ModelConfig, RunConfig
from lstmkit.tasks.forecast.options import ForecastOptions
from lstmkit.data.datasets.timeseries import (
    Scaler, Series, read_csv_series,
)
from lstmkit.errors import DataError, RunDirError
from lstmkit.nn import make_rnn
from lstmkit.training import checkpoint

if TYPE_CHECKING:
    from lstmkit.tasks.forecast.data import ForecastData

logger = logging.getLogger(__name__)

SCALER_FILE, EVAL_FILE = "scaler.json", checkpoint.SCORES


class Forecaster(nn.Module):
    """LSTM encoder over the window, then the horizon either at once (a linear layer on the last
    hidden state, "direct") or step by step (an LSTM cell fed its previous prediction).

    With ``last_value_norm`` each window is shifted so that its last input step is zero, and the
    shift is added back to the predictions (targets must be among the inputs).

    Shapes: x (B, L, F_in) -> (B, H, F_out)

    Example:
        >>> model = Forecaster(7, 7, 24, ModelConfig(hidden_size=16), ForecastOptions())
        >>> model(torch.randn(3, 96, 7)).shape
        torch.Size([3, 24, 7])
    """

    def __init__(self, n_in: int, n_out: int, horizon: int, cfg: ModelConfig, fc: ForecastOptions,
                 target_index: list[int] | None = None) -> None:
        super().__init__()
        self.n_out, self.horizon, self.decoder, self.norm = n_out, horizon, fc.decoder, fc.last_value_norm
        self.register_buffer("target_index", torch.tensor(target_index if target_index is not None else []),
                             persistent=False)
        if (self.norm or self.decoder == "autoregressive") and target_index is None:
            raise ValueError("last_value_norm and the autoregressive decoder need the targets among the inputs")
        self.rnn = make_rnn(cfg.cell, n_in, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                            backend=cfg.backend, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        if self.decoder == "direct":
            self.head = nn.Linear(cfg.hidden_size, horizon * n_out)
        else:
            self.cell = nn.LSTMCell(n_out, cfg.hidden_size)
            self.head = nn.Linear(cfg.hidden_size, n_out)

    def forward(self, x: Tensor) -> Tensor:
        shift = None
        if self.norm:
            shift = x[:, -1:, :]                                             # (B, 1, F_in)
            x = x - shift
        out, state = self.rnn(x)                                             # (B, L, D)
        if self.decoder == "direct":
            y = self.head(self.drop(out[:, -1])).view(-1, self.horizon, self.n_out)   # (B, H, F_out)
        else:
            h = state[0][-1] if isinstance(state, tuple) else state[-1]      # (B, D), last layer
            c = state[1][-1] if isinstance(state, tuple) else torch.zeros_like(h)
            prev = x[:, -1, self.target_index]                               # (B, F_out)
            steps = []
            for _ in range(self.horizon):
                h, c = self.cell(prev, (h, c))
                prev = self.head(self.drop(h))
                steps.append(prev)
            y = torch.stack(steps, dim=1)                                    # (B, H, F_out)
        if shift is not None:
            y = y + shift[:, :, self.target_index]
        return y


class StreamRegressor(nn.Module):
    """The tutorial's sin -> cos model: an output at every step of a stream.

    Shapes: x (B, T, F_in) -> (B, T, F_out), state as the recurrent layer's
    """

    def __init__(self, n_in: int, n_out: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.rnn = make_rnn(cfg.cell, n_in, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                            backend=cfg.backend)
        self.head = nn.Linear(cfg.hidden_size, n_out)

    def forward(self, x: Tensor, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


# --- data -----------------------------------------------------------------------------------

# --- metrics and plots ----------------------------------------------------------------------

@torch.no_grad()
def predict_windows(model: Forecaster, x: Tensor, batch_size: int = 512) -> Tensor:
    """Shapes: x (W, L, F_in) -> (W, H, F_out)"""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def errors(pred: Tensor, true: Tensor, scaler: Scaler | None = None) -> dict[str, float]:
    """MSE and MAE on the scaled data and, with ``scaler``, in the original units."""
    out = {"mse": float(F.mse_loss(pred, true)), "mae": float(F.l1_loss(pred, true))}
    if scaler is not None:
        p, t = scaler.inverse(pred).double(), scaler.inverse(true).double()   # squares of large units overflow float32
        out.update(mse_original=float(F.mse_loss(p, t)), mae_original=float(F.l1_loss(p, t)))
    return out


def plot_forecast(pred: Tensor, true: Tensor, column: str, path: Path, steps: int) -> Path:
    """Truth against the 1-step-ahead (and H-steps-ahead) forecasts of consecutive windows.

    Shapes: pred, true (W, H) for one column, in original units
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(steps, len(pred))
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.plot(true[:n, 0].numpy(), label="truth", linewidth=1)
    ax.plot(pred[:n, 0].numpy(), label="forecast (1 step ahead)", linewidth=1)
    if pred.size(1) > 1:
        last = pred.size(1) - 1
        ax.plot(range(last, last + n), pred[:n, last].numpy(), label=f"forecast ({last + 1} steps ahead)",
                linewidth=1, alpha=0.7)
    ax.set_xlabel("test step")
    ax.set_ylabel(column)
    ax.legend(loc="upper right")
    fig.tight_layout()
    from lstmkit.files import write_file

    try:
        write_file(path, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)
    return path


# --- training -------------------------------------------------------------------------------

@torch.no_grad()
def run_stream(model: nn.Module, x: Tensor, device: torch.device) -> Tensor:
    """Shapes: x (N, 1) -> predictions (N, 1), one pass with the state carried all along."""
    was = model.training
    model.eval()
    pred, _ = model(x[None].to(device))
    model.train(was)
    return pred[0].float().cpu()


def score(model: Forecaster, data: ForecastData, run_dir: Path, plot_steps: int) -> dict[str, float]:
    x, y = data.parts["test"]
    pred = predict_windows(model, x)
    test = errors(pred, y, data.y_scaler)
    test["windows"] = len(x)
    column = data.targets[-1]
    plot_forecast(data.y_scaler.inverse(pred)[:, :, -1], data.y_scaler.inverse(y)[:, :, -1], column, run_dir / "forecast.png", plot_steps)
    return test


def save_scaler(run_dir: Path, data: ForecastData) -> None:
    y_scaler = data.y_scaler
    payload = {"inputs": data.inputs, "targets": data.targets, "mean": data.scaler.mean.tolist(),
               "std": data.scaler.std.tolist(), "target_mean": y_scaler.mean.tolist(),
               "target_std": y_scaler.std.tolist(), "target_index": data.target_index}
    checkpoint.save_files(run_dir, {SCALER_FILE: json.dumps(payload, indent=2)})


def read_scaler(path: Path) -> dict:
    """The forecaster's columns and training statistics, checked.

    Raises:
        RunDirError: if the file is missing or damaged.
    """
    import math

    fix = "the run directory is damaged; train again"
    try:
        meta = parse_json(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RunDirError(f"cannot read {str(path)!r}: {err.strerror}; {fix}") from None
    except ValueError as err:
        raise RunDirError(f"{str(path)!r} is not valid JSON ({err}); {fix}") from None
    try:
        inputs, targets = meta["inputs"], meta["targets"]
        ok = (all(isinstance(c, str) for c in [*inputs, *targets]) and len(targets) > 0 and len(inputs) > 0
              and all(len(meta[k]) == len(inputs) for k in ("mean", "std"))
              and all(len(meta[k]) == len(targets) for k in ("target_mean", "target_std"))
              and all(isinstance(v, (int, float)) and math.isfinite(v) for k in ("mean", "std", "target_mean",
                                                                                 "target_std") for v in meta[k])
              and all(v > 0 for k in ("std", "target_std") for v in meta[k])
              and (meta["target_index"] is None
                   or (all(type(i) is int and 0 <= i < len(inputs) for i in meta["target_index"])
                       and len(meta["target_index"]) == len(targets))))
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise RunDirError(f"{str(path)!r} is damaged: it needs the input and target columns with finite means and "
                          f"positive standard deviations of matching lengths; {fix}")
    return meta


def load_forecaster(run_dir: str | Path, cfg: RunConfig | None = None) -> tuple[nn.Module, RunConfig, dict]:
    cfg = cfg or checkpoint.read_run_config(run_dir, task="forecast")       # a loaded run passes its own
    scaler = Path(run_dir) / SCALER_FILE
    meta = read_scaler(checkpoint.run_file(run_dir, SCALER_FILE) if scaler.is_file() else scaler)
    model = checkpoint.build_and_load(run_dir, lambda: Forecaster(
        len(meta["inputs"]), len(meta["targets"]), cfg.forecast.horizon, cfg.model, cfg.forecast, meta["target_index"]),
        sizes=cfg.model)
    return model.eval(), cfg, meta


def read_window(csv_path: str | Path, meta: dict, fc: ForecastOptions):
    """The series of a new CSV and its last ``input_len`` rows scaled as in training
    (``(1, L, F_in)``), with a warning when they lie far outside the training values: what
    ``predict`` and the inspector read.

    Raises:
        DataError: for missing columns, non-numeric cells, or fewer rows than ``input_len``.
    """
    return window(read_csv_series(csv_path, meta["inputs"], fc.date_column), meta, fc)


def columns_series(columns: dict[str, list], meta: dict, fc: ForecastOptions, name: str) -> Series:
    """Columns given in memory as a series, read by the CSV reader's rules (numbers, float32,
    time order) from CSV text, with no file; messages call them ``name``."""
    import csv
    import io

    from lstmkit.data.datasets.timeseries import series_from_lines

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values()))
    return series_from_lines(text.getvalue().splitlines(), name, meta["inputs"], fc.date_column)


def window(series: Series, meta: dict, fc: ForecastOptions):
    """``series`` and its last ``input_len`` rows scaled as in training, (1, L, F_in)."""
    if len(series.values) < fc.input_len:
        raise DataError(f"{series.source!r} has {len(series.values)} rows; the model reads the last "
                        f"{fc.input_len}, so give at least that many")
    scaler = Scaler(torch.tensor(meta["mean"]), torch.tensor(meta["std"]))
    recent = series.values[-fc.input_len :]                                          # (L, F_in)
    scaler.warn_far_outside(recent, meta["inputs"], f"the last {fc.input_len} rows of {series.source!r}")
    return series, scaler.transform(recent)[None]                                   # (1, L, F_in)


def _next_dates(last, before, horizon: int) -> list[str]:
    """The ``horizon`` dates after ``last``, stepping as the data does: by calendar months when
    the last two dates are a month apart on the same day and time (2020-01-01, 2020-02-01: no
    drift by a fixed 31 days), else by their difference.

    Raises:
        OverflowError: past the year 9999.
    """
    months = (last.year - before.year) * 12 + last.month - before.month
    if months >= 1 and last.day == before.day <= 28 and last.time() == before.time():
        out = []
        for i in range(1, horizon + 1):
            month = last.month - 1 + months * i
            if last.year + month // 12 > 9999:
                raise OverflowError("date value out of range")
            out.append(str(last.replace(year=last.year + month // 12, month=month % 12 + 1)))
        return out
    return [str(last + (last - before) * (i + 1)) for i in range(horizon)]


def forecast_rows(model: nn.Module, meta: dict, fc: ForecastOptions, series: Series, x: Tensor) -> tuple[list[str], list[list]]:
    """The header and rows of a forecast of the ``horizon`` steps after ``x`` (original units,
    6 significant digits, one row per step, dates continued when ``series`` has them)."""
    import datetime as dt

    y_scaler = Scaler(torch.tensor(meta["target_mean"]), torch.tensor(meta["target_std"]))
    with torch.no_grad():
        y = y_scaler.inverse(model(x)[0])                                           # (H, F_out)
    dates: list[str] = []
    if len(series.dates) >= 2:
        try:
            last, before = (dt.datetime.fromisoformat(d) for d in (series.dates[-1], series.dates[-2]))
            dates = _next_dates(last, before, fc.horizon)
        except ValueError:
            dates = []
        except OverflowError:                                 # past year 9999: steps without dates, said so
            logger.warning("the dates after %s run past the year 9999, which Python's dates cannot hold; the forecast "
                           "is written without its %s column", series.dates[-1], fc.date_column)
            dates = []
    header = ["step", *([fc.date_column] if dates else []), *meta["targets"]]
    rows = [[i + 1, *([dates[i]] if dates else []), *(float(f"{v:.6g}") for v in row)] for i, row in enumerate(y.tolist())]
    return header, rows


def forecast_csv(run_dir: str | Path, csv_path: str | Path, out_path: str | Path) -> Path:
    """Forecast the ``horizon`` steps after the last ``input_len`` rows of a new CSV and write
    them (original units, one row per step, dates continued when the file has a date column).

    Raises:
        DataError: for missing columns, non-numeric cells, or fewer rows than ``input_len``.
    """
    model, cfg, meta = load_forecaster(run_dir)
    series, x = read_window(csv_path, meta, cfg.forecast)
    return write_forecast(out_path, *forecast_rows(model, meta, cfg.forecast, series, x))


def write_forecast(out_path: str | Path, header: list[str], rows: list[list]) -> Path:
    """A forecast's rows as CSV (numbers to 6 significant digits), written atomically."""
    import csv
    import io

    from lstmkit.files import write_file

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    return write_file(Path(out_path), text.getvalue())
