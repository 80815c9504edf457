"""The task registry: every task the CLI, the Python API and the benchmarks can run.

Adding a task is one new module with a :class:`~lstmkit.tasks.base.Task` subclass and one
line here. Modules are imported on first use, so ``lstmkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
from lstmkit.errors import ConfigError

REGISTRY: dict[str, str] = {
    "lm": "lstmkit.tasks.lm:LMTask",
    "classify": "lstmkit.tasks.classify:ClassifyTask",
    "tag": "lstmkit.tasks.tag:TagTask",
    "forecast": "lstmkit.tasks.forecast:ForecastTask",
    "image": "lstmkit.tasks.image:ImageTask",
}


def get_task(name: str):
    """A new instance of the registered task ``name`` (it may hold one run's state).

    Raises:
        ConfigError: for a name that is not registered, listing the ones that are.
    """
    if name not in REGISTRY:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["REGISTRY", "get_task"]
