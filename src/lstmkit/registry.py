"""The task registry: each task's name and where its code lives, read without importing it.

An entry names a task's :class:`~lstmkit.training.task.Task` subclass and its config section
(``[lm]`` for task ``lm``), as ``"module:Class"`` strings or as the classes themselves. Nothing
here imports a task until it is asked for one by name, so the command line's help, config
files and run directories can name tasks without loading torch; and everything that needs a
task (config, the recipe, the API, the server, export) asks here instead of naming it.

The registry sits below config because ``config.json`` names its task: reading a run's config
needs the task's section type, as reading a task needs the config.

Tasks come from three places, in this order: the five shipped with lstmkit, the
``lstmkit.tasks`` entry-point group of installed packages (each entry ``name =
"package.module:TaskClass"``, whose class has a ``section`` attribute), and
:func:`register` calls.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from lstmkit.errors import ConfigError

ENTRY_POINT_GROUP = "lstmkit.tasks"
DEFAULT_TASK = "lm"                                         # a config that names no task
SHARED_SECTIONS = ("model", "data", "vectors", "train")     # config sections every task shares
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class TaskEntry:
    """Where task ``name`` lives: its Task class and its config section class (or their
    ``"module:Class"`` paths; a section of None is the task class's ``section`` attribute)."""

    name: str
    task: str | type
    section: str | type | None = None


def _shipped(name: str, task: str, section: str) -> TaskEntry:
    return TaskEntry(name, f"lstmkit.tasks.{name}.task:{task}", f"lstmkit.tasks.{name}.options:{section}")


_SHIPPED = {e.name: e for e in (
    _shipped("lm", "LMTask", "LMOptions"),
    _shipped("classify", "ClassifyTask", "ClassifyOptions"),
    _shipped("tag", "TagTask", "TagOptions"),
    _shipped("forecast", "ForecastTask", "ForecastOptions"),
    _shipped("image", "ImageTask", "ImageOptions"),
)}
_added: dict[str, TaskEntry] = {}
_installed: dict[str, TaskEntry] | None = None             # the entry points, read once


def _entry_points() -> dict[str, TaskEntry]:
    global _installed
    if _installed is None:
        from importlib.metadata import entry_points

        _installed = {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            if _NAME.fullmatch(point.name) and point.name not in _SHIPPED and point.name not in SHARED_SECTIONS:
                _installed[point.name] = TaskEntry(point.name, point.value)
    return _installed


def _all() -> dict[str, TaskEntry]:
    return {**_SHIPPED, **_entry_points(), **_added}


def names() -> tuple[str, ...]:
    """Every registered task's name: the shipped ones first, then installed and added ones."""
    return tuple(_all())


def register(name: str, task: str | type, section: str | type | None = None, *, replace: bool = False) -> None:
    """Add task ``name``: ``task`` is its :class:`~lstmkit.training.task.Task` subclass and
    ``section`` its frozen config dataclass (``[name]`` in a TOML file, ``--set name.field=...``;
    None: the task class's ``section`` attribute); either may be a ``"module:Class"`` path,
    imported when the task is first used.

    Raises:
        ConfigError: for a name that is not lower-case letters, digits and ``_`` (at most 32),
            that is a shared section, or that is taken (unless ``replace``).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"a task name is 1-32 lower-case letters, digits and _, starting with a letter; got {name!r}")
    if name in SHARED_SECTIONS or name in ("task", "format_version"):
        raise ConfigError(f"task name {name!r} is a config section every task shares; choose another name")
    if name in _SHIPPED or (name in _all() and not replace):
        raise ConfigError(f"task {name!r} is already registered; choose another name"
                          + ("" if name in _SHIPPED else " or pass replace=True"))
    for what, ref in (("task", task), ("section", section)):
        if ref is not None and not isinstance(ref, type) and not (isinstance(ref, str) and ref.count(":") == 1):
            raise ConfigError(f"register({name!r}): {what} must be a class or a 'module:Class' path, got {ref!r}")
    _added[name] = TaskEntry(name, task, section)


def unregister(name: str) -> None:
    """Remove a task added by :func:`register` (the shipped ones stay)."""
    _added.pop(name, None)


def entry(name: str) -> TaskEntry:
    """The registry entry of ``name``.

    Raises:
        ConfigError: for a name that is not registered, listing the ones that are.
    """
    known = _all()
    if not isinstance(name, str) or name not in known:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(known)}")
    return known[name]


def _resolve(ref: str | type, what: str) -> type:
    if isinstance(ref, type):
        return ref
    module, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"the {what} {ref!r} cannot be imported: {err}") from err


def task_class(name: str) -> type:
    """The Task subclass of ``name`` (its module imported on first use)."""
    return _resolve(entry(name).task, f"task {name!r}")


def section_type(name: str) -> type:
    """The config section class of task ``name`` (its ``[name]`` table)."""
    found = entry(name)
    if found.section is not None:
        return _resolve(found.section, f"config section of task {name!r}")
    section = getattr(task_class(name), "section", None)
    if not isinstance(section, type):
        raise ConfigError(f"task {name!r} has no config section: give its Task class a 'section' dataclass "
                          "or pass section= to lstmkit.tasks.register")
    return section


def get_task(name: str) -> Any:
    """A new instance of the registered task ``name`` (it may hold one run's state)."""
    return task_class(name)()


__all__ = ["DEFAULT_TASK", "ENTRY_POINT_GROUP", "SHARED_SECTIONS", "TaskEntry", "entry", "get_task", "names", "register",
           "section_type", "task_class", "unregister"]
