"""One typed config path, from a TOML file and ``--set section.field=value`` to the model.

Each section is a small frozen dataclass that checks itself; they compose into
:class:`RunConfig`, which travels with the weights as ``config.json``. The shared sections
(``[model]``, ``[data]``, ``[vectors]``, ``[train]``) live here; each task's own section lives in
its folder (``lstmkit/tasks/lm/options.py`` is ``[lm]``) and is found through the registry.
A run's config holds its own task's section only (format 4). A value the chosen task does not
use is an error naming the task and the field (:func:`check_used`), never silently ignored.
Each field's meaning is its metadata (:func:`setting`), shown by ``lstmkit config TASK`` and
``lstmkit train TASK --help``.

Format 2 moved the task-specific fields of format 1 out of ``[model]``/``[data]``/``[train]``
(:data:`MOVED`); formats 2 and 3 kept every task's section. Run directories of formats 1 to 3
are still read.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from lstmkit import boundary, registry
from lstmkit.errors import ConfigError

FORMAT_VERSION = 4
MAX_WIDTH, MAX_LAYERS = 65_536, 64     # sizes beyond any model that fits in memory


def setting(default: Any, help: str) -> Any:
    """A config field with its meaning, which ``lstmkit config TASK`` and ``--help`` show."""
    return field(default=default, metadata={"help": help})


def check_seed(name: str, value: int) -> None:
    if not 0 <= value <= boundary.MAX_SEED:
        raise ConfigError(f"{name} must be in 0..{boundary.MAX_SEED} (2**63 - 1), got {boundary.shown(value, typed=False)}; any seed in that "
                          "range gives a reproducible run")


def check_choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")


def check_at_least(name: str, value: float, low: float) -> None:
    if not value >= low:                        # also catches nan
        raise ConfigError(f"{name} must be >= {low}, got {value}")


def check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class ModelConfig:
    cell: str = setting("lstm", "a cell of lstmkit.nn.cells.REGISTRY: lstm, gru, peephole, lnlstm (lstmkit config lists them)")
    backend: str = setting("native", "native (fused kernels) or reference (Python loop)")
    embedding_dim: int = setting(64, "lm, classify, tag: word embedding size")
    hidden_size: int = setting(256, "units per direction of each recurrent layer")
    num_layers: int = setting(1, "stacked recurrent layers")
    dropout: float = setting(0.3, "on embeddings, between layers and before the head")
    bidirectional: bool = setting(False, "classify, image (the tagger is always bidirectional)")

    def __post_init__(self) -> None:
        from lstmkit.nn import cells             # the registry alone: no torch

        check_choice("model.cell", self.cell, tuple(sorted(cells.names())))
        check_choice("model.backend", self.backend, ("native", "reference"))
        cells.check_backend(self.cell, self.backend)
        for name, most in (("embedding_dim", MAX_WIDTH), ("hidden_size", MAX_WIDTH), ("num_layers", MAX_LAYERS)):
            check_at_least(f"model.{name}", getattr(self, name), 1)
            if getattr(self, name) > most:
                raise ConfigError(f"model.{name} must be <= {most}, got {getattr(self, name)} (a layer that size "
                                  "does not fit in memory); choose a smaller value")
        check_fraction("model.dropout", self.dropout)


@dataclass(frozen=True)
class DataConfig:
    path: str = setting("", "a named dataset or a file/folder (see each task); lm: empty = the shipped Time Machine")
    valid_path: str = setting("", "classify, tag: a separate validation file (else valid_fraction)")
    test_path: str = setting("", "classify, tag: a separate test file")
    encoding: str = setting("utf-8", "of the data files (a Python codec name)")
    valid_fraction: float = setting(0.1, "lm: the tail of the text; classify, tag: a seeded share of train")
    tokenizer: str = setting("basic_english", "classify and word-level lm: a key of lstmkit.data.tokenize.TOKENIZERS")
    min_freq: int = setting(1, "vocabulary: rarer tokens become <unk>")
    max_vocab: int = setting(0, "vocabulary size limit, 0 = no limit")

    def __post_init__(self) -> None:
        check_choice("data.tokenizer", self.tokenizer, ("basic_english", "char", "jieba", "ud_english", "whitespace"))
        check_at_least("data.min_freq", self.min_freq, 1)
        check_at_least("data.max_vocab", self.max_vocab, 0)
        if not 0.0 <= self.valid_fraction < 0.5:
            raise ConfigError(f"data.valid_fraction must be in [0, 0.5), got {self.valid_fraction}")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ConfigError(f"unknown data.encoding {self.encoding!r}; e.g. utf-8, cp1252, gbk") from None


@dataclass(frozen=True)
class VectorsConfig:
    path: str = setting("", "GloVe/word2vec/fastText file, \"word2vec\" to train one, \"\" = none")
    freeze: bool = setting(False, "keep the pretrained vectors fixed")
    lowercase_fallback: bool = setting(True, "a word without a vector takes its lower-case form's")
    unknown_init: str = setting("normal", "rows for words without a vector: normal or zeros")
    word2vec_dim: int = setting(100, "when path = word2vec")
    word2vec_epochs: int = setting(5, "when path = word2vec")
    word2vec_unlabelled: bool = setting(True, "imdb: also train word2vec on the 50,000 unlabelled reviews")

    def __post_init__(self) -> None:
        check_choice("vectors.unknown_init", self.unknown_init, ("normal", "zeros"))
        check_at_least("vectors.word2vec_dim", self.word2vec_dim, 1)
        check_at_least("vectors.word2vec_epochs", self.word2vec_epochs, 1)
        if self.freeze and not self.path:
            raise ConfigError("vectors.freeze keeps pretrained vectors fixed, but no vectors are given; "
                              "pass --vectors PATH (or drop --freeze)")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = setting(40, "passes over the training data (at most; see patience, max_minutes)")
    batch_size: int = setting(32, "rows per step (LM: parallel streams)")
    lr: float = setting(0.005, "learning rate")
    optimizer: str = setting("adam", "adam (AdamW when weight_decay > 0) or sgd")
    clip_norm: float = setting(1.0, "global gradient norm; 0 disables clipping")
    seed: int = setting(0, "seeds initialisation, dropout and the data order")
    device: str = setting("cpu", "cpu, cuda, cuda:N")
    max_minutes: float = setting(0.0, "a hard cap on training time; 0 = no limit")
    stop_mid_epoch: bool = setting(False, "the cap may end an epoch part-way (it is validated and may be kept)")
    patience: int = setting(0, "early stopping on the task's validation metric; 0 = off")
    weight_decay: float = setting(0.0, "decoupled weight decay (AdamW) or L2 (SGD)")
    bf16: bool = setting(False,
        "bfloat16 autocast; recurrent layers stay fp32 where the CPU lacks bf16 kernels (detected at run "
        "time)")
    lr_schedule: str = setting("none",
        "none; step: x lr_decay per epoch after decay_start epochs (Zaremba et al.); plateau: x lr_decay when"
        " the validation metric does not improve; cosine: to 0 over the epochs")
    lr_decay: float = setting(0.5, "factor of the step and plateau schedules")
    decay_start: int = setting(0, "step schedule: epochs at the full learning rate")
    diverge_factor: float = setting(10.0,
        "stop when the smoothed training loss exceeds this many times its starting level (and on any "
        "non-finite loss); 0 = only non-finite")

    def __post_init__(self) -> None:
        check_seed("train.seed", self.seed)
        for name in ("epochs", "batch_size"):
            check_at_least(f"train.{name}", getattr(self, name), 1)
        for name in ("lr", "clip_norm", "max_minutes", "weight_decay", "lr_decay", "diverge_factor"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"train.{name} must be a finite number, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        for name in ("clip_norm", "max_minutes", "patience", "weight_decay", "decay_start", "diverge_factor"):
            check_at_least(f"train.{name}", getattr(self, name), 0)
        check_choice("train.optimizer", self.optimizer, ("adam", "sgd"))
        check_choice("train.lr_schedule", self.lr_schedule, ("cosine", "none", "plateau", "step"))
        if not 0.0 < self.lr_decay <= 1.0:
            raise ConfigError(f"train.lr_decay must be in (0, 1], got {self.lr_decay}")
        if not self.device or not self.device.split(":")[0] in ("cpu", "cuda"):
            raise ConfigError(f"unknown train.device {self.device!r}; use cpu, cuda or cuda:N")


SHARED: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "vectors": VectorsConfig, "train": TrainConfig}
assert tuple(SHARED) == registry.SHARED_SECTIONS      # the registry keeps task names off these

# Format 1 kept these fields in the shared sections.
MOVED: dict[str, str] = {
    **{f"data.{f}": f"lm.{f}" for f in ("level", "normalize")},
    **{f"train.{f}": f"lm.{f}" for f in ("num_steps", "sampling", "variable_bptt", "eval_batch_size", "asgd",
                                         "asgd_nonmono", "ar", "tar")},
    **{f"model.{f}": f"lm.{f}" for f in ("dropout_input", "dropout_hidden", "locked_dropout", "dropout_embed",
                                         "weight_drop", "tie_weights", "init_range")},
    **{f"data.{f}": f"classify.{f}" for f in ("text_column", "label_column", "max_len")},
    "model.pooling": "classify.pooling",
    "data.tag_column": "tag.column", "data.tag_format": "tag.format",
    **{f"model.{f}": f"tag.{f}" for f in ("crf", "char_embedding_dim", "char_hidden_size")},
    **{f"model.{f}": f"image.{f}" for f in ("forget_bias", "chrono_init")},
}


def section_type(section: str, task: str) -> type:
    """The class of config section ``section`` in a config of ``task``: a shared one, or the
    task's own (``[lm]`` for task lm).

    Raises:
        ConfigError: for another task's section (naming it) or an unknown one (listing the known).
    """
    if section in SHARED:
        return SHARED[section]
    if section == task:
        return registry.section_type(task)
    if section in registry.names():
        raise ConfigError(f"[{section}] is task {section}'s section; task {task} does not read it: remove it "
                          f"(task {task} reads [{task}] and {', '.join(f'[{s}]' for s in SHARED)})")
    raise ConfigError(f"unknown config section {section!r}; known: task, {', '.join(SHARED)}, {task}")


def check_value(where: str, value: Any, kind: str, error: type[Exception] = ConfigError) -> Any:
    """``value`` as a field's declared ``kind`` (bool, int, float, str), else ``error`` naming
    ``where`` and the value. The one type rule for a setting, whether it comes from a TOML
    table or from a keyword of :func:`lstmkit.train` (which passes ``ArgumentError``); the
    boundary's functions write the messages (an int for a float is fine, a bool never is a number).
    """
    try:
        if kind == "bool":
            if not isinstance(value, bool):
                raise boundary.ArgumentError(f"{where} must be true or false, got {boundary.shown(value)}")
        elif kind == "int":
            boundary.integer(where, value)
        elif kind == "float":
            boundary.real(where, value)
        elif kind == "str":
            boundary.text(where, value)
    except boundary.ArgumentError as err:
        raise error(str(err)) from None
    return float(value) if kind == "float" else value


def field_kind(key: str, task: str) -> str:
    """The declared type of ``section.field`` (bool, int, float, str, ...) in a config of ``task``."""
    section, _, name = key.partition(".")
    kinds = _field_kinds(section_type(section, task))
    if name not in kinds:
        raise ConfigError(f"unknown field {name!r} in [{section}]; known: {', '.join(sorted(kinds))}")
    return kinds[name]


def _field_kinds(kind: type) -> dict[str, str]:
    return {f.name: (f.type if isinstance(f.type, str) else f.type.__name__) for f in fields(kind)}


def field_help(kind: type) -> dict[str, str]:
    """Each field's meaning, from its :func:`setting` metadata."""
    return {f.name: f.metadata.get("help", "") for f in fields(kind)}


def _not_read(task: str, section: str, values: dict[str, Any]) -> ConfigError:
    """The error for a value of another task's section, e.g. ``tag.crf=True is not used by task lm``."""
    uses = sorted(getattr(registry.task_class(task), "uses", ()))
    name, value = next(iter(values.items())) if values else ("", None)
    try:
        kinds = _field_kinds(registry.section_type(section))
        value = _parse_value(value, kinds[name]) if isinstance(value, str) and name in kinds else value
    except ConfigError:
        pass
    what = f"{section}.{name}={value!r}" if name else f"[{section}]"
    return ConfigError(f"{what} is not used by task {task}; remove it (task {task} reads [{task}] and: "
                       f"{', '.join(uses)})")


def _build_section(name: str, kind: type, values: dict[str, Any]) -> Any:
    kinds = _field_kinds(kind)
    unknown = sorted(set(values) - set(kinds))
    for key in unknown:
        if f"{name}.{key}" in MOVED:
            raise ConfigError(f"{name}.{key} is now {MOVED[f'{name}.{key}']} (config format 2); "
                              "rename it in your TOML or --set")
    if unknown:
        raise ConfigError(f"unknown field(s) {unknown} in [{name}]; known: {', '.join(sorted(kinds))}")
    checked = {key: check_value(f"{name}.{key}", value, kinds[key]) for key, value in values.items()}
    return kind(**checked)


@dataclass(frozen=True)
class RunConfig:
    """A run's whole config: the task, the shared sections and the task's own section
    (``options``, also read by the task's name: ``cfg.lm`` is ``cfg.options`` of an lm run)."""

    task: str = registry.DEFAULT_TASK
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    vectors: VectorsConfig = field(default_factory=VectorsConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    options: Any = None            # the task's section ([lm] of task lm); None = its defaults

    def __post_init__(self) -> None:
        if not isinstance(self.task, str):
            raise ConfigError(f"task must be a string, got {self.task!r}")
        entry = registry.entry(self.task)                 # an unknown task: listed
        if self.options is None:
            object.__setattr__(self, "options", registry.section_type(self.task)())
            return
        # Given: checked against the registered class where the entry names it (a task whose
        # section is its class's attribute may be building its own defaults right now).
        kind = registry.section_type(self.task) if entry.section is not None else None
        if not is_dataclass(self.options) or (kind is not None and not isinstance(self.options, kind)):
            raise ConfigError(f"the section of task {self.task} is a {kind.__name__ if kind else 'dataclass'}, got "
                              f"{type(self.options).__name__}")

    def __getattr__(self, name: str) -> Any:
        # Only for names that are not fields: the task's own section by the task's name.
        values = self.__dict__
        if name == values.get("task") and "options" in values:
            return values["options"]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts: ``task``, the shared sections, and the task's own under its name."""
        return {"task": self.task, **{name: asdict(getattr(self, name)) for name in SHARED},
                self.task: asdict(self.options)}

    def to_json(self) -> str:
        return json.dumps({"format_version": FORMAT_VERSION, **self.to_dict()}, indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base: RunConfig | None = None) -> RunConfig:
        """Build from nested dicts (:meth:`to_dict` output, TOML or JSON) over ``base``'s values;
        unknown sections and fields, another task's section and wrongly typed values are errors.
        A saved config of format 2 or 3 (``format_version`` < 4) held every task's section: the
        others are dropped (each held its defaults, :func:`check_used` saw to that)."""
        if not isinstance(raw, dict):
            raise ConfigError(f"a config must be a table of sections, got {type(raw).__name__}")
        version = raw.get("format_version")
        old = isinstance(version, int) and not isinstance(version, bool) and version < 4
        raw = {k: v for k, v in raw.items() if k != "format_version"}
        task = raw.get("task", base.task if base is not None else registry.DEFAULT_TASK)
        if not isinstance(task, str):
            raise ConfigError(f"task must be a string, got {task!r}")
        registry.entry(task)                                   # an unknown task: listed
        merged = base.to_dict() if base is not None and base.task == task else {}
        for key, value in raw.items():
            if key == "task" or (old and key not in SHARED and key != task):
                continue
            if key != task and key not in SHARED and key in registry.names():
                raise _not_read(task, key, value if isinstance(value, dict) else {})
            section_type(key, task)                            # unknown: listed
            if not isinstance(value, dict):
                raise ConfigError(f"config section {key!r} must be a table, got {value!r}")
        kwargs: dict[str, Any] = {"task": task}
        for name in (*SHARED, task):
            values = {**merged.get(name, {}), **raw.get(name, {})}
            kwargs["options" if name == task else name] = _build_section(name, section_type(name, task), values)
        return cls(**kwargs)


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """A format-1 config dict in format 2's layout (the moved fields in their task sections;
    every task's section, as formats 2 and 3 have)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for old, new in MOVED.items():
        old_section, old_name = old.split(".")
        new_section, new_name = new.split(".")
        section = out.get(old_section)
        if isinstance(section, dict) and old_name in section:
            out.setdefault(new_section, {})[new_name] = section.pop(old_name)
    out["format_version"] = 2
    return out


def default_of(task: str) -> RunConfig:
    """The task's default config (its Task class's ``defaults``)."""
    return registry.task_class(task).defaults


def check_used(cfg: RunConfig) -> None:
    """Refuse shared values the chosen task does not read: each must be the task's default.

    Raises:
        ConfigError: naming the task and the field, e.g. ``vectors.path='g.txt' is not used by task forecast``.
    """
    task = registry.task_class(cfg.task)
    defaults = task.defaults.to_dict()
    for section, values in cfg.to_dict().items():
        if section not in SHARED:
            continue
        for name, value in values.items():
            key = f"{section}.{name}"
            if key not in task.uses and value != defaults[section][name]:
                raise ConfigError(f"{key}={value!r} is not used by task {cfg.task}; remove it "
                                  f"(task {cfg.task} reads [{cfg.task}] and: {', '.join(sorted(task.uses))})")


def _parse_value(text: str, kind: str) -> Any:
    """Parse an override to the field's declared type."""
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ConfigError(f"cannot read {text!r} as {kind}") from None
    return text


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``section.field=value`` strings, checking names and types.

    All overrides are applied first and the result is validated once, so their order does not
    matter (``model.cell=peephole`` may come before ``model.backend=reference``).

    Example:
        >>> apply_overrides(RunConfig(), ["train.epochs=3"]).train.epochs
        3
    """
    raw = cfg.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        section, dot, name = key.partition(".")
        if not sep or not dot:
            raise ConfigError(f"--set takes section.field=value, got {item!r} (e.g. train.epochs=5)")
        if key in MOVED:
            raise ConfigError(f"--set {key}: it is now {MOVED[key]} (config format 2)")
        if section != cfg.task and section not in SHARED and section in registry.names():
            raise _not_read(cfg.task, section, {name: text.strip()})
        kinds = _field_kinds(section_type(section, cfg.task))
        if name not in kinds:
            raise ConfigError(f"unknown field {name!r} in {section}; known: {', '.join(sorted(kinds))}")
        try:
            raw[section][name] = _parse_value(text if kinds[name] == "str" else text.strip(), kinds[name])
        except ConfigError as err:
            raise ConfigError(f"--set {key}: {err}") from None
    return RunConfig.from_dict(raw)


_PATH_FIELDS = {"data": ("path", "valid_path", "test_path"), "vectors": ("path",)}

# Names that data and vectors paths take as datasets, never as relative paths.
DATASET_NAMES = frozenset({"imdb", "ptb", "tinyshakespeare", "zh-novel", "timemachine", "ud-en-ewt", "ud-zh", "ett-h1",
                           "etth1", "sine", "mnist", "word2vec"})


def dataset_name(value: str) -> bool:
    """Whether ``value`` names a dataset (``imdb``, ``ptb``, ...) rather than a path; when a
    file or folder of that name is in the current directory too, a warning says which is read
    and how to read the other."""
    if value not in DATASET_NAMES:
        return False
    if Path(value).exists():
        logging.getLogger(__name__).warning(
            "%r is read as the dataset of that name, not as the %s %r here; to read that, pass ./%s", value,
            "folder" if Path(value).is_dir() else "file", value, value)
    return True


def _paths_beside(table: dict, folder: Path) -> None:
    """A relative data or vectors path in a config file is read from the config's folder when
    it names a file or folder there (a config kept beside its data works from any working
    directory); else it is left as written: a dataset name (``imdb``) or a path from the
    current directory."""
    for section, keys in _PATH_FIELDS.items():
        values = table.get(section)
        if not isinstance(values, dict):
            continue
        for key in keys:
            value = values.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute() and value not in DATASET_NAMES:
                try:
                    beside = folder / value
                    found = beside.exists()
                except (OSError, ValueError):             # a name too long, a NUL: said later, as written
                    continue
                if found and folder.resolve() != Path.cwd().resolve():
                    values[key] = str(beside)


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                base: RunConfig | None = None) -> RunConfig:
    """Read a TOML file over ``base`` (the task's defaults) and apply overrides.

    Relative data and vectors paths in the file are read from the file's folder when they
    name something there (:func:`_paths_beside`)."""
    cfg = base or RunConfig()
    if path:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"config file {str(path)!r} is a directory; pass the TOML file inside it")
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} not found")
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8-sig"))     # a BOM (Notepad's) is not TOML: dropped
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None
        except RecursionError:
            raise ConfigError(f"config file {str(path)!r} is nested too deeply to be read; a config has one level of "
                              "tables ([model], [train], ...)") from None
        except (UnicodeDecodeError, OSError) as err:
            raise ConfigError(f"cannot read config file {str(path)!r}: {err}") from None
        if "task" in table and table["task"] != cfg.task:
            raise ConfigError(f"config file {str(path)!r} is for task {table['task']!r}, not {cfg.task!r}")
        _paths_beside(table, path.parent)
        try:
            cfg = RunConfig.from_dict(table, base=cfg)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
    return apply_overrides(cfg, overrides or [])


def describe(task: str) -> list[tuple[str, Any, str]]:
    """(section.field, default, meaning) of every field the task reads, for ``lstmkit config``."""
    spec = registry.task_class(task)
    defaults = spec.defaults.to_dict()
    rows = []
    for section in (*SHARED, task):
        kind = section_type(section, task)
        meaning = field_help(kind)
        for f in fields(kind):
            key = f"{section}.{f.name}"
            if section == task or key in spec.uses:
                rows.append((key, defaults[section][f.name], meaning[f.name]))
    return rows


__all__ = [
    "FORMAT_VERSION", "MOVED", "SHARED", "ConfigError", "DataConfig", "ModelConfig", "RunConfig", "TrainConfig",
    "VectorsConfig", "apply_overrides", "check_at_least", "check_choice", "check_fraction", "check_seed", "check_used",
    "default_of", "describe", "field_help", "field_kind", "load_config", "migrate", "section_type", "setting",
]
