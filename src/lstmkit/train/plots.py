"""Plots saved as PNG, with matplotlib's object API (no global pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure


def plot_history(history: Sequence[dict[str, float]], keys: Sequence[str], path: str | Path,
                 ylabel: str, log_y: bool = False) -> Path:
    """Plot metrics per epoch (one line per key present in the history) to a PNG file."""
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    epochs = [row["epoch"] for row in history]
    for key in keys:
        values = [row[key] for row in history if key in row]
        if values:
            ax.plot(epochs[: len(values)], values, marker="o", markersize=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path
