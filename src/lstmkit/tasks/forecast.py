"""Time series with LSTMs: the tutorial's sin -> cos regression (stateful, the state carried from
window to window) and multi-horizon forecasting from CSV (ETTh1 with the Informer protocol).

Legend: B batch, L input length, H horizon, F_in/F_out features, D hidden size.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ForecastConfig, ModelConfig, RunConfig
from lstmkit.data.batching import shuffled_batches
from lstmkit.data.datasets.timeseries import (
    Borders, Scaler, Series, fraction_borders, informer_borders, locate_ett, read_csv_series, sine_series, windows,
)
from lstmkit.errors import DataError
from lstmkit.nn import make_rnn
from lstmkit.train import checkpoint
from lstmkit.train.build import device_of, make_optimizer
from lstmkit.train.hooks import EarlyStopping, LogEpoch, MetricsFile, PlotMetrics, SaveBest, TimeBudget
from lstmkit.train.schedule import LRSchedule
from lstmkit.train.trainer import Trainer

logger = logging.getLogger(__name__)

SCALER_FILE, EVAL_FILE = "scaler.json", "eval.json"


class Forecaster(nn.Module):
    """LSTM encoder over the window, then the horizon either at once (a linear layer on the last
    hidden state, "direct") or step by step (an LSTM cell fed its previous prediction).

    With ``last_value_norm`` each window is shifted so that its last input step is zero, and the
    shift is added back to the predictions (targets must be among the inputs).

    Shapes: x (B, L, F_in) -> (B, H, F_out)

    Example:
        >>> model = Forecaster(7, 7, 24, ModelConfig(hidden_size=16), ForecastConfig())
        >>> model(torch.randn(3, 96, 7)).shape
        torch.Size([3, 24, 7])
    """

    def __init__(self, n_in: int, n_out: int, horizon: int, cfg: ModelConfig, fc: ForecastConfig,
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


def load_series(path: str, fc: ForecastConfig, download: bool = False) -> Series:
    if path == "sine":
        return sine_series()
    if path in ("ett-h1", "etth1"):
        path = str(locate_ett(download))
    columns = list(dict.fromkeys(fc.input_columns() + fc.target_columns())) or None
    return read_csv_series(path, columns, fc.date_column)


def prepare(path: str, fc: ForecastConfig, download: bool = False) -> ForecastData:
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
    scaler = Scaler.fit(x_all[borders.train[0] : borders.train[1]])
    y_scaler = Scaler.fit(y_all[borders.train[0] : borders.train[1]])
    x_scaled, y_scaled = scaler.transform(x_all), y_scaler.transform(y_all)
    target_index = [inputs.index(t) for t in targets] if all(t in inputs for t in targets) else None
    data = ForecastData(series, inputs, targets, borders, scaler, y_scaler, target_index)
    for part in ("train", "valid", "test"):
        a, b = getattr(borders, part)
        data.parts[part] = windows(x_scaled[a:b], y_scaled[a:b], fc.input_len, fc.horizon)
    return data


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
        p, t = scaler.inverse(pred), scaler.inverse(true)
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
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --- training -------------------------------------------------------------------------------

@dataclass
class ForecastResult:
    model: nn.Module
    history: list[dict[str, float]]
    test: dict[str, float]
    train_seconds: float


def train_forecaster(cfg: RunConfig, run_dir: str | Path, progress: bool = False, download: bool = False) -> ForecastResult:
    """Train on ``data.path`` (ett-h1, sine or a CSV file), keep the best epoch by validation
    MSE, and score the test part (eval.json, forecast.png)."""
    if cfg.data.path == "sine" and cfg.forecast.stateful:
        return train_stateful_sine(cfg, run_dir, progress)
    device = device_of(cfg.train.device)
    t, fc = cfg.train, cfg.forecast
    data = prepare(cfg.data.path, fc, download)
    x_train, y_train = data.parts["train"]
    logger.info("%s: %d inputs -> %d targets, windows train %d / valid %d / test %d",
                data.series.source, len(data.inputs), len(data.targets), len(x_train), len(data.parts["valid"][0]),
                len(data.parts["test"][0]))
    torch.manual_seed(t.seed)
    model = Forecaster(len(data.inputs), len(data.targets), fc.horizon, cfg.model, fc, data.target_index).to(device)
    optimizer = make_optimizer(model.parameters(), t)
    generator = torch.Generator().manual_seed(t.seed)

    def batches(epoch: int):
        return shuffled_batches(x_train, y_train, t.batch_size, generator)

    def step(batch):
        x, y = (b.to(device) for b in batch)
        return F.mse_loss(model(x), y), len(x), x.size(0) * x.size(1)

    def validate() -> dict[str, float]:
        x, y = data.parts["valid"]
        return {f"valid_{k}": v for k, v in errors(predict_windows(model, x), y).items()}

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_scaler(run_dir, data)
    hooks = [LogEpoch(["train_loss", "valid_mse", "valid_mae"]), MetricsFile(run_dir),
             PlotMetrics(run_dir / "loss.png", ["train_loss", "valid_mse"], "MSE (scaled)", log_y=True),
             SaveBest(lambda: checkpoint.save_run(run_dir, model, cfg), "valid_mse")]
    hooks += [EarlyStopping("valid_mse", t.patience)] if t.patience > 0 else []
    hooks += [TimeBudget(t.max_minutes, t.stop_mid_epoch)] if t.max_minutes > 0 else []
    hooks.insert(0, LRSchedule(optimizer, t.lr_schedule, t.lr, t.epochs, t.lr_decay, t.decay_start, "valid_mse"))
    start = time.perf_counter()
    state = Trainer(model, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress).fit(
        t.epochs, batches, step, validate)
    seconds = time.perf_counter() - start
    checkpoint.load_weights(run_dir, model)
    test = score(model, data, run_dir, fc.plot_steps)
    return ForecastResult(model, state.history, test, seconds)


def score(model: Forecaster, data: ForecastData, run_dir: Path, plot_steps: int) -> dict[str, float]:
    x, y = data.parts["test"]
    pred = predict_windows(model, x)
    test = errors(pred, y, data.y_scaler)
    test["windows"] = len(x)
    (run_dir / EVAL_FILE).write_text(json.dumps(test, indent=2), encoding="utf-8")
    column = data.targets[-1]
    plot_forecast(data.y_scaler.inverse(pred)[:, :, -1], data.y_scaler.inverse(y)[:, :, -1], column, run_dir / "forecast.png", plot_steps)
    return test


def save_scaler(run_dir: Path, data: ForecastData) -> None:
    y_scaler = data.y_scaler
    payload = {"inputs": data.inputs, "targets": data.targets, "mean": data.scaler.mean.tolist(),
               "std": data.scaler.std.tolist(), "target_mean": y_scaler.mean.tolist(),
               "target_std": y_scaler.std.tolist(), "target_index": data.target_index}
    (run_dir / SCALER_FILE).write_text(json.dumps(payload, indent=2), encoding="utf-8")


def train_stateful_sine(cfg: RunConfig, run_dir: str | Path, progress: bool = False) -> ForecastResult:
    """The tutorial's job: one long sin(t) stream, cos(t) predicted at every step, read in
    windows of ``forecast.input_len`` with the state carried (and detached) between them.
    Train on the first 70% of the stream, validate on the next 10%, test on the last 20%, each
    continuing the state from the part before it."""
    device = device_of(cfg.train.device)
    t, fc = cfg.train, cfg.forecast
    series = sine_series()
    x_all, y_all = series.values[:, :1], series.values[:, 1:]                      # (N, 1) each
    n = len(x_all)
    cuts = (int(n * 0.7), int(n * 0.8))
    torch.manual_seed(t.seed)
    model = StreamRegressor(1, 1, cfg.model).to(device)
    optimizer = make_optimizer(model.parameters(), t)
    carried: dict[str, object] = {"state": None}

    def batches(epoch: int):
        carried["state"] = None
        for i in range(0, cuts[0], fc.input_len):
            yield x_all[None, i : min(i + fc.input_len, cuts[0])], y_all[None, i : min(i + fc.input_len, cuts[0])]

    def step(batch):
        x, y = (b.to(device) for b in batch)
        state = carried["state"]
        if state is not None:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        pred, carried["state"] = model(x, state)
        return F.mse_loss(pred, y), x.size(1)

    @torch.no_grad()
    def run_through(upto: int) -> Tensor:
        pred, _ = model(x_all[None, :upto].to(device))
        return pred[0].cpu()

    def validate() -> dict[str, float]:
        pred = run_through(cuts[1])
        return {"valid_mse": float(F.mse_loss(pred[cuts[0] :], y_all[cuts[0] : cuts[1]]))}

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    hooks = [LogEpoch(["train_loss", "valid_mse"]), MetricsFile(run_dir),
             SaveBest(lambda: checkpoint.save_run(run_dir, model, cfg), "valid_mse")]
    hooks += [TimeBudget(t.max_minutes, t.stop_mid_epoch)] if t.max_minutes > 0 else []
    hooks.insert(0, LRSchedule(optimizer, t.lr_schedule, t.lr, t.epochs, t.lr_decay, t.decay_start, "valid_mse"))
    start = time.perf_counter()
    state = Trainer(model, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress).fit(
        t.epochs, batches, step, validate)
    seconds = time.perf_counter() - start
    checkpoint.load_weights(run_dir, model)
    model.eval()
    pred = run_through(n)
    test = {"mse": float(F.mse_loss(pred[cuts[1] :], y_all[cuts[1] :])),
            "mae": float(F.l1_loss(pred[cuts[1] :], y_all[cuts[1] :])), "steps": n - cuts[1]}
    (run_dir / EVAL_FILE).write_text(json.dumps(test, indent=2), encoding="utf-8")
    plot_forecast(pred[cuts[1] :], y_all[cuts[1] :], "cos(t)", run_dir / "forecast.png", fc.plot_steps)
    return ForecastResult(model, state.history, test, seconds)


def load_forecaster(run_dir: str | Path) -> tuple[nn.Module, RunConfig, dict]:
    cfg = checkpoint.read_run_config(run_dir, task="forecast")
    meta = json.loads((Path(run_dir) / SCALER_FILE).read_text(encoding="utf-8"))
    model = Forecaster(len(meta["inputs"]), len(meta["targets"]), cfg.forecast.horizon, cfg.model, cfg.forecast,
                       meta["target_index"])
    checkpoint.load_weights(run_dir, model)
    return model.eval(), cfg, meta


def forecast_csv(run_dir: str | Path, csv_path: str | Path, out_path: str | Path) -> Path:
    """Forecast the ``horizon`` steps after the last ``input_len`` rows of a new CSV and write
    them (original units, one row per step, dates continued when the file has a date column).

    Raises:
        DataError: for missing columns, non-numeric cells, or fewer rows than ``input_len``.
    """
    import csv
    import datetime as dt

    model, cfg, meta = load_forecaster(run_dir)
    fc = cfg.forecast
    series = read_csv_series(csv_path, meta["inputs"], fc.date_column)
    if len(series.values) < fc.input_len:
        raise DataError(f"{str(csv_path)!r} has {len(series.values)} rows; the model reads the last "
                        f"{fc.input_len}, so give at least that many")
    scaler = Scaler(torch.tensor(meta["mean"]), torch.tensor(meta["std"]))
    y_scaler = Scaler(torch.tensor(meta["target_mean"]), torch.tensor(meta["target_std"]))
    x = scaler.transform(series.values[-fc.input_len :])[None]                      # (1, L, F_in)
    with torch.no_grad():
        y = y_scaler.inverse(model(x)[0])                                           # (H, F_out)
    dates: list[str] = []
    if len(series.dates) >= 2:
        try:
            last, before = (dt.datetime.fromisoformat(d) for d in (series.dates[-1], series.dates[-2]))
            dates = [str(last + (last - before) * (i + 1)) for i in range(fc.horizon)]
        except ValueError:
            dates = []
    out_path = Path(out_path)
    with out_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["step", *([fc.date_column] if dates else []), *meta["targets"]])
        for i, row in enumerate(y.tolist()):
            writer.writerow([i + 1, *([dates[i]] if dates else []), *(f"{v:.6g}" for v in row)])
    return out_path
