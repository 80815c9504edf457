"""One typed config path, from a TOML file and ``--set section.field=value`` to the model.

Each section is a small frozen dataclass that checks itself; they compose into
:class:`RunConfig`, which travels with the weights as ``config.json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from lstmkit.errors import ConfigError

FORMAT_VERSION = 1


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")


def _at_least(name: str, value: float, low: float) -> None:
    if value < low:
        raise ConfigError(f"{name} must be >= {low}, got {value}")


@dataclass(frozen=True)
class ModelConfig:
    cell: str = "lstm"             # a key of lstmkit.nn.CELLS
    backend: str = "native"        # native (fused kernels) or reference (Python loop)
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.3           # on embeddings, between layers and before the head
    bidirectional: bool = False
    pooling: str = "last"          # classify: true last step per direction, or mean/max over real steps
    # language models: the regularisation of Merity et al. 2018 (AWD-LSTM), all off by default
    dropout_input: float = -1.0    # on the embeddings fed to the first layer; -1 = model.dropout
    dropout_hidden: float = -1.0   # between recurrent layers; -1 = model.dropout
    locked_dropout: bool = False   # variational dropout: one mask per sequence, shared over time
    dropout_embed: float = 0.0     # drop whole words from the embedding matrix
    weight_drop: float = 0.0       # DropConnect on the hidden-to-hidden weights
    tie_weights: bool = False      # share the input embedding with the output layer
    init_range: float = 0.0        # > 0: every weight uniform in [-r, r] (Zaremba et al.); 0 = torch's
    forget_bias: float = 0.0       # image: != 0 starts each LSTM forget gate at this bias (1 for long
                                   # inputs, e.g. pixel MNIST); 0 = torch's initialisation
    chrono_init: int = 0           # image: >= 3 chrono initialisation (Tallec & Ollivier) of the LSTM
                                   # gates for memories up to this many steps (784 for pixel MNIST)
    # taggers
    crf: bool = False              # a linear-chain CRF over the tags instead of a softmax per word
    char_embedding_dim: int = 32   # the character encoder of each word; 0 = words only
    char_hidden_size: int = 50     # per direction of the character BiLSTM

    def __post_init__(self) -> None:
        _choice("cell", self.cell, ("gru", "lstm", "peephole"))
        if self.chrono_init and (self.chrono_init < 3 or self.forget_bias):
            raise ConfigError(f"model.chrono_init must be 0 (off) or >= 3 and excludes model.forget_bias; "
                              f"got chrono_init={self.chrono_init}, forget_bias={self.forget_bias}")
        _choice("model.pooling", self.pooling, ("last", "max", "mean"))
        _choice("backend", self.backend, ("native", "reference"))
        if self.cell == "peephole" and self.backend == "native":
            raise ConfigError("the peephole cell has no native kernel; set model.backend=reference")
        for name in ("embedding_dim", "hidden_size", "num_layers"):
            _at_least(f"model.{name}", getattr(self, name), 1)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")
        for name in ("dropout_input", "dropout_hidden"):
            value = getattr(self, name)
            if value != -1.0 and not 0.0 <= value < 1.0:
                raise ConfigError(f"model.{name} must be in [0, 1) or -1 (= model.dropout), got {value}")
        for name in ("dropout_embed", "weight_drop"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"model.{name} must be in [0, 1), got {getattr(self, name)}")
        _at_least("model.init_range", self.init_range, 0)
        _at_least("model.char_embedding_dim", self.char_embedding_dim, 0)
        _at_least("model.char_hidden_size", self.char_hidden_size, 1)
        if self.weight_drop > 0 and self.cell == "peephole":
            raise ConfigError("model.weight_drop works with the lstm and gru cells; set it to 0 for peephole")

    def input_dropout(self) -> float:
        return self.dropout if self.dropout_input == -1.0 else self.dropout_input

    def hidden_dropout(self) -> float:
        return self.dropout if self.dropout_hidden == -1.0 else self.dropout_hidden


@dataclass(frozen=True)
class DataConfig:
    path: str = ""                 # lm: ptb, tinyshakespeare, zh-novel, timemachine, a UTF-8 text
                                   # file or a folder of *train/*valid/*test files; empty = the
                                   # shipped Time Machine; classify: imdb, or a CSV/TSV/JSONL file
    level: str = "char"            # lm: char, or word (split by data.tokenizer, <eos> per line)
    normalize: str = "auto"        # lm: letters (d2l: letters only, lower case), none, auto
    encoding: str = "utf-8"
    valid_fraction: float = 0.1    # lm: the tail of the text; classify: a seeded share of train
    tokenizer: str = "basic_english"  # classify and word-level lm: a key of lstmkit.data.tokenize.TOKENIZERS
    text_column: str = "text"      # classify, tables
    label_column: str = "label"    # classify, tables
    test_path: str = ""            # classify, tables: a separate test file
    min_freq: int = 1              # vocabulary: rarer tokens become <unk> (classify's default is 2)
    max_vocab: int = 0             # vocabulary size limit, 0 = no limit
    max_len: int = 0               # classify: truncate texts to this many tokens, 0 = keep all
    tag_column: str = "upos"       # tag: the CoNLL-U column to learn, upos or xpos
    tag_format: str = "auto"       # tag: conllu, word-tag (word<TAB>tag or word/tag), jieba (raw
                                   # Chinese, segmented and tagged by jieba.posseg); auto = by extension

    def __post_init__(self) -> None:
        _choice("data.level", self.level, ("char", "word"))
        _choice("data.tag_column", self.tag_column, ("upos", "xpos"))
        _choice("data.tag_format", self.tag_format, ("auto", "conllu", "jieba", "word-tag"))
        _choice("data.normalize", self.normalize, ("auto", "letters", "none"))
        _choice("data.tokenizer", self.tokenizer, ("basic_english", "char", "jieba", "ud_english", "whitespace"))
        _at_least("data.min_freq", self.min_freq, 1)
        _at_least("data.max_vocab", self.max_vocab, 0)
        _at_least("data.max_len", self.max_len, 0)
        if not 0.0 <= self.valid_fraction < 0.5:
            raise ConfigError(f"data.valid_fraction must be in [0, 0.5), got {self.valid_fraction}")


@dataclass(frozen=True)
class VectorsConfig:
    path: str = ""                 # GloVe/word2vec/fastText file, "word2vec" to train one, "" = none
    freeze: bool = False           # keep the pretrained vectors fixed
    lowercase_fallback: bool = True
    unknown_init: str = "normal"   # rows for words without a vector: normal or zeros
    word2vec_dim: int = 100        # when path = word2vec
    word2vec_epochs: int = 5
    word2vec_unlabelled: bool = True  # imdb: also train word2vec on the 50,000 unlabelled reviews

    def __post_init__(self) -> None:
        _choice("vectors.unknown_init", self.unknown_init, ("normal", "zeros"))
        _at_least("vectors.word2vec_dim", self.word2vec_dim, 1)
        _at_least("vectors.word2vec_epochs", self.word2vec_epochs, 1)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 32
    num_steps: int = 35            # BPTT window length
    lr: float = 0.005
    optimizer: str = "adam"
    clip_norm: float = 1.0         # global gradient norm; 0 disables clipping
    sampling: str = "sequential"   # sequential (state carried, detached) or random
    seed: int = 0
    device: str = "cpu"
    max_minutes: float = 0.0       # stop after the epoch that passes this budget; 0 = no limit
    stop_mid_epoch: bool = False   # ... or at the first step past it (long epochs)
    patience: int = 0              # early stopping on validation loss; 0 = off
    weight_decay: float = 0.0
    bf16: bool = False             # bfloat16 autocast (CPU and GPU)
    # language models
    lr_schedule: str = "none"      # none; step: x lr_decay per epoch after decay_start epochs
                                   # (Zaremba et al.); plateau: x lr_decay when valid loss does not
                                   # improve; cosine: to 0 over the epochs
    lr_decay: float = 0.5
    decay_start: int = 0           # step schedule: epochs at the full learning rate
    asgd: bool = False             # NT-ASGD (AWD-LSTM): with sgd, average the weights from the
    asgd_nonmono: int = 5          # epoch valid loss is worse than asgd_nonmono epochs before
    ar: float = 0.0                # activation regularisation (alpha) on the last layer's output
    tar: float = 0.0               # temporal activation regularisation (beta)
    variable_bptt: bool = False    # AWD's random window length around num_steps
    eval_batch_size: int = 1       # lm: streams evaluated side by side (1 = the exact whole split)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "num_steps"):
            _at_least(f"train.{name}", getattr(self, name), 1)
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        _at_least("train.clip_norm", self.clip_norm, 0)
        _at_least("train.max_minutes", self.max_minutes, 0)
        _at_least("train.patience", self.patience, 0)
        _at_least("train.weight_decay", self.weight_decay, 0)
        _choice("train.optimizer", self.optimizer, ("adam", "sgd"))
        _choice("train.sampling", self.sampling, ("random", "sequential"))
        _choice("train.lr_schedule", self.lr_schedule, ("cosine", "none", "plateau", "step"))
        if not 0.0 < self.lr_decay <= 1.0:
            raise ConfigError(f"train.lr_decay must be in (0, 1], got {self.lr_decay}")
        for name in ("decay_start", "asgd_nonmono", "ar", "tar"):
            _at_least(f"train.{name}", getattr(self, name), 0)
        _at_least("train.eval_batch_size", self.eval_batch_size, 1)
        if self.asgd and self.optimizer != "sgd":
            raise ConfigError("train.asgd averages SGD's weights; set train.optimizer=sgd")
        if self.variable_bptt and self.sampling != "sequential":
            raise ConfigError("train.variable_bptt needs train.sampling=sequential")


@dataclass(frozen=True)
class ForecastConfig:
    target: str = ""               # comma-separated target columns; "" = every input column
    inputs: str = ""               # comma-separated input columns; "" = every column but the date
    date_column: str = "date"
    input_len: int = 96            # steps the model reads
    horizon: int = 24              # steps it predicts
    decoder: str = "direct"        # direct: all horizon steps from one linear layer; autoregressive:
                                   # an LSTM cell rolls out one step at a time, fed its own predictions
    last_value_norm: bool = False  # subtract each window's last value (inputs and targets) first
    stateful: bool = False         # sine: one stream, state carried window to window (the tutorial)
    split: str = "auto"            # informer (12/4/4 months, ETT) or fraction (70/10/20); auto: informer for ett-h1
    plot_steps: int = 336          # how much of the test part the forecast plot shows

    def __post_init__(self) -> None:
        for name in ("input_len", "horizon", "plot_steps"):
            _at_least(f"forecast.{name}", getattr(self, name), 1)
        _choice("forecast.decoder", self.decoder, ("autoregressive", "direct"))
        _choice("forecast.split", self.split, ("auto", "fraction", "informer"))

    def target_columns(self) -> list[str]:
        return [c.strip() for c in self.target.split(",") if c.strip()]

    def input_columns(self) -> list[str]:
        return [c.strip() for c in self.inputs.split(",") if c.strip()]


@dataclass(frozen=True)
class ImageConfig:
    mode: str = "rows"             # rows: 28 steps of 28 pixels; pixels: 784 steps of 1; permuted:
                                   # pixels in a fixed random order (seed permutation_seed)
    permutation_seed: int = 0
    valid_size: int = 5000         # training images held out for model selection

    def __post_init__(self) -> None:
        _choice("image.mode", self.mode, ("permuted", "pixels", "rows"))
        _at_least("image.valid_size", self.valid_size, 0)


@dataclass(frozen=True)
class RunConfig:
    task: str = "lm"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    vectors: VectorsConfig = field(default_factory=VectorsConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    image: ImageConfig = field(default_factory=ImageConfig)

    def __post_init__(self) -> None:
        _choice("task", self.task, ("classify", "forecast", "image", "lm", "tag"))

    def to_json(self) -> str:
        return json.dumps({"format_version": FORMAT_VERSION, **asdict(self)}, indent=2)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        """Build from nested dicts (``asdict`` output, TOML or JSON); unknown keys are errors."""
        raw = {k: v for k, v in raw.items() if k != "format_version"}
        sections = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in sections:
                raise ConfigError(f"unknown config section {key!r}; known: {', '.join(sections)}")
            section_type = _SECTION_TYPES.get(key)
            if section_type is None:
                kwargs[key] = value
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"config section {key!r} must be a table, got {value!r}")
            known = {f.name for f in fields(section_type)}
            extra = sorted(set(value) - known)
            if extra:
                raise ConfigError(f"unknown field(s) {extra} in [{key}]; known: {', '.join(sorted(known))}")
            kwargs[key] = section_type(**value)
        return cls(**kwargs)


_SECTION_TYPES: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "vectors": VectorsConfig,
                                   "train": TrainConfig, "forecast": ForecastConfig, "image": ImageConfig}


def _parse_value(text: str, like: Any) -> Any:
    """Parse an override to the type of the field's current value."""
    try:
        if isinstance(like, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        raise ConfigError(f"cannot read {text!r} as {type(like).__name__}") from None
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
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ConfigError(f"--set takes section.field=value, got {item!r} (e.g. train.epochs=5)")
        if section not in _SECTION_TYPES:
            raise ConfigError(f"unknown config section {section!r}; known: {', '.join(_SECTION_TYPES)}")
        if name not in raw[section]:
            known = ", ".join(sorted(raw[section]))
            raise ConfigError(f"unknown field {name!r} in {section}; known: {known}")
        try:
            raw[section][name] = _parse_value(text.strip(), raw[section][name])
        except ConfigError as err:
            raise ConfigError(f"--set {key}: {err}") from None
    return RunConfig.from_dict(raw)


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                base: RunConfig | None = None) -> RunConfig:
    """Read a TOML file (or ``base``, the task's defaults) and apply overrides."""
    cfg = base or RunConfig()
    if path:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} not found")
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
            merged = asdict(cfg)
            for key, value in table.items():                  # the file's values over the base's
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            cfg = RunConfig.from_dict(merged)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    return apply_overrides(cfg, overrides or [])


__all__ = [
    "ConfigError", "DataConfig", "ForecastConfig", "ImageConfig", "ModelConfig", "RunConfig", "TrainConfig", "VectorsConfig", "apply_overrides",
    "load_config",
]
