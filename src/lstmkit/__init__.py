"""lstmkit: LSTM and GRU sequence learning on PyTorch, from the gate equations to trained models.

    import lstmkit
    run = lstmkit.train("classify", data="imdb", epochs=5, hidden_size=256)
    lstmkit.load(run.run_dir).predict(["a moving film", "a dull mess"])
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"


def train(task: str, data: Any = None, **kwargs: Any):
    """Train a task in one call; see :func:`lstmkit.api.train`."""
    from lstmkit.api import train as _train

    return _train(task, data, **kwargs)


def load(run_dir, device: str = "cpu"):
    """Load any task's run directory; see :func:`lstmkit.api.load`."""
    from lstmkit.api import load as _load

    return _load(run_dir, device)


def settings(task: str) -> dict[str, Any]:
    """Every setting of ``task`` with its default, as ``section.field``; see :func:`lstmkit.api.settings`."""
    from lstmkit.api import settings as _settings

    return _settings(task)


def __getattr__(name: str) -> Any:
    # lstmkit.tasks (register a task), lstmkit.config, ...: the submodules, imported when first named
    if name in ("tasks", "config", "export", "exported", "registry"):
        import importlib

        return importlib.import_module(f"lstmkit.{name}")
    raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")


__all__ = ["__version__", "load", "settings", "train"]
