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


_RESERVED = (*SHARED_SECTIONS, "task", "format_version", "options", "to_dict", "to_json", "from_dict")  # RunConfig's


def _entry_points() -> dict[str, TaskEntry]:
    """The tasks installed packages declare, read once. One that cannot be a task name, that is
    taken, or that two packages declare is left out with a warning naming the packages."""
    global _installed
    if _installed is None:
        import logging
        from importlib.metadata import entry_points

        warn = logging.getLogger("lstmkit.tasks").warning
        _installed, origin = {}, {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(getattr(point, "dist", None), "name", None) or "an installed package"
            if not _NAME.fullmatch(point.name) or point.name in _RESERVED or point.name in _SHIPPED:
                warn("the %s entry point %r of %s is left out: %s", ENTRY_POINT_GROUP, point.name, dist,
                     "it is one of lstmkit's own names" if _NAME.fullmatch(point.name)
                     else "a task name is 1-32 lower-case letters, digits and _")
            elif point.name in _installed:
                warn("the %s entry point %r is declared by %s and by %s; %s's is used (uninstall one)",
                     ENTRY_POINT_GROUP, point.name, origin[point.name], dist, origin[point.name])
            else:
                _installed[point.name], origin[point.name] = TaskEntry(point.name, point.value), dist
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
    if name in _RESERVED:
        raise ConfigError(f"task name {name!r} is a config section every task shares or a name RunConfig uses; "
                          "choose another name")
    if name in _SHIPPED or (name in _all() and not replace):
        raise ConfigError(f"task {name!r} is already registered; choose another name"
                          + ("" if name in _SHIPPED else " or pass replace=True"))
    for what, ref in (("task", task), ("section", section)):
        if ref is not None and not isinstance(ref, type) and not (
                isinstance(ref, str) and ref.count(":") == 1 and all(part.strip() for part in ref.split(":"))):
            raise ConfigError(f"register({name!r}): {what} must be a class or a 'module:Class' path, got {ref!r}")
    _added[name] = TaskEntry(name, task, section)


def unregister(name: str) -> None:
    """Remove a task added by :func:`register` (the shipped ones stay)."""
    _added.pop(name, None)
    _checked.clear()


def entry(name: str) -> TaskEntry:
    """The registry entry of ``name``.

    Raises:
        ConfigError: for a name that is not registered, listing the ones that are.
    """
    known = _all()
    if not isinstance(name, str) or name not in known:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(known)}")
    return known[name]


def resolve(ref: str | type, what: str) -> type:
    """The class ``ref`` names (``"module:Class"``, imported now), or ``ref`` itself when it is one."""
    if isinstance(ref, type):
        return ref
    module, _, attr = ref.partition(":")
    try:
        found = getattr(importlib.import_module(module.strip()), attr.strip())
    except ConfigError:
        raise                                # said already, by the registry asked from inside that module
    except Exception as err:                 # noqa: BLE001 - a plugin's module may raise anything on import
        hint = ("; a Task class body cannot build RunConfig(task=...) for its own task: write defaults = "
                "Defaults(...) (lstmkit.training.task)" if "partially initialized" in str(err) else "")
        raise ConfigError(f"the {what} {ref!r} cannot be imported: {type(err).__name__}: {err}{hint}") from err
    if not isinstance(found, type):
        raise ConfigError(f"the {what} {ref!r} is a {type(found).__name__}, not a class")
    return found


_checked: set[type] = set()


def task_class(name: str) -> type:
    """The Task subclass of ``name`` (its module imported on first use).

    Raises:
        ConfigError: for a module that cannot be imported, or a class that is not that task's Task.
    """
    cls = resolve(entry(name).task, f"task {name!r}")
    if cls not in _checked:
        missing = [m for m in ("prepare", "build", "batches", "step", "load") if not callable(getattr(cls, m, None))]
        if missing:
            raise ConfigError(f"task {name!r} is {cls.__name__}, which is not a Task (it lacks {', '.join(missing)}); "
                              "register a subclass of lstmkit.training.task.Task")
        if getattr(cls, "name", None) != name:
            raise ConfigError(f"task {name!r} is registered with {cls.__name__}, whose name is "
                              f"{getattr(cls, 'name', None)!r}; give the class name = {name!r} or register it as "
                              f"{getattr(cls, 'name', None)!r}")
        _checked.add(cls)
    return cls


def section_type(name: str) -> type:
    """The config section class of task ``name`` (its ``[name]`` table): a frozen dataclass
    whose fields are bool, int, float or str (what a TOML table and ``--set`` give).

    Raises:
        ConfigError: for a section that is missing or is not such a dataclass.
    """
    found = entry(name)
    if found.section is not None:
        section = resolve(found.section, f"config section of task {name!r}")
    else:
        section = getattr(task_class(name), "section", None)
        if not isinstance(section, type):
            raise ConfigError(f"task {name!r} has no config section: give its Task class a 'section' dataclass "
                              "or pass section= to lstmkit.tasks.register")
    if section not in _checked:
        _check_section(name, section)
        _checked.add(section)
    return section


def _check_section(name: str, section: type) -> None:
    import dataclasses

    if not dataclasses.is_dataclass(section) or not section.__dataclass_params__.frozen:
        raise ConfigError(f"the config section of task {name!r}, {section.__name__}, must be a frozen dataclass "
                          "(@dataclass(frozen=True)), as lstmkit.config's sections are")
    kinds = {"bool", "int", "float", "str"}
    for f in dataclasses.fields(section):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        if kind not in kinds:
            raise ConfigError(f"{name}.{f.name} is declared {kind!r}; a config field is bool, int, float or str "
                              "(what TOML and --set give)")
        if f.default is dataclasses.MISSING:
            raise ConfigError(f"{name}.{f.name} has no default; every config field needs one")


def get_task(name: str) -> Any:
    """A new instance of the registered task ``name`` (it may hold one run's state)."""
    return task_class(name)()


__all__ = ["DEFAULT_TASK", "ENTRY_POINT_GROUP", "SHARED_SECTIONS", "TaskEntry", "entry", "get_task", "names", "register", "resolve",
           "section_type", "task_class", "unregister"]
