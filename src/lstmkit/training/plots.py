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
    return _save(fig, path)


def plot_confusion(confusion, labels: Sequence[str], path: str | Path) -> Path:
    """Draw a confusion matrix (rows true, columns predicted) with counts in the cells."""
    fig = Figure(figsize=(1.2 + 0.6 * len(labels), 1 + 0.6 * len(labels)), dpi=100)
    ax = fig.subplots()
    values = confusion.tolist() if hasattr(confusion, "tolist") else confusion
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = max(max(row) for row in values) or 1
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > top / 2 else "black")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG through the one atomic writer: a kill leaves the old plot whole."""
    from lstmkit.files import write_file

    path = Path(path)
    write_file(path, lambda f: fig.savefig(f, format="png"))
    return path
