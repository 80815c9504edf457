"""The tasks: one folder each (``lm``, ``classify``, ``tag``, ``forecast``, ``image``).

Each folder holds its config section, data, model, Task (:mod:`lstmkit.training.task`), loaded
run (:mod:`lstmkit.tasks.run`) and export. Which tasks exist is the registry's
(:mod:`lstmkit.registry`); this package is its public face: a task from outside is added with
:func:`register` (or an entry point in the ``lstmkit.tasks`` group) and runs everywhere a
shipped one does, with nothing here edited.
"""

from __future__ import annotations

from lstmkit.registry import ENTRY_POINT_GROUP, TaskEntry, get_task, names, register, unregister

__all__ = ["ENTRY_POINT_GROUP", "TaskEntry", "get_task", "names", "register", "unregister"]
