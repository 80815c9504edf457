"""A trained run, loaded: what :func:`lstmkit.load` returns, whatever the task.

:class:`Run` reads the run's config, history and scores; each task's subclass (beside its task,
e.g. :mod:`lstmkit.tasks.classify.run`) adds the model and ``predict``/``evaluate``. The task
registry says which (``Task.load``): nothing above the tasks names a Run class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmkit import boundary
from lstmkit.boundary import parse_json
from lstmkit.config import RunConfig
from lstmkit.errors import ConfigError, RunDirError

# Read without torch (a task's module may define its Run beside its Task): the checkpoint
# module, which loads torch, is imported when a run is loaded.
METRICS, SCORES = "metrics.json", "eval.json"           # as lstmkit.training.checkpoint names them

logger = logging.getLogger("lstmkit.api")          # the logger these messages always had


def read_record(path: Path, kind: type) -> Any:
    """A run's metrics or scores; a damaged one is reported and skipped (the model does not need it)."""
    if not path.is_file():
        return None
    try:
        value = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        logger.warning("ignoring %s: it cannot be read (%s)", path, err)
        return None
    if not isinstance(value, kind):
        logger.warning("ignoring %s: it does not hold a JSON %s", path, "list" if kind is list else "object")
        return None
    return value


@dataclass(frozen=True)
class ServeInput:
    """What ``lstmkit serve``'s ``/predict`` reads for a kind of run (:attr:`Run.serve_input`)."""

    field: str                       # the request's field: "texts", "data" or "images"
    need: str                        # said when it is missing or empty
    batched: bool = False            # a list in, a list out: concurrent requests share one model call
    options: tuple[str, ...] = ()    # other fields it reads ("invert")


@dataclass
class Evaluation:
    scores: dict[str, Any]     # what eval.json holds
    text: str                  # the report as the command line prints it


class Run:
    """A trained run: its config, history and model, ready to predict.

    ``predict_options``: the options of ``lstmkit predict`` that this kind of run reads; the
    others are refused rather than ignored.
    """

    predict_options: frozenset[str] = frozenset()
    eval_options: frozenset[str] = frozenset({"data", "download"})
    generates: bool = False                 # a language model: generate and stream
    serve_input: ServeInput | None = None   # what /predict reads; None: not served by /predict
    inspect_input: str = "text"             # the field /inspect reads: text, data or images

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.device = device
        from lstmkit.training import checkpoint

        self.cfg: RunConfig = checkpoint.read_run_config(self.run_dir)
        self.history: list[dict] = read_record(self.run_dir / METRICS, list) or []
        self.test: dict | None = read_record(self.run_dir / SCORES, dict)
        self.best: dict | None = None

    def serve_info(self) -> dict[str, Any]:
        """What ``GET /models`` says of the run besides its name and task (labels, input rows)."""
        return {}

    def served(self, results: list[Any]) -> list[Any]:
        """``predict``'s results as ``/predict`` answers them (JSON objects)."""
        return results

    def inspect_stack(self, value: Any, invert: bool, max_steps: int) -> tuple[list[str], Any, list, dict[str, Any]]:
        """For the inspector (:mod:`lstmkit.serve.inspect`): the step names of ``value`` (what
        :attr:`inspect_input` names), the input of the recurrent stack (1, T, I) for its first
        ``max_steps`` steps, the stack's layers, and facts to show beside them (a prediction).

        Raises:
            ValueError: for a value the model cannot read.
        """
        raise ValueError(f"a {self.task} run cannot be inspected")

    def check_eval_data(self, data: Any) -> None:
        """Refuse, in the command line's words, evaluation data the run needs but lacks, or takes not."""

    @property
    def task(self) -> str:
        return self.cfg.task

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.task} run {str(self.run_dir)!r}>"

    def _save_eval(self, scores: dict[str, Any], data: str | Path | None) -> str:
        """Write ``eval.json``: the scores and what was scored (``data``: the path or dataset name
        as given, with the file's size and SHA-256). Scores of other data already there are kept
        under ``"earlier"`` (the last 20), never dropped unsaid. Returns the line that says so."""
        record = {**scores, "data": data_identity(data)}
        from lstmkit.training import checkpoint

        path = self.run_dir / SCORES
        old = read_record(path, dict) or {}
        earlier = [e for e in old.pop("earlier", []) if isinstance(e, dict)]
        replaced = bool(old) and old.get("data") != record["data"]     # scores of other data: kept, and said
        if replaced:
            earlier.append(old)
        if earlier:
            record["earlier"] = earlier[-20:]
        try:
            checkpoint.save_scores(self.run_dir, record)
        except OSError as err:
            raise RunDirError(f"cannot write {str(self.run_dir / SCORES)!r}: {err.strerror}; make the run "
                              "directory writable") from None
        self.test = record
        what = repr(before.get("given")) if isinstance(before := old.get("data"), dict) else "the test part at training"
        kept = f"; the scores it held, of {what}, are kept under 'earlier'" if replaced else ""
        return f"scores of {record['data']['given']!r} saved to {str(path)!r}{kept}"

    def predict_lines(self, inputs: list[str], **options: Any) -> list[str]:
        raise ConfigError(f"a {self.task} run has no `lstmkit predict`")

    def generate(self, *args: Any, **kwargs: Any) -> str:
        """Only a language model generates: any other run refuses, pointing to ``predict``."""
        raise ConfigError(f"{str(self.run_dir)!r} is a {self.task} run: it labels its input, it does not generate "
                          "text; use run.predict(...) (a language model run generates)")

    stream = generate


def data_identity(data: str | Path | None) -> dict[str, Any]:
    """What an evaluation scored: the name as given, and for a file its size and SHA-256."""
    from lstmkit.training.manifest import sha256_file

    if data is None:
        return {"given": "the run's own test part"}
    identity: dict[str, Any] = {"given": str(data)}
    path = Path(data)
    if path.is_file():
        identity.update(bytes=path.stat().st_size, sha256=sha256_file(path))
    return identity


def check_eval_data(data: Any, optional: bool) -> None:
    """``evaluate(data)`` reads a file or a named dataset; anything else is refused by name."""
    if data is None and optional:
        return
    if isinstance(data, (list, tuple, dict)) or (data is not None and hasattr(data, "__array__")):
        raise boundary.ArgumentError(f"evaluate reads a file or a dataset name, got {boundary.shown(data)}; write data "
                                     "in memory to a file first (CSV, JSON Lines, ...), or use predict")
    boundary.path("data", data)


__all__ = ["Evaluation", "Run", "ServeInput", "check_eval_data", "data_identity", "read_record"]
