"""The Python API: train any task in one call, load any run, predict.

    import lstmkit
    run = lstmkit.train("classify", data=rows, valid=valid_rows, epochs=5, hidden_size=256)
    lstmkit.load(run.run_dir).predict(["a moving film", "a dull mess"])
    lstmkit.load("runs/lm-...").generate("the time", length=200, temperature=0.8)

``data`` (and ``valid``, ``test``) is a dataset name or a path, as on the command line, or data
in memory: (text, label) pairs or ``{"text": ..., "label": ...}`` rows for ``classify``;
sentences as lists of (word, tag) pairs for ``tag``; a string for ``lm``; a pandas DataFrame
(or a dict of columns) for ``forecast``. In-memory data is written to ``RUN_DIR/data/`` and
read back by the same readers as files, so the run can be evaluated and resumed later.

Settings are keyword arguments: a field name (``hidden_size=256``, ``crf=True``, ``epochs=5``)
when it names one field of the task's config, else ``section__field`` (``data__min_freq=1``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any


from lstmkit import boundary
from lstmkit.config import check_value, dataset_name, describe, field_kind
from lstmkit.errors import ConfigError
from lstmkit.notices import in_caller_terms
from lstmkit.tasks import get_task, names as task_names
from lstmkit.tasks.run import Evaluation, Run
from lstmkit.training import checkpoint
from lstmkit.training.rundir import default_run_dir

logger = logging.getLogger(__name__)


# --- training -------------------------------------------------------------------------------

def _override_key(task: str, name: str) -> str:
    """``section.field`` for a keyword argument; plain names must name one field the task reads."""
    if "__" in name:
        return name.replace("__", ".", 1)
    matches = [key for key, _, _ in describe(task) if key.split(".", 1)[1] == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"task {task} has no setting {name!r}; see `lstmkit config {task}` for its settings")
    raise ConfigError(f"{name!r} is ambiguous for task {task} ({', '.join(matches)}); write it as "
                      + " or ".join(m.replace('.', '__') for m in matches))


def _setting(task: str, defaults: Any, name: str, value: Any) -> str:
    """``section.field=value`` for a keyword setting, its type checked here against the field's
    default, so that the error names the keyword (``epochs=True``), not a ``--set`` flag."""
    key = _override_key(task, name)
    kind = field_kind(key, task)                  # another task's section or an unknown field: said here
    if value is None:                             # "None" would be read as text, or fail as a --set
        section, _, field = key.partition(".")
        raise boundary.ArgumentError(f"{name}=None is not a value of {key}; leave it out for its default "
                                     f"({defaults.to_dict()[section][field]!r})")
    check_value(name, value, kind, boundary.ArgumentError)
    return f"{key}={_value_text(value)}"


def _value_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


_PART_NAMES = {"path": "train", "valid_path": "valid", "test_path": "test"}    # data.* key -> file written
_ARG_NAMES = {"path": "data", "valid_path": "valid", "test_path": "test"}      # data.* key -> train()'s argument


def _check_parts(task: str, data: Any, valid: Any, test: Any) -> dict[str, tuple[str, Any]]:
    """Each of data/valid/test as ("path", text) for a name or a path, or ("memory", value)
    for in-memory data (the task says what it takes), checked at the boundary (nothing is
    written yet)."""
    spec = get_task(task)
    parts = {"path": data, "valid_path": valid, "test_path": test}
    out: dict[str, tuple[str, Any]] = {}
    for key, value in parts.items():
        if value is None:
            continue
        arg = _ARG_NAMES[key]
        if isinstance(value, (list, tuple, dict)) and not value:
            raise boundary.ArgumentError(f"{arg} is empty ({boundary.shown(value)}); give some rows, or leave {arg} out")
        memory = spec.memory_part(arg, value)
        if memory is not None:
            out[key] = ("memory", memory)
        elif isinstance(value, boundary.PATH_TYPES):
            out[key] = ("path", str(boundary.path(arg, value)))
            if isinstance(value, str):
                dataset_name(value)                            # warns when a local folder has that name too
        else:
            raise boundary.ArgumentError(f"{arg} must be a dataset name or a path (or, for task {task}, "
                                         f"{spec.memory_help}), got {boundary.shown(value)}")
    return out


def _write_memory_data(task: str, parts: dict[str, tuple[str, Any]], folder: Path) -> dict[str, str]:
    """Write the in-memory parts to files the task's readers take (the task writes them);
    returns data.* overrides."""
    spec = get_task(task)
    out: dict[str, str] = {}
    for key, (kind, value) in parts.items():
        if kind == "path":
            out[key] = str(Path(value).resolve()) if Path(value).exists() else value
            continue
        folder.mkdir(parents=True, exist_ok=True)
        out[key] = str(spec.write_part(value, folder, _PART_NAMES[key]))
    return spec.data_keys(out, folder)


def train(task: str, data: Any = None, *, valid: Any = None, test: Any = None, run_dir: str | Path | None = None,
          config: str | Path | None = None, resume: bool = False, overwrite: bool = False, download: bool = False,
          progress: bool = False, **settings: Any) -> Run:
    """Train ``task`` and return the trained run (see the module docstring).

    Args:
        task: lm, classify, tag, forecast or image.
        data, valid, test: names, paths or in-memory data.
        run_dir: where the run is saved (default ``runs/<task>-<time>``); with ``resume`` the
            run to go on with.
        overwrite: replace the run already in ``run_dir`` (removed only once the new data
            are read; nothing lstmkit did not write is touched).
        config: a TOML file with the task's tables.
        settings: config values by field name, e.g. ``epochs=5, hidden_size=256``.

    Raises:
        ConfigError, DataError: for settings or data the task cannot use.
    """
    from lstmkit.training import recipe

    for flag, value in (("resume", resume), ("overwrite", overwrite), ("download", download), ("progress", progress)):
        boundary.switch(flag, value)
    spec = get_task(boundary.text("task", task))
    if config is not None:
        config = boundary.path("config", config)
    if resume:
        if run_dir is None:
            raise ConfigError("resume needs run_dir, the run to go on with")
        cfg = recipe.resume_config(boundary.path("run_dir", run_dir), settings.pop("epochs", None))
        if settings:
            raise ConfigError(f"a resumed run keeps its settings; only epochs may change, got {sorted(settings)}")
        fitted = recipe.fit(cfg, run_dir, resume=True, progress=progress, download=download)
    else:
        from lstmkit.config import load_config
        from lstmkit.training.rundir import RunDirectory

        run_dir = boundary.path("run_dir", run_dir) if run_dir is not None else default_run_dir(task)
        overrides = [_setting(task, spec.defaults, k, v) for k, v in settings.items()]
        load_config(config, overrides, base=spec.defaults)          # settings checked before anything is written
        parts = _check_parts(task, data, valid, test)
        # The folder is claimed (locked) before in-memory data is written into it; with overwrite
        # the old run is cleared only once the new data are read.
        with RunDirectory(run_dir, overwrite=overwrite) as claim:
            staging = Path(run_dir) / "data"
            number = 2
            while claim.had_run and staging.exists():                 # the old run's data stay until it is cleared
                staging, number = Path(run_dir) / f"data-{number}", number + 1
            written = _write_memory_data(task, parts, staging)
            for key, value in written.items():
                overrides.append(f"data.{key}={value}")
            cfg = load_config(config, overrides, base=spec.defaults)
            scratch = {path: f"{_ARG_NAMES[key]} (in memory)" for key, path in written.items()}
            with in_caller_terms(scratch, rows=False):      # in the caller's terms: data, not our scratch file
                fitted = recipe.fit(cfg, run_dir, overwrite=overwrite, progress=progress, download=download,
                                    claim=claim)
    run = load(fitted.run_dir)
    run.history, run.test, run.best = fitted.history, fitted.test, fitted.best
    return run


# --- loading and predicting -----------------------------------------------------------------

def load(run_dir: str | Path, device: str = "cpu") -> Run:
    """The run in ``run_dir``, whatever its task, ready to predict (nothing is unpickled).

    Raises:
        RunDirError: if ``run_dir`` is not a run directory.
    """
    run_dir = boundary.path("run_dir", run_dir)
    device = boundary.text("device", device)
    cfg = checkpoint.read_run_config(run_dir)
    return get_task(cfg.task).load(run_dir, device)


def tasks() -> list[str]:
    """The task names :func:`train` takes."""
    return list(task_names())


def settings(task: str) -> dict[str, Any]:
    """Every setting of ``task`` with its default, as ``section.field``."""
    get_task(boundary.text("task", task))
    return {key: default for key, default, _ in describe(task)}


__all__ = ["Evaluation", "Run", "load", "settings", "tasks", "train"]

