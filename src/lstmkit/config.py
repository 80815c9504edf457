"""One typed config path, from a TOML file and ``--set section.field=value`` to the model.

Each section is a small frozen dataclass that checks itself; they compose into
:class:`RunConfig`, which travels with the weights as ``config.json``. Shared sections
(``[model]``, ``[data]``, ``[vectors]``, ``[train]``) hold what several tasks use; each task's
own fields live in its section (``[lm]``, ``[classify]``, ``[tag]``, ``[forecast]``,
``[image]``). A value the chosen task does not use is an error naming the task and the field
(:func:`check_used`), never silently ignored.

Format 2 moved the task-specific fields of format 1 out of ``[model]``/``[data]``/``[train]``;
format-1 run directories are still read (:data:`MOVED`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from lstmkit import boundary
from lstmkit.errors import ConfigError

FORMAT_VERSION = 3
MAX_WIDTH, MAX_LAYERS = 65_536, 64     # sizes beyond any model that fits in memory
TASKS = ("classify", "forecast", "image", "lm", "tag")


def _seed(name: str, value: int) -> None:
    if not 0 <= value <= boundary.MAX_SEED:
        raise ConfigError(f"{name} must be in 0..{boundary.MAX_SEED} (2**63 - 1), got {boundary.shown(value, typed=False)}; any seed in that "
                          "range gives a reproducible run")


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")


def _at_least(name: str, value: float, low: float) -> None:
    if not value >= low:                        # also catches nan
        raise ConfigError(f"{name} must be >= {low}, got {value}")


def _fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class ModelConfig:
    cell: str = "lstm"             # a cell of lstmkit.nn.cells.REGISTRY: lstm, gru, peephole
    backend: str = "native"        # native (fused kernels) or reference (Python loop)
    embedding_dim: int = 64        # lm, classify, tag: word embedding size
    hidden_size: int = 256         # units per direction of each recurrent layer
    num_layers: int = 1            # stacked recurrent layers
    dropout: float = 0.3           # on embeddings, between layers and before the head
    bidirectional: bool = False    # classify, image (the tagger is always bidirectional)

    def __post_init__(self) -> None:
        from lstmkit.nn import cells             # the registry alone: no torch

        _choice("model.cell", self.cell, tuple(sorted(cells.names())))
        _choice("model.backend", self.backend, ("native", "reference"))
        cells.check_backend(self.cell, self.backend)
        for name, most in (("embedding_dim", MAX_WIDTH), ("hidden_size", MAX_WIDTH), ("num_layers", MAX_LAYERS)):
            _at_least(f"model.{name}", getattr(self, name), 1)
            if getattr(self, name) > most:
                raise ConfigError(f"model.{name} must be <= {most}, got {getattr(self, name)} (a layer that size "
                                  "does not fit in memory); choose a smaller value")
        _fraction("model.dropout", self.dropout)


@dataclass(frozen=True)
class DataConfig:
    path: str = ""                 # a named dataset or a file/folder (see each task); lm: empty =
                                   # the shipped Time Machine
    valid_path: str = ""           # classify, tag: a separate validation file (else valid_fraction)
    test_path: str = ""            # classify, tag: a separate test file
    encoding: str = "utf-8"        # of the data files (a Python codec name)
    valid_fraction: float = 0.1    # lm: the tail of the text; classify, tag: a seeded share of train
    tokenizer: str = "basic_english"  # classify and word-level lm: a key of lstmkit.data.tokenize.TOKENIZERS
    min_freq: int = 1              # vocabulary: rarer tokens become <unk>
    max_vocab: int = 0             # vocabulary size limit, 0 = no limit

    def __post_init__(self) -> None:
        _choice("data.tokenizer", self.tokenizer, ("basic_english", "char", "jieba", "ud_english", "whitespace"))
        _at_least("data.min_freq", self.min_freq, 1)
        _at_least("data.max_vocab", self.max_vocab, 0)
        if not 0.0 <= self.valid_fraction < 0.5:
            raise ConfigError(f"data.valid_fraction must be in [0, 0.5), got {self.valid_fraction}")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ConfigError(f"unknown data.encoding {self.encoding!r}; e.g. utf-8, cp1252, gbk") from None


@dataclass(frozen=True)
class VectorsConfig:
    path: str = ""                 # GloVe/word2vec/fastText file, "word2vec" to train one, "" = none
    freeze: bool = False           # keep the pretrained vectors fixed
    lowercase_fallback: bool = True  # a word without a vector takes its lower-case form's
    unknown_init: str = "normal"   # rows for words without a vector: normal or zeros
    word2vec_dim: int = 100        # when path = word2vec
    word2vec_epochs: int = 5       # when path = word2vec
    word2vec_unlabelled: bool = True  # imdb: also train word2vec on the 50,000 unlabelled reviews

    def __post_init__(self) -> None:
        _choice("vectors.unknown_init", self.unknown_init, ("normal", "zeros"))
        _at_least("vectors.word2vec_dim", self.word2vec_dim, 1)
        _at_least("vectors.word2vec_epochs", self.word2vec_epochs, 1)
        if self.freeze and not self.path:
            raise ConfigError("vectors.freeze keeps pretrained vectors fixed, but no vectors are given; "
                              "pass --vectors PATH (or drop --freeze)")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40               # passes over the training data (at most; see patience, max_minutes)
    batch_size: int = 32           # rows per step (LM: parallel streams)
    lr: float = 0.005              # learning rate
    optimizer: str = "adam"        # adam (AdamW when weight_decay > 0) or sgd
    clip_norm: float = 1.0         # global gradient norm; 0 disables clipping
    seed: int = 0                  # seeds initialisation, dropout and the data order
    device: str = "cpu"            # cpu, cuda, cuda:N
    max_minutes: float = 0.0       # a hard cap on training time; 0 = no limit
    stop_mid_epoch: bool = False   # the cap may end an epoch part-way (it is validated and may be kept)
    patience: int = 0              # early stopping on the task's validation metric; 0 = off
    weight_decay: float = 0.0      # decoupled weight decay (AdamW) or L2 (SGD)
    bf16: bool = False             # bfloat16 autocast; recurrent layers stay fp32 where the CPU lacks
                                   # bf16 kernels (detected at run time)
    lr_schedule: str = "none"      # none; step: x lr_decay per epoch after decay_start epochs
                                   # (Zaremba et al.); plateau: x lr_decay when the validation metric does
                                   # not improve; cosine: to 0 over the epochs
    lr_decay: float = 0.5          # factor of the step and plateau schedules
    decay_start: int = 0           # step schedule: epochs at the full learning rate
    diverge_factor: float = 10.0   # stop when the smoothed training loss exceeds this many times its
                                   # starting level (and on any non-finite loss); 0 = only non-finite

    def __post_init__(self) -> None:
        _seed("train.seed", self.seed)
        for name in ("epochs", "batch_size"):
            _at_least(f"train.{name}", getattr(self, name), 1)
        for name in ("lr", "clip_norm", "max_minutes", "weight_decay", "lr_decay", "diverge_factor"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"train.{name} must be a finite number, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        for name in ("clip_norm", "max_minutes", "patience", "weight_decay", "decay_start", "diverge_factor"):
            _at_least(f"train.{name}", getattr(self, name), 0)
        _choice("train.optimizer", self.optimizer, ("adam", "sgd"))
        _choice("train.lr_schedule", self.lr_schedule, ("cosine", "none", "plateau", "step"))
        if not 0.0 < self.lr_decay <= 1.0:
            raise ConfigError(f"train.lr_decay must be in (0, 1], got {self.lr_decay}")
        if not self.device or not self.device.split(":")[0] in ("cpu", "cuda"):
            raise ConfigError(f"unknown train.device {self.device!r}; use cpu, cuda or cuda:N")


@dataclass(frozen=True)
class LMConfig:
    level: str = "char"            # char, or word (split by data.tokenizer, <eos> per line)
    normalize: str = "auto"        # letters (d2l: letters only, lower case), none; auto: letters for
                                   # the shipped Time Machine, none otherwise
    num_steps: int = 35            # BPTT window length
    sampling: str = "sequential"   # sequential (state carried, detached) or random
    variable_bptt: bool = False    # AWD's random window length around num_steps
    eval_batch_size: int = 1       # streams evaluated side by side (1 = the exact whole split)
    # the regularisation of Merity et al. 2018 (AWD-LSTM), all off by default
    dropout_input: float = -1.0    # on the embeddings fed to the first layer; -1 = model.dropout
    dropout_hidden: float = -1.0   # between recurrent layers; -1 = model.dropout
    locked_dropout: bool = False   # variational dropout: one mask per sequence, shared over time
    dropout_embed: float = 0.0     # drop whole words from the embedding matrix
    weight_drop: float = 0.0       # DropConnect on the hidden-to-hidden weights
    tie_weights: bool = False      # share the input embedding with the output layer
    init_range: float = 0.0        # > 0: every weight uniform in [-r, r] (Zaremba et al.); 0 = torch's
    asgd: bool = False             # NT-ASGD (AWD-LSTM): with sgd, average the weights once the
                                   # validation loss stops improving (see asgd_nonmono)
    asgd_nonmono: int = 5          # NT-ASGD starts when valid loss is worse than asgd_nonmono epochs before
    ar: float = 0.0                # activation regularisation (alpha) on the last layer's output
    tar: float = 0.0               # temporal activation regularisation (beta)

    def __post_init__(self) -> None:
        _choice("lm.level", self.level, ("char", "word"))
        _choice("lm.normalize", self.normalize, ("auto", "letters", "none"))
        _choice("lm.sampling", self.sampling, ("random", "sequential"))
        for name in ("num_steps", "eval_batch_size"):
            _at_least(f"lm.{name}", getattr(self, name), 1)
        for name in ("dropout_input", "dropout_hidden"):
            value = getattr(self, name)
            if value != -1.0 and not 0.0 <= value < 1.0:
                raise ConfigError(f"lm.{name} must be in [0, 1) or -1 (= model.dropout), got {value}")
        _fraction("lm.dropout_embed", self.dropout_embed)
        _fraction("lm.weight_drop", self.weight_drop)
        for name in ("init_range", "asgd_nonmono", "ar", "tar"):
            _at_least(f"lm.{name}", getattr(self, name), 0)
        if self.variable_bptt and self.sampling != "sequential":
            raise ConfigError("lm.variable_bptt needs lm.sampling=sequential")

    def input_dropout(self, dropout: float) -> float:
        return dropout if self.dropout_input == -1.0 else self.dropout_input

    def hidden_dropout(self, dropout: float) -> float:
        return dropout if self.dropout_hidden == -1.0 else self.dropout_hidden


@dataclass(frozen=True)
class ClassifyConfig:
    text_column: str = "text"      # tables: the column with the text
    label_column: str = "label"    # tables: the column with the label
    max_len: int = 0               # truncate texts to this many tokens, 0 = keep all
    pooling: str = "last"          # true last step per direction, or mean/max over real steps

    def __post_init__(self) -> None:
        _at_least("classify.max_len", self.max_len, 0)
        _choice("classify.pooling", self.pooling, ("last", "max", "mean"))


@dataclass(frozen=True)
class TagConfig:
    column: str = "upos"           # the CoNLL-U column to learn, upos or xpos
    format: str = "auto"           # conllu, word-tag (word<TAB>tag or word/tag), jieba (raw Chinese,
                                   # segmented and tagged by jieba.posseg); auto = by extension
    crf: bool = False              # a linear-chain CRF over the tags instead of a softmax per word
    char_embedding_dim: int = 32   # the character encoder of each word; 0 = words only
    char_hidden_size: int = 50     # per direction of the character BiLSTM

    def __post_init__(self) -> None:
        _choice("tag.column", self.column, ("upos", "xpos"))
        _choice("tag.format", self.format, ("auto", "conllu", "jieba", "word-tag"))
        _at_least("tag.char_embedding_dim", self.char_embedding_dim, 0)
        _at_least("tag.char_hidden_size", self.char_hidden_size, 1)


@dataclass(frozen=True)
class ForecastConfig:
    target: str = ""               # comma-separated target columns; "" = every input column
    inputs: str = ""               # comma-separated input columns; "" = every column but the date
    date_column: str = "date"      # parsed as dates, not an input; forecasts continue them
    input_len: int = 96            # steps the model reads
    horizon: int = 24              # steps it predicts
    decoder: str = "direct"        # direct: all horizon steps from one linear layer; autoregressive:
                                   # an LSTM cell rolls out one step at a time, fed its own predictions
    last_value_norm: bool = False  # subtract each window's last value (inputs and targets) first
    stateful: bool = False         # sine only: one stream, state carried window to window (the tutorial)
    split: str = "auto"            # informer (12/4/4 months, ETT) or fraction (70/10/20); auto: informer for ett-h1
    plot_steps: int = 336          # how much of the test part the forecast plot shows

    def __post_init__(self) -> None:
        for name in ("input_len", "horizon", "plot_steps"):
            _at_least(f"forecast.{name}", getattr(self, name), 1)
        _choice("forecast.decoder", self.decoder, ("autoregressive", "direct"))
        _choice("forecast.split", self.split, ("auto", "fraction", "informer"))
        for name in ("target", "inputs"):                    # "OT,OT" fed OT twice; "HUFL,,OT" passed silently
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                continue
            names = _column_list(value, keep_empty=True)
            twice = sorted({c for c in names if c and names.count(c) > 1})
            if "" in names or twice:
                what = f"names {twice[0]!r} twice" if twice else "has an empty name"
                raise ConfigError(f"forecast.{name}={value!r} {what}; give each column once, separated by commas, "
                                  "e.g. --inputs OT,HUFL")

    def target_columns(self) -> list[str]:
        return _column_list(self.target)

    def input_columns(self) -> list[str]:
        return _column_list(self.inputs)


def _column_list(value: str, keep_empty: bool = False) -> list[str]:
    """``"OT, HUFL"`` as ``["OT", "HUFL"]``: the one reading of a comma-separated column list."""
    names = [c.strip() for c in value.split(",")]
    return names if keep_empty else [c for c in names if c]


@dataclass(frozen=True)
class ImageConfig:
    mode: str = "rows"             # rows: 28 steps of 28 pixels; pixels: 784 steps of 1; permuted:
                                   # pixels in a fixed random order (seed permutation_seed)
    permutation_seed: int = 0      # the fixed pixel order of permuted mode
    valid_size: int = 5000         # training images held out for model selection
    forget_bias: float = 0.0       # != 0 starts each LSTM forget gate at this bias; 0 = torch's init
    chrono_init: int = 0           # >= 3: chrono initialisation (Tallec & Ollivier) of the LSTM gates
                                   # for memories up to this many steps (784 for pixel MNIST)

    def __post_init__(self) -> None:
        _choice("image.mode", self.mode, ("permuted", "pixels", "rows"))
        _at_least("image.valid_size", self.valid_size, 0)
        _seed("image.permutation_seed", self.permutation_seed)
        if self.chrono_init and (self.chrono_init < 3 or self.forget_bias):
            raise ConfigError(f"image.chrono_init must be 0 (off) or >= 3 and excludes image.forget_bias; "
                              f"got chrono_init={self.chrono_init}, forget_bias={self.forget_bias}")


_SECTION_TYPES: dict[str, type] = {
    "model": ModelConfig, "data": DataConfig, "vectors": VectorsConfig, "train": TrainConfig,
    "lm": LMConfig, "classify": ClassifyConfig, "tag": TagConfig, "forecast": ForecastConfig, "image": ImageConfig,
}
TASK_SECTIONS = ("lm", "classify", "tag", "forecast", "image")

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


def field_kind(key: str) -> str:
    """The declared type of ``section.field`` (bool, int, float, str, ...)."""
    section, _, name = key.partition(".")
    return _field_kinds(_SECTION_TYPES[section])[name]


def _field_kinds(section_type: type) -> dict[str, str]:
    return {f.name: (f.type if isinstance(f.type, str) else f.type.__name__) for f in fields(section_type)}


def _build_section(name: str, values: dict[str, Any]) -> Any:
    section_type = _SECTION_TYPES[name]
    kinds = _field_kinds(section_type)
    unknown = sorted(set(values) - set(kinds))
    for key in unknown:
        if f"{name}.{key}" in MOVED:
            raise ConfigError(f"{name}.{key} is now {MOVED[f'{name}.{key}']} (config format 2); "
                              "rename it in your TOML or --set")
    if unknown:
        raise ConfigError(f"unknown field(s) {unknown} in [{name}]; known: {', '.join(sorted(kinds))}")
    checked = {key: check_value(f"{name}.{key}", value, kinds[key]) for key, value in values.items()}
    return section_type(**checked)


@dataclass(frozen=True)
class RunConfig:
    task: str = "lm"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    vectors: VectorsConfig = field(default_factory=VectorsConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    lm: LMConfig = field(default_factory=LMConfig)
    classify: ClassifyConfig = field(default_factory=ClassifyConfig)
    tag: TagConfig = field(default_factory=TagConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    image: ImageConfig = field(default_factory=ImageConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.task, str):
            raise ConfigError(f"task must be a string, got {self.task!r}")
        _choice("task", self.task, TASKS)

    def to_json(self) -> str:
        return json.dumps({"format_version": FORMAT_VERSION, **asdict(self)}, indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base: RunConfig | None = None) -> RunConfig:
        """Build from nested dicts (``asdict`` output, TOML or JSON) over ``base``'s values;
        unknown sections and fields and wrongly typed values are errors."""
        if not isinstance(raw, dict):
            raise ConfigError(f"a config must be a table of sections, got {type(raw).__name__}")
        raw = {k: v for k, v in raw.items() if k != "format_version"}
        merged = asdict(base) if base is not None else {}
        kwargs: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "task":
                kwargs["task"] = value
                continue
            if key not in _SECTION_TYPES:
                raise ConfigError(f"unknown config section {key!r}; known: task, {', '.join(_SECTION_TYPES)}")
            if not isinstance(value, dict):
                raise ConfigError(f"config section {key!r} must be a table, got {value!r}")
        for name in _SECTION_TYPES:
            values = {**merged.get(name, {}), **raw.get(name, {})}
            kwargs[name] = _build_section(name, values)
        if "task" not in kwargs and base is not None:
            kwargs["task"] = base.task
        return cls(**kwargs)


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """A format-1 config dict in format 2's layout (the moved fields in their task sections)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for old, new in MOVED.items():
        old_section, old_name = old.split(".")
        new_section, new_name = new.split(".")
        section = out.get(old_section)
        if isinstance(section, dict) and old_name in section:
            out.setdefault(new_section, {})[new_name] = section.pop(old_name)
    out["format_version"] = FORMAT_VERSION
    return out


def default_of(task: str) -> RunConfig:
    """The task's default config (its registry entry's, with ``task`` set)."""
    from lstmkit.tasks import get_task

    return get_task(task).defaults


def check_used(cfg: RunConfig) -> None:
    """Refuse values the chosen task does not read: each must be the task's default.

    Raises:
        ConfigError: naming the task and the field, e.g. ``tag.crf=True is not used by task lm``.
    """
    from lstmkit.tasks import get_task

    task = get_task(cfg.task)
    defaults = asdict(task.defaults)
    actual = asdict(cfg)
    for section in _SECTION_TYPES:
        own = section == cfg.task
        for name, value in actual[section].items():
            key = f"{section}.{name}"
            if own or key in task.uses:
                continue
            if value != defaults[section][name]:
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
    raw = asdict(cfg)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        section, dot, name = key.partition(".")
        if not sep or not dot:
            raise ConfigError(f"--set takes section.field=value, got {item!r} (e.g. train.epochs=5)")
        if key in MOVED:
            raise ConfigError(f"--set {key}: it is now {MOVED[key]} (config format 2)")
        if section not in _SECTION_TYPES:
            raise ConfigError(f"unknown config section {section!r}; known: {', '.join(_SECTION_TYPES)}")
        kinds = _field_kinds(_SECTION_TYPES[section])
        if name not in kinds:
            raise ConfigError(f"unknown field {name!r} in {section}; known: {', '.join(sorted(kinds))}")
        try:
            raw[section][name] = _parse_value(text.strip(), kinds[name])
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
    from lstmkit.tasks import get_task

    spec = get_task(task)
    defaults = asdict(spec.defaults)
    rows = []
    for section, section_type in _SECTION_TYPES.items():
        comments = _class_comments(section_type.__name__)
        for f in fields(section_type):
            key = f"{section}.{f.name}"
            if section == task or key in spec.uses:
                rows.append((key, defaults[section][f.name], comments.get(f.name, "")))
    return rows


@functools.cache
def _class_comments(name: str) -> dict[str, str]:
    """The field comments of the section class ``name`` in this module (read once)."""
    source = Path(__file__).read_text(encoding="utf-8")
    start = source.index(f"\nclass {name}")
    end = min((i for i in (source.find("\n@dataclass", start + 1), source.find("\nclass ", start + 1),
                           source.find("\ndef ", start + 1)) if i > 0), default=len(source))
    return _field_comments(source[start + 1 : end])


def _field_comments(source: str) -> dict[str, str]:
    """The ``# comment`` after each field in a dataclass's source, with the comment-only lines
    right below it (indented past the field name) joined on."""
    import io
    import tokenize

    comments: dict[str, str] = {}
    field_name, field_col, line_start = None, 0, True
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and line_start:
            field_name, field_col = (tok.string, tok.start[1]) if tok.start[1] == 4 else (None, 0)
            if field_name in ("def", "class"):
                field_name = None
        line_start = tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)
        if tok.type != tokenize.COMMENT or field_name is None:
            continue
        text = tok.string.lstrip("#").strip()
        if tok.line.strip().startswith("#"):                 # a comment-only line: a continuation?
            if tok.start[1] > field_col + 4 and field_name in comments:
                comments[field_name] += " " + text
            continue
        comments[field_name] = text
    return comments


__all__ = [
    "FORMAT_VERSION", "MOVED", "TASKS", "ClassifyConfig", "ConfigError", "DataConfig", "ForecastConfig",
    "ImageConfig", "LMConfig", "ModelConfig", "RunConfig", "TagConfig", "TrainConfig", "VectorsConfig",
    "apply_overrides", "check_used", "describe", "load_config", "migrate",
]
