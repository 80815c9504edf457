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

import datetime as dt
import json
import logging
import os
import shlex
from dataclasses import dataclass
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from lstmkit.boundary import parse_json
from lstmkit import boundary
from lstmkit.config import RunConfig, check_value, dataset_name, describe, field_kind
from lstmkit.errors import ConfigError, DataError, RunDirError
from lstmkit.notices import in_caller_terms
from lstmkit.tasks import REGISTRY, get_task
from lstmkit.training import checkpoint

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
    if value is not None:
        check_value(name, value, field_kind(key), boundary.ArgumentError)
    return f"{key}={_value_text(value)}"


def _value_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


_PART_NAMES = {"path": "train", "valid_path": "valid", "test_path": "test"}    # data.* key -> file written
_ARG_NAMES = {"path": "data", "valid_path": "valid", "test_path": "test"}      # data.* key -> train()'s argument


def _check_parts(task: str, data: Any, valid: Any, test: Any) -> dict[str, tuple[str, Any]]:
    """Each of data/valid/test as ("path", text) for a name or a path, or ("memory", value)
    for in-memory data, checked at the boundary (nothing is written yet)."""
    parts = {"path": data, "valid_path": valid, "test_path": test}
    out: dict[str, tuple[str, Any]] = {}
    for key, value in parts.items():
        if value is None:
            continue
        arg = _ARG_NAMES[key]
        if task == "lm" and isinstance(value, str) and _looks_like_text(value):
            out[key] = ("memory", boundary.text(arg, value))
        elif isinstance(value, (str, os.PathLike, bytes, bytearray)):
            out[key] = ("path", str(boundary.path(arg, value)))
            if isinstance(value, str):
                dataset_name(value)                            # warns when a local folder has that name too
        elif isinstance(value, (list, tuple, dict)) and not value:
            raise boundary.ArgumentError(f"{arg} is empty ({boundary.shown(value)}); give some rows, or leave {arg} out")
        elif task == "classify":
            out[key] = ("memory", boundary.labelled_rows(arg, value))
        elif task == "tag":
            out[key] = ("memory", boundary.tagged_sentences(arg, value))
        elif task == "forecast":
            out[key] = ("memory", boundary.columns(arg, value))
        else:
            what = {"lm": "a string of text", "image": "a folder of MNIST's IDX files"}.get(task, "a path")
            raise boundary.ArgumentError(f"{arg} must be a dataset name or a path (or, for task {task}, {what}), "
                                         f"got {boundary.shown(value)}")
    return out


def _write_memory_data(task: str, parts: dict[str, tuple[str, Any]], folder: Path) -> dict[str, str]:
    """Write the in-memory parts to files the task's readers take; returns data.* overrides."""
    out: dict[str, str] = {}
    for key, (kind, value) in parts.items():
        if kind == "path":
            out[key] = str(Path(value).resolve()) if Path(value).exists() else value
            continue
        folder.mkdir(parents=True, exist_ok=True)
        out[key] = str(_write_part(task, value, folder, _PART_NAMES[key]))
    if task == "lm" and "path" in out and Path(out["path"]).parent == folder and "valid_path" in out:
        out = {"path": str(folder)}                    # a folder of *train* / *valid* / *test* files
    elif task == "lm":
        out = {k: v for k, v in out.items() if k == "path"}
    return out


def _looks_like_text(value: str) -> bool:
    """An lm string that is text to learn, not a name or a path: it has a line break, or is
    longer than any file name."""
    return "\n" in value or len(value) > 255


def _write_part(task: str, value: Any, folder: Path, name: str) -> Path:
    """One checked in-memory part (see :func:`_check_parts`) as a file, written atomically."""
    from lstmkit.files import write_file

    if task == "lm":
        return write_file(folder / f"{name}.txt", value)
    if task == "classify":
        lines = [json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in value]
        return write_file(folder / f"{name}.jsonl", "\n".join(lines) + "\n")
    if task == "tag":
        lines = []
        for number, sentence in enumerate(value, 1):
            for word, tag in sentence:
                if not word.strip() or not tag.strip() or any(c in word + tag for c in "\t\n\r"):
                    raise boundary.ArgumentError(f"{name} sentence {number}: the pair {(word, tag)!r} has an empty "
                                                 "word or tag, or a tab or line break inside one; give one word and "
                                                 "one tag per pair")
            lines += [f"{w}\t{t}" for w, t in sentence] + [""]
        return write_file(folder / f"{name}.tsv", "\n".join(lines))
    if task == "forecast":
        import csv
        import io

        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(list(value))
        writer.writerows(zip(*value.values()))
        return write_file(folder / f"{name}.csv", buffer.getvalue())
    raise DataError(f"task {task} takes its data as a name or a path, not {type(value).__name__}")


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

        run_dir = boundary.path("run_dir", run_dir) if run_dir is not None else _default_run_dir(task)
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


def _default_run_dir(task: str) -> Path:
    return Path("runs") / f"{task}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}"


# --- loading and predicting -----------------------------------------------------------------

def _read_record(path: Path, kind: type) -> Any:
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

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.device = device
        self.cfg: RunConfig = checkpoint.read_run_config(self.run_dir)
        self.history: list[dict] = _read_record(self.run_dir / checkpoint.METRICS, list) or []
        self.test: dict | None = _read_record(self.run_dir / checkpoint.SCORES, dict)
        self.best: dict | None = None

    @property
    def task(self) -> str:
        return self.cfg.task

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.task} run {str(self.run_dir)!r}>"

    def _save_eval(self, scores: dict[str, Any], data: str | Path | None) -> str:
        """Write ``eval.json``: the scores and what was scored (``data``: the path or dataset name
        as given, with the file's size and SHA-256). Scores of other data already there are kept
        under ``"earlier"`` (the last 20), never dropped unsaid. Returns the line that says so."""
        record = {**scores, "data": _data_identity(data)}
        path = self.run_dir / checkpoint.SCORES
        old = _read_record(path, dict) or {}
        earlier = [e for e in old.pop("earlier", []) if isinstance(e, dict)]
        replaced = bool(old) and old.get("data") != record["data"]     # scores of other data: kept, and said
        if replaced:
            earlier.append(old)
        if earlier:
            record["earlier"] = earlier[-20:]
        try:
            checkpoint.save_scores(self.run_dir, record)
        except OSError as err:
            raise RunDirError(f"cannot write {str(self.run_dir / checkpoint.SCORES)!r}: {err.strerror}; make the run "
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


class ClassifierRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks import classify

        self.model, self.vocab, _ = classify.load_classifier(run_dir, device)
        self.labels = classify.run_labels(run_dir)

    def predict(self, texts: str | Iterable[str]) -> list[dict[str, Any]]:
        """``{"text", "label", "probability", "probabilities": {label: p}}`` for each text."""
        from lstmkit.tasks import classify

        texts = boundary.texts("texts", texts)
        probs = classify.predict_probabilities(self.model, self.vocab, self.labels, self.cfg, texts)
        out = []
        for text, row in zip(texts, probs.tolist()):
            best = max(range(len(row)), key=row.__getitem__)
            out.append({"text": text, "label": self.labels[best], "probability": row[best],
                        "probabilities": dict(zip(self.labels, row))})
        return out

    predict_options = frozenset({"texts", "file"})
    eval_options = frozenset({"data", "download", "encoding"})

    def evaluate(self, data: str | Path, download: bool = False, encoding: str | None = None) -> Evaluation:
        """Accuracy, per-class P/R/F1 and confusion on ``imdb`` (its test split) or a table file."""
        boundary.switch("download", download)
        _check_eval_data(data, optional=False)
        from lstmkit.tasks import classify
        from lstmkit.training.plots import plot_confusion

        rep, nll = classify.evaluate_run(self.run_dir, str(data), download, self.device, encoding)
        png = plot_confusion(rep.confusion, rep.labels, self.run_dir / "confusion.png")
        scores = {**rep.to_dict(), "loss": nll}
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"{rep.as_text()}\nloss {nll:.4f}; confusion matrix plot: {png}\n{saved}")

    def predict_lines(self, inputs: list[str], **options: Any) -> list[str]:
        show = boundary.printable                           # one record per line: a text's own \n or \t escaped
        return [f"{show(p['label'])}\t{p['probability']:.4f}\t{show(p['text'] if len(p['text']) <= 60 else p['text'][:57] + '...')}"
                for p in self.predict(inputs)]


class TaggerRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks import tag

        self.model, self.vocabs, _ = tag.load_tagger(run_dir, device)

    @property
    def chinese(self) -> bool:
        return self.cfg.data.path == "ud-zh" or self.cfg.tag.format == "jieba"

    def predict(self, texts: str | Iterable[str], tokenizer: str | None = None):
        """(word, tag) pairs of one text, or a list of them for several texts.

        ``tokenizer``: how texts are split into words (default: jieba for Chinese models,
        else the UD-style English tokenizer).
        """
        from lstmkit.tasks import tag

        single = isinstance(texts, str)
        items = boundary.texts("texts", texts)
        if tokenizer is not None:
            boundary.choice("tokenizer", tokenizer, ("ud_english", "whitespace", "jieba"))
        tokenizer = tokenizer or ("jieba" if self.chinese else "ud_english")
        tagged = tag.tag_texts(self.model, self.vocabs, items, tokenizer)
        return tagged[0] if single else tagged

    predict_options = frozenset({"texts", "file", "tokenizer"})
    eval_options = frozenset({"data", "download", "encoding", "jieba"})

    def evaluate(self, data: str | Path | None = None, download: bool = False, encoding: str | None = None,
                 jieba: bool = False) -> Evaluation:
        """Token accuracy, per-tag P/R/F1 and confusions on ``data`` (default: the treebank's
        test part); for Chinese also end to end from jieba's segmentation."""
        boundary.switch("download", download)
        _check_eval_data(data, optional=True)
        from lstmkit.tasks import tag
        from lstmkit.tasks.tag_data import load_splits, read_sentences

        cfg = self.cfg
        if data is None:
            sentences = load_splits(cfg.data, cfg.tag, download, cfg.train.seed).test
            if not sentences:
                raise DataError(f"the run's data {cfg.data.path!r} has no test part; pass --data FILE")
        else:
            from lstmkit.data.text import check_inherited_encoding

            if encoding is None:
                check_inherited_encoding(data, cfg.data.encoding)
            sentences = read_sentences(data, cfg.tag.format, cfg.tag.column, encoding or cfg.data.encoding)
        rep = tag.evaluate(self.model, sentences, self.vocabs)
        scores, text = rep.to_dict(), rep.as_text()
        if jieba or self.chinese:
            e2e = tag.end_to_end_chinese(self.model, self.vocabs, sentences)
            text += (f"\n\nend to end from raw text segmented by jieba: segmentation F1 {100 * e2e.segmentation_f1:.2f}%, "
                     f"tagging F1 {100 * e2e.tagging_f1:.2f}% (P {100 * e2e.tagging_precision:.2f}, "
                     f"R {100 * e2e.tagging_recall:.2f}; {e2e.system_words} words for {e2e.gold_words} gold)")
            scores["end_to_end_jieba"] = e2e.__dict__
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"{text}\n{saved}")

    def predict_lines(self, inputs: list[str], tokenizer: str | None = None, **options: Any) -> list[str]:
        show = boundary.printable
        return [" ".join(f"{show(w)}/{show(t)}" for w, t in pairs) for pairs in self.predict(inputs, tokenizer)]


class LanguageModelRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks import lm
        from lstmkit.tasks.lm_data import resolve_normalize, word_tokenizer

        self.model, self.vocab, _ = lm.load_lm(run_dir, device)
        self.normalize = resolve_normalize(self.cfg.data, self.cfg.lm)
        self.tokenizer = "char" if self.cfg.lm.level == "char" else word_tokenizer(self.cfg.data)

    def generate(self, prefix: str, length: int = 200, temperature: float | None = None, top_k: int = 0,
                 top_p: float = 1.0, seed: int | None = None) -> str:
        """The prefix and ``length`` more tokens (greedy unless a sampling option is given),
        tokenised and normalised as the model was trained."""
        return "".join(self.stream(prefix, length, temperature, top_k, top_p, seed))

    def stream(self, prefix: str, length: int = 200, temperature: float | None = None, top_k: int = 0,
               top_p: float = 1.0, seed: int | None = None):
        """The same text as :meth:`generate`, in pieces as they are produced.

        Every argument is checked here, before the first piece: a stream never fails half-way
        on a bad value."""
        from lstmkit.tasks import generate

        prefix = boundary.text("prefix", prefix)
        length = boundary.integer("length", length, low=1, high=generate.MAX_LENGTH)
        if temperature is not None:
            temperature = boundary.real("temperature", temperature, low=0.0, low_open=True)
        top_k = boundary.integer("top_k", top_k, low=0)
        top_p = boundary.real("top_p", top_p, low=0.0, high=1.0, low_open=True)
        seed = boundary.seed("seed", seed)
        generate.check_sampling(length, temperature, top_k, top_p)

        return generate.stream(self.model, self.vocab, prefix, length, self.normalize, self.tokenizer,
                               temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)

    def perplexity(self, download: bool = False) -> dict[str, float]:
        """Valid and test scores over the whole parts of the run's corpus."""
        boundary.switch("download", download)
        from lstmkit.tasks import lm

        return lm.evaluate_run(self.run_dir, download)

    eval_options = frozenset({"download"})

    def evaluate(self, download: bool = False) -> Evaluation:
        """Perplexity over the whole validation and test parts of the run's corpus."""
        boundary.switch("download", download)
        scores = self.perplexity(download)
        return Evaluation(scores, "\n".join(f"{k}\t{v:.4f}" for k, v in scores.items()))

    def predict_lines(self, inputs: list[str], **options: Any) -> list[str]:
        raise ConfigError(f"{str(self.run_dir)!r} is a language model: it continues text, it does not label it; "
                          f"use `lstmkit generate {boundary.printable(shlex.quote(str(self.run_dir)))} --prefix \"...\"`")

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """A language model labels nothing: refused, pointing to :meth:`generate`."""
        raise ConfigError(f"{str(self.run_dir)!r} is a language model: it continues text, it does not label it; "
                          "use run.generate(prefix, length=...) or run.stream(...)")


class ForecasterRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        if self.cfg.forecast.stateful:
            raise ConfigError(f"{str(run_dir)!r} is the stateful sine demo; it has no CSV forecaster to load")

    def predict(self, data: Any) -> list[dict[str, Any]]:
        """Forecast the ``horizon`` steps after the last rows of ``data`` (a CSV path, a
        DataFrame or a dict of columns); one dict per step, original units."""
        import csv
        import tempfile

        from lstmkit.tasks import forecast

        source_data = (boundary.path("data", data) if isinstance(data, (str, os.PathLike, bytes, bytearray))
                       else boundary.columns("data", data))
        if not isinstance(source_data, Path):
            from lstmkit.errors import listing

            needed = forecast.read_scaler(checkpoint.run_file(self.run_dir, forecast.SCALER_FILE))["inputs"]
            missing = [c for c in needed if c not in source_data]
            if missing:
                raise boundary.ArgumentError(f"data lacks the column(s) {listing(missing)} that the forecaster reads; "
                                             f"it has {listing(source_data)}")
        with tempfile.TemporaryDirectory() as tmp:
            source = source_data if isinstance(source_data, Path) else _write_part("forecast", source_data, Path(tmp),
                                                                                      "input")
            # columns given in memory: named as the caller did, not by the scratch file
            with in_caller_terms({} if isinstance(source_data, Path) else {str(source): "data"}):
                out = forecast.forecast_csv(self.run_dir, source, Path(tmp) / "forecast.csv")
            with out.open(encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        date = self.cfg.forecast.date_column
        return [{k: int(v) if k == "step" else v if k == date else float(v) for k, v in r.items()} for r in rows]

    predict_options = frozenset({"data", "output", "force"})

    def evaluate(self, data: str | Path | None = None, download: bool = False) -> Evaluation:
        """MSE/MAE (scaled and in original units) on the test part of ``data`` (default: the
        run's own), with the forecast plot."""
        boundary.switch("download", download)
        _check_eval_data(data, optional=True)
        from lstmkit.tasks import forecast

        model, cfg, _ = forecast.load_forecaster(self.run_dir)
        prepared = forecast.prepare(str(data) if data is not None else cfg.data.path, cfg.forecast, download)
        scores = forecast.score(model, prepared, self.run_dir, cfg.forecast.plot_steps)
        saved = self._save_eval(scores, data)
        return Evaluation(scores, "\n".join([*(f"{k}\t{v:.6g}" for k, v in scores.items()), saved]))

    def predict_lines(self, inputs: list[str], data: str | Path | None = None, output: str | Path | None = None,
                      force: bool = False, **options: Any) -> list[str]:
        boundary.switch("force", force)
        import os

        from lstmkit.training.rundir import check_output
        from lstmkit.files import output_name
        from lstmkit.tasks import forecast
        from lstmkit.training.rundir import own_files

        if data is None:
            raise ConfigError("a forecaster predicts from a CSV: pass --data new.csv (its last input_len rows are read)")
        default = self.run_dir / "forecast.csv"
        target = output_name(output, example=default.name) if output is not None else default
        ours = os.path.realpath(target) == os.path.realpath(default)
        if ours and not _written_by_forecast(default):
            from lstmkit.files import OutputError

            raise OutputError(f"{str(default)!r} already exists and is not a forecast that predict wrote (it does not "
                              "start with 'step,'); move it, or write elsewhere with --output")
        check_output(target, protected=own_files(self.run_dir, exclude=(default.name,)), inputs=[data], force=force,
                     replaceable=ours)
        try:
            out = forecast.forecast_csv(self.run_dir, data, target)
        except PermissionError as err:
            raise ConfigError(f"cannot write {str(target)!r}: {err.strerror}; choose another --output") from None
        return [f"forecast written to {out}"]


class ImageRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks import image

        self.model, _ = image.load_image_model(run_dir)

    def predict(self, images: Any, invert: bool = False) -> list[dict[str, Any]]:
        """Digits of image files (PNG/.npy/.txt) or 28x28 arrays/tensors: label and probabilities."""
        from lstmkit.tasks import image

        if not isinstance(invert, bool):
            raise boundary.ArgumentError(f"invert must be True or False, got {boundary.shown(invert)}")
        items = _image_items(images)
        if not items:
            raise boundary.ArgumentError("images is empty; give one or more image files or 28x28 arrays")
        out = []
        for number, item in enumerate(items, 1):
            if isinstance(item, (bytes, bytearray)):
                raise boundary.ArgumentError(f"images[{number - 1}] is bytes; give a file path or a 28x28 array (for a "
                                             "PNG's bytes: numpy.asarray(PIL.Image.open(io.BytesIO(data)).convert('L')))")
            if isinstance(item, (str, os.PathLike)):
                pixels = image.read_image(boundary.path(f"images[{number - 1}]", item), invert)
            else:
                dtype = getattr(item, "dtype", None)                   # torch: .is_complex; numpy: .kind "c"
                if getattr(dtype, "is_complex", False) is True or getattr(dtype, "kind", "") == "c":
                    raise boundary.ArgumentError(f"images[{number - 1}] holds complex numbers ({item.dtype}); "
                                                 "give real pixel values (0-255 or 0-1)")
                try:
                    array = torch.as_tensor(item, dtype=torch.float64).numpy()
                except (TypeError, ValueError, RuntimeError, OverflowError):
                    where = boundary.ragged(f"images[{number - 1}]", item)
                    raise boundary.ArgumentError(f"images[{number - 1}] must be an image file or a 28x28 array of "
                                                 f"numbers, got {boundary.shown(item)}"
                                                 + (f": {where}" if where else "")) from None
                pixels = image.check_array(array, f"images[{number - 1}]", invert)
            label, probs = image.predict_image(self.model, self.cfg, pixels)
            out.append({"label": label, "probability": float(probs[label]), "probabilities": probs.tolist()})
        return out

    predict_options = frozenset({"texts", "invert"})

    def evaluate(self, data: str | Path | None = None, download: bool = False) -> Evaluation:
        """Accuracy, per-class P/R/F1 and the confusion plot on MNIST's test set."""
        boundary.switch("download", download)
        _check_eval_data(data, optional=True)
        from lstmkit.data.datasets.mnist import load_mnist
        from lstmkit.tasks import image
        from lstmkit.training.classification_metrics import report
        from lstmkit.training.plots import plot_confusion

        mnist = load_mnist(str(data) if data not in (None, "mnist") else None, download)
        rep = report(mnist.test_labels.long(), image.predict(self.model, image.to_sequences(mnist.test_images, self.cfg.image)),
                     [str(d) for d in range(10)])
        png = plot_confusion(rep.confusion, rep.labels, self.run_dir / "confusion.png")
        scores = rep.to_dict()
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"{rep.as_text()}\nconfusion matrix plot: {png}\n{saved}")

    def predict_lines(self, inputs: list[str], invert: bool = False, **options: Any) -> list[str]:
        if not inputs:
            raise ConfigError("pass one or more image files (28x28 PNG, .npy or .txt)")
        return [f"{p['label']}\t{p['probability']:.4f}\t{boundary.printable(path)}"
                for path, p in zip(inputs, self.predict(inputs, invert))]


def _image_items(images: Any) -> list[Any]:
    """The images of ``predict``: one image (a path, a 28x28 array, or 28 rows of 28 numbers
    as lists) or several (a list of them, or an (N, 28, 28) array)."""
    def numbers(row: Any) -> bool:
        return isinstance(row, (list, tuple)) and len(row) == 28 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)

    if isinstance(images, (list, tuple)):
        if len(images) == 28 and all(numbers(r) for r in images):
            return [images]                                  # one image written as nested lists
        return list(images)
    shape = getattr(images, "shape", None)
    if shape is not None and len(shape) == 3 and tuple(shape[1:]) == (28, 28):
        return list(images)                                  # a stack of images
    return [images]


def _data_identity(data: str | Path | None) -> dict[str, Any]:
    """What an evaluation scored: the name as given, and for a file its size and SHA-256."""
    from lstmkit.training.manifest import sha256_file

    if data is None:
        return {"given": "the run's own test part"}
    identity: dict[str, Any] = {"given": str(data)}
    path = Path(data)
    if path.is_file():
        identity.update(bytes=path.stat().st_size, sha256=sha256_file(path))
    return identity


def _check_eval_data(data: Any, optional: bool) -> None:
    """``evaluate(data)`` reads a file or a named dataset; anything else is refused by name."""
    if data is None and optional:
        return
    if isinstance(data, (list, tuple, dict)) or (data is not None and hasattr(data, "__array__")):
        raise boundary.ArgumentError(f"evaluate reads a file or a dataset name, got {boundary.shown(data)}; write data "
                                     "in memory to a file first (CSV, JSON Lines, ...), or use predict")
    boundary.path("data", data)


def _written_by_forecast(path: Path) -> bool:
    """Whether the run's default ``forecast.csv`` is absent or one that ``predict`` wrote (its
    header starts with ``step``): a user's own file of that name is never replaced unasked."""
    try:
        with open(path, "rb") as f:
            return f.readline(200).startswith(b"step,")
    except FileNotFoundError:
        return True
    except OSError:
        return False


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
    return list(REGISTRY)


def settings(task: str) -> dict[str, Any]:
    """Every setting of ``task`` with its default, as ``section.field``."""
    get_task(boundary.text("task", task))
    return {key: default for key, default, _ in describe(task)}


__all__ = ["ClassifierRun", "Evaluation", "ForecasterRun", "ImageRun", "LanguageModelRun", "Run", "TaggerRun", "load",
           "settings", "tasks", "train"]

