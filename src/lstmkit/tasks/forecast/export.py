"""What a forecaster exports: the model between its training scaler, in original units (:class:`ScaledForecaster`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.config import RunConfig
from lstmkit.nn.exportable import FLOAT32_MAX, ExportSpec, FiniteCheck



class ScaledForecaster(nn.Module):
    """The forecaster between the training scaler's ``scale`` and ``inverse``: original units."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float],
                 target_mean: Sequence[float], target_std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.check_series = FiniteCheck("series")
        for name, values in (("mean", mean), ("std", std), ("target_mean", target_mean), ("target_std", target_std)):
            self.register_buffer(name, torch.tensor(values, dtype=torch.float32))

    def forward(self, series: Tensor) -> Tensor:
        series = self.check_series(series, FLOAT32_MAX)
        y = self.model((series - self.mean) / self.std)                     # (B, horizon, F_out)
        return y * self.target_std + self.target_mean


def export_spec(run_dir: Path, cfg: RunConfig, length: int | None, fmt: str) -> ExportSpec:
    """The exportable module of a forecast run (see :func:`lstmkit.export.export_spec`)."""
    from lstmkit.tasks.forecast.model import load_forecaster

    model, cfg, meta = load_forecaster(run_dir)
    wrapped = ScaledForecaster(model, meta["mean"], meta["std"], meta["target_mean"], meta["target_std"]).eval()
    example = (torch.randn(2, cfg.forecast.input_len, len(meta["inputs"])),)
    ranges = {"series": (-FLOAT32_MAX, FLOAT32_MAX)}
    return ExportSpec(wrapped, example, ["series"], ["forecast"], {"series": 0}, {},
                      notes={"checks": "series must be finite (no NaN or inf)"}, ranges=ranges)
