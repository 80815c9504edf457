"""Export a trained run to ONNX or to a ``torch.export`` program (``.pt2``), with the recurrent
state as an explicit input and output where the model streams.

    lstmkit export runs/lm-... --format onnx            # runs/lm-.../model.onnx (+ model.onnx.json)

What each task's exported graph takes and gives (B batch, T time; names as in the file):

- ``lm``: ``tokens`` (B, T) int64 and ``state_in_h`` (+ ``state_in_c`` for an LSTM), each
  (L, B, H) -> ``logits`` (B, T, V), ``state_out_h`` (+ ``state_out_c``). Feed a text chunk by
  chunk, passing each chunk's ``state_out_*`` as the next ``state_in_*`` (zeros at the start):
  the result equals one pass over the whole text (tested). The ONNX graph takes any T; the
  ``pt2`` graph takes exactly T = ``--length`` (else ``lm.num_steps``) tokens per call, since
  torch.export unrolls the LSTM (the sidecar's ``"tokens_note"`` says so).
- ``classify``: ``tokens`` (B, T) int64, right-padded with id 0 to the exported T
  (``--length``, else ``classify.max_len``, else 256), and ``lengths`` (B,) int64 ->
  ``probabilities`` (B, C); unequal lengths and both directions are exact, as in eager mode. A
  run trained with ``classify.max_len=0`` (no cap) and exported without ``--length`` gets
  T = 256: longer texts must be cut to their first 256 tokens, which the model never did in
  training. The export says so in a warning and in the sidecar (``"max_len": 256`` and
  ``"max_len_note"``). The exporters unroll the T time steps, so the export's time grows with T
  (over a minute for a BiLSTM at T = 256 on 2 cores).
- ``forecast``: ``series`` (B, input_len, F_in) in original units -> ``forecast`` (B, horizon,
  F_out) in original units (the training scaler is inside the graph).
- ``image``: ``pixels`` (B, 28, 28) float in [0, 255], light digit on dark -> ``probabilities``
  (B, 10).
- ``tag``: ``words`` (B, T) (T = ``--length``, else 64) and ``lengths`` (B,) int64, ``chars`` (B*T, L) and
  ``char_lengths`` (B*T,) int64 (every position's characters, padded to 30, >= 1 also at padding; see
  :func:`dense_tag_inputs`) -> ``tags`` (B, T) (Viterbi in the graph with a CRF, else argmax)
  and ``emissions`` (B, T, K).

Lengths and token ids are checked inside the graphs: every ``lengths`` (and the tagger's
``char_lengths``) must be in [1, T] (a length of 0 gave NaN, a negative or too large one
garbage), and every token id (``tokens``, the tagger's ``words`` and ``chars``) in [0, V - 1]
(ONNX reads a negative id from the end of the table); a forecaster's ``series`` must be finite
and an image's ``pixels`` in [0, 255] (a NaN series gave a believable forecast). Outside, the
``.pt2`` program raises
``RuntimeError: lengths must be between 1 and T ...`` and onnxruntime fails the run
(``INVALID_ARGUMENT``) at the Gather node named ``check_lengths_between_1_and_T`` (or
``check_tokens_between_0_and_V-1``; ONNX has no assert operator, and an out-of-range index is
its portable error). The sidecar's ``"checks"`` says the same.

Every graph takes any B. The language model's ONNX graph takes any T; the other graphs, and
every ``.pt2`` program, take the T they were exported with (``torch.export`` specialises the
time dimension of the fused recurrent kernels, and the length masks are built for it): pad or
chunk to it. Beside the file, a
``.json`` sidecar names the inputs and outputs, says each input's shape, dtype and range
(:func:`input_description`) and the graph's SHA-256, and points at the run; :mod:`lstmkit.exported`
runs a graph with its inputs checked against it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.boundary import FLOAT32_MAX     # float inputs beyond it (or NaN) are refused inside the graphs
from lstmkit.boundary import printable
from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.files import OutputError, output_name, publish, stage, sweep_temporaries
from lstmkit.notices import quieted

logger = logging.getLogger(__name__)
MAX_BATCH = 65_536                  # the largest batch an exported graph is traced for

FORMATS = ("onnx", "pt2")
UNCAPPED_LEN = 256          # the T a classifier trained without classify.max_len is exported for
TAG_LEN = 64                # the words per sentence a tagger is exported for, unless --length says
MAX_EXPORT_LEN = 65_536     # the exporters unroll the time loop: a longer T would not finish


@dataclass
class ExportSpec:
    """A task's exportable module with its example inputs and the names of its tensors."""

    module: nn.Module
    example: tuple[Tensor, ...]
    inputs: list[str]
    outputs: list[str]
    batch_axes: dict[str, int]          # input name -> its batch axis
    time_axes: dict[str, int]           # input/output name -> its time axis (ONNX: any length)
    batch_times: dict[str, int] = field(default_factory=dict)   # input -> axis of size batch x T
    notes: dict[str, object] = field(default_factory=dict)       # more for the sidecar (caps, checks)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # input -> [low, high] checked in the graph


class RangeCheck(nn.Module):
    """Refuses, inside an exported graph, integer inputs outside [low, high]: lengths outside
    [1, T] (a length of 0 gave NaN, a negative or too large one garbage) and token ids outside
    the vocabulary (ONNX's Gather reads a negative id from the end of the table: a wrong
    embedding, silently). The values pass on unchanged.

    ``torch._assert_async`` raises with the message in PyTorch and in a ``.pt2`` program, but
    the ONNX exporter drops it; so the values also go through an index that is out of range when
    one is bad (``guard[1]`` of a one-element buffer), which onnxruntime refuses to run.
    :func:`_name_range_checks` gives that Gather node a name that says what is wrong.

    Shapes: values (any) -> (same)
    """

    def __init__(self, name: str, low: int, fix: str) -> None:
        super().__init__()
        self.name, self.low, self.fix = name, low, fix
        self.register_buffer("guard", torch.zeros(1, dtype=torch.long), persistent=False)

    def forward(self, values: Tensor, high: float) -> Tensor:
        bad = (values < self.low) | (values > high)                      # NaN compares False: caught below
        if values.is_floating_point():
            bad = bad | torch.isnan(values)
        empty = torch.ones_like(values, dtype=torch.int32).sum() == 0   # a batch of 0: counted, not a shape
        bad = bad.any() | empty                                          # () bool (the shape would be folded)
        torch._assert_async(~bad, f"{self.name} must be {_rule(self.low, high)} {self.fix}, with a batch of at least 1")
        return values + self.guard[bad.long()].to(values.dtype)          # index 1: out of range when bad


def _rule(low: float, high: float, sep: str = " ") -> str:
    """What a :class:`RangeCheck` enforces, in words: "finite" for float inputs (the check of
    :func:`FiniteCheck`, whose low end is -FLOAT32_MAX), else "between 0 and 99"; ``sep`` "_"
    for a node name."""
    def number(v: float) -> str:                                     # 1000000, not 1e+06
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    words = "finite" if low == -FLOAT32_MAX else f"between {number(low)} and {number(high)}"
    return words.replace(" ", sep)


def LengthCheck(name: str) -> RangeCheck:                                # noqa: N802 - the old class's name
    """Lengths in [1, T], T the exported length."""
    return RangeCheck(name, 1, "(the exported length): pad shorter inputs, cut longer ones, and give every row "
                               "at least one step")


def IdCheck(name: str) -> RangeCheck:                                    # noqa: N802 - reads like a class
    """Token ids in [0, V - 1], V the vocabulary's size."""
    return RangeCheck(name, 0, "(the vocabulary's ids): map words the vocabulary lacks to <unk>")




def FiniteCheck(name: str) -> RangeCheck:                                # noqa: N802 - reads like a class
    """Float inputs that are numbers: no NaN, no infinity (a NaN series gave a believable forecast)."""
    return RangeCheck(name, -FLOAT32_MAX, "(no NaN or inf): fill or drop missing values")


def _name_range_checks(model, ranges: dict[str, tuple[int, int]]) -> None:
    """Name each :class:`RangeCheck` Gather node of an ONNX graph after the rule it enforces:
    the node that indexes a ``.guard`` buffer, named after the graph input its index comes from
    (the exporter may merge the equal guard buffers, so their names do not tell)."""
    producer = {out: node for node in model.graph.node for out in node.output}

    def source(value: str) -> str | None:                       # the graph input a value is computed from
        todo, seen = [value], set()
        while todo:
            v = todo.pop()
            if v in ranges:
                return v
            if v in producer and v not in seen:
                seen.add(v)
                todo.extend(producer[v].input)
        return None

    for node in model.graph.node:
        if node.op_type == "Gather" and len(node.input) == 2 and node.input[0].endswith(".guard"):
            name = source(node.input[1])
            if name is not None:
                low, high = ranges[name]
                node.name = f"check_{name}_{_rule(low, high, '_')}_batch_at_least_1"


class LMStep(nn.Module):
    """An LSTM language model with its state as tensors: (tokens, h, c) -> (logits, h, c).

    Shapes: tokens (B, T), h and c (L, B, H) -> logits (B, T, V), h and c (L, B, H)
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.check_tokens = IdCheck("tokens")
        self.check_h, self.check_c = FiniteCheck("state_in_h"), FiniteCheck("state_in_c")

    def forward(self, tokens: Tensor, state_in_h: Tensor, state_in_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        tokens = self.check_tokens(tokens, self.model.embed.num_embeddings - 1)
        state_in_h, state_in_c = self.check_h(state_in_h, FLOAT32_MAX), self.check_c(state_in_c, FLOAT32_MAX)
        given = [(state_in_h[i : i + 1], state_in_c[i : i + 1]) for i in range(len(self.model.layers))]
        logits, new = self.model(tokens, given)
        return logits, torch.cat([h for h, _ in new]), torch.cat([c for _, c in new])


class GRULMStep(nn.Module):
    """A GRU language model with its state as a tensor: (tokens, h) -> (logits, h)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.check_tokens = IdCheck("tokens")
        self.check_h = FiniteCheck("state_in_h")

    def forward(self, tokens: Tensor, state_in_h: Tensor) -> tuple[Tensor, Tensor]:
        tokens = self.check_tokens(tokens, self.model.embed.num_embeddings - 1)
        state_in_h = self.check_h(state_in_h, FLOAT32_MAX)
        logits, new = self.model(tokens, [state_in_h[i : i + 1] for i in range(len(self.model.layers))])
        return logits, torch.cat(list(new))


class Probabilities(nn.Module):
    """softmax over a classifier's logits. Shapes: tokens (B, T), lengths (B,) -> (B, C)"""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.check_lengths = LengthCheck("lengths")
        self.check_tokens = IdCheck("tokens")

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        lengths = self.check_lengths(lengths, tokens.size(1))
        tokens = self.check_tokens(tokens, self.model.embed.num_embeddings - 1)
        return torch.softmax(self.model(tokens, lengths).float(), dim=-1)


class ScaledForecaster(nn.Module):
    """The forecaster between the training scaler's ``scale`` and ``inverse``: original units."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float],
                 target_mean: Sequence[float], target_std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.check_series = FiniteCheck("series")
        for name, values in (("mean", mean), ("std", std), ("target_mean", target_mean), ("target_std", target_std)):
            self.register_buffer(name, torch.tensor(values, dtype=torch.float32))

    def forward(self, series: Tensor) -> Tensor:
        series = self.check_series(series, FLOAT32_MAX)
        y = self.model((series - self.mean) / self.std)                     # (B, horizon, F_out)
        return y * self.target_std + self.target_mean


class ImagePixels(nn.Module):
    """Raw 28x28 grey pixels in [0, 255] -> class probabilities, with the run's reading order."""

    def __init__(self, model: nn.Module, image_cfg) -> None:
        super().__init__()
        self.model, self.image_cfg = model, image_cfg
        self.check_pixels = RangeCheck("pixels", 0, "(grey values 0-255: scale values in [0, 1] by 255 first)")

    def forward(self, pixels: Tensor) -> Tensor:
        from lstmkit.tasks.image import to_sequences

        pixels = self.check_pixels(pixels, 255)
        return torch.softmax(self.model(to_sequences(pixels, self.image_cfg)), dim=-1)


class TaggerTags(nn.Module):
    """A tagger on dense inputs: every position's characters, not only the real words'.

    Shapes: words (B, T), lengths (B,), chars (B*T, L), char_lengths (B*T,) (>= 1, also at
        padding) -> tags (B, T) int64 (Viterbi with a CRF, else argmax), emissions (B, T, K)
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.check_lengths = LengthCheck("lengths")
        self.check_char_lengths = LengthCheck("char_lengths")
        self.check_words, self.check_chars = IdCheck("words"), IdCheck("chars")

    def forward(self, words: Tensor, lengths: Tensor, chars: Tensor, char_lengths: Tensor) -> tuple[Tensor, Tensor]:
        from lstmkit.data.batching import padding_mask

        lengths = self.check_lengths(lengths, words.size(1))
        char_lengths = self.check_char_lengths(char_lengths, chars.size(1))
        m = self.model
        words = self.check_words(words, m.embed.num_embeddings - 1)
        if m.char_embed is not None:
            chars = self.check_chars(chars, m.char_embed.num_embeddings - 1)
        mask = padding_mask(lengths, words.size(1))                           # (B, T)
        x = m.embed(words)                                                    # (B, T, E)
        if m.char_embed is not None:
            _, (h, _) = m.char_rnn(m.char_embed(chars), lengths=char_lengths, need_cell_state=False)
            per_word = torch.cat([h[0], h[1]], dim=-1).view(words.size(0), words.size(1), -1)  # (B, T, 2C)
            x = torch.cat([x, per_word * mask.unsqueeze(-1)], dim=-1)
        out, _ = m.rnn(x, lengths=lengths, need_cell_state=False)            # (B, T, 2H)
        emissions = m.head(out)                                              # (B, T, K)
        tags = m.crf.viterbi(emissions.float(), mask) if m.crf is not None else emissions.argmax(-1)
        return tags, emissions


def dense_tag_inputs(words: Sequence[Sequence[str]], vocabs, length: int) -> tuple[Tensor, ...]:
    """The inputs of :class:`TaggerTags` for sentences of words, padded to ``length`` words."""
    from lstmkit.boundary import integer, word_sentences
    from lstmkit.tasks.tag_data import MAX_WORD_CHARS, fold_forms, word_key

    length = integer("length", length, low=1, high=MAX_EXPORT_LEN)
    words = word_sentences("words", words, max_words=length)
    batch = len(words)
    word_ids = torch.zeros(batch, length, dtype=torch.long)
    chars = torch.zeros(batch * length, MAX_WORD_CHARS, dtype=torch.long)          # always 30 wide
    char_lengths = torch.ones(batch * length, dtype=torch.long)
    for b, sentence in enumerate(words):
        word_ids[b, : len(sentence)] = torch.tensor(vocabs.words.encode(word_key(w) for w in sentence))
        for t, word in enumerate(sentence):
            ids = vocabs.chars.encode(fold_forms(word)[:MAX_WORD_CHARS])
            chars[b * length + t, : len(ids)] = torch.tensor(ids)
            char_lengths[b * length + t] = len(ids)
    return word_ids, torch.tensor([len(s) for s in words]), chars, char_lengths


def export_spec(run_dir: str | Path, length: int | None = None, fmt: str = "onnx") -> ExportSpec:
    """The exportable module of a run, in eval mode on the CPU.

    ``length`` is the time length T of a classifier's tokens (default ``classify.max_len``, else
    256), a tagger's words (default 64), or a language model's tokens in a ``pt2`` graph (default
    ``lm.num_steps``: torch.export unrolls the LSTM, so that graph takes exactly T tokens, where the
    ONNX graph takes any number). Forecasters and image models have the length they were built
    for, and refuse it.
    """
    from lstmkit.boundary import integer
    from lstmkit.training.checkpoint import read_run_config

    cfg = read_run_config(run_dir)
    if length is not None:
        length = integer("length", length, low=1, high=MAX_EXPORT_LEN)
        if cfg.task == "lm" and fmt != "pt2":
            raise ConfigError("--length applies to a language model's pt2 graph (it takes exactly that many tokens); "
                              "its ONNX graph takes any number of tokens: leave --length out")
        if cfg.task not in ("classify", "tag", "lm"):
            raise ConfigError(f"--length applies to classify, tag and (pt2) lm runs; a {cfg.task} run's graph takes "
                              "the length its model was built for: leave --length out")
    if cfg.task == "lm":
        from lstmkit.tasks.lm import load_lm

        model, vocab, _ = load_lm(run_dir)
        from lstmkit.nn.cells import REGISTRY, spec as cell_spec

        cell = cell_spec(cfg.model.cell)
        if not cell.native_kernel:
            raise ConfigError(f"a {cfg.model.cell} language model has no fused kernel to export; export a model of "
                              f"a cell that has one ({', '.join(c for c, e in REGISTRY.items() if e.native_kernel)})")
        layers, hidden, batch = cfg.model.num_layers, cfg.model.hidden_size, 2
        names = list(cell.state)                                  # ["h", "c"] or ["h"]
        step = (LMStep(model) if len(names) == 2 else GRULMStep(model)).eval()
        steps = length or cfg.lm.num_steps
        example = (torch.randint(0, len(vocab), (batch, steps)),
                   *(torch.zeros(layers, batch, hidden) for _ in names))
        inputs = ["tokens", *(f"state_in_{n}" for n in names)]
        outputs = ["logits", *(f"state_out_{n}" for n in names)]
        ranges = {"tokens": (0, len(vocab) - 1), **{f"state_in_{n}": (-FLOAT32_MAX, FLOAT32_MAX) for n in names}}
        notes = {"checks": _checks_note(ranges)}
        if fmt == "pt2":
            one = ("it feeds one token at a time, carrying the state" if steps == 1 else
                   f"feed longer text in pieces of {steps}, carrying the state; export with --length 1 to feed one "
                   "token at a time")
            notes["tokens_note"] = (f"this pt2 graph takes exactly {steps} token{'s' if steps != 1 else ''} per call "
                                    f"(torch.export unrolls the LSTM): {one}, or use --format onnx for any length")
        return ExportSpec(step, example, inputs, outputs, {"tokens": 0, **{f"state_in_{n}": 1 for n in names}},
                          {"tokens": 1, "logits": 1}, notes=notes, ranges=ranges)
    if cfg.task == "classify":
        from lstmkit.tasks.classify import load_classifier

        model, vocab, _ = load_classifier(run_dir)
        uncapped = length is None and not cfg.classify.max_len
        length = length or cfg.classify.max_len or UNCAPPED_LEN         # texts are padded (or cut) to it
        ranges = {"lengths": (1, length), "tokens": (0, model.embed.num_embeddings - 1)}
        notes: dict[str, object] = {"max_len": length, "checks": _checks_note(ranges)}
        if uncapped:
            notes["max_len_note"] = (f"trained with classify.max_len=0 (no cap), exported for {length} tokens: "
                                     f"texts longer than {length} tokens must be cut to their first {length}; "
                                     "export with --length N (or train with --set classify.max_len=N) for another length")
            logger.warning("%s: %s", run_dir, notes["max_len_note"])
        tokens = torch.randint(1, len(vocab), (3, length))
        lengths = torch.tensor([length, max(1, length // 2), max(1, length // 3)])
        return ExportSpec(Probabilities(model).eval(), (tokens, lengths), ["tokens", "lengths"], ["probabilities"],
                          {"tokens": 0, "lengths": 0}, {}, notes=notes, ranges=ranges)
    if cfg.task == "forecast":
        from lstmkit.tasks.forecast import load_forecaster

        model, cfg, meta = load_forecaster(run_dir)
        wrapped = ScaledForecaster(model, meta["mean"], meta["std"], meta["target_mean"], meta["target_std"]).eval()
        example = (torch.randn(2, cfg.forecast.input_len, len(meta["inputs"])),)
        ranges = {"series": (-FLOAT32_MAX, FLOAT32_MAX)}
        return ExportSpec(wrapped, example, ["series"], ["forecast"], {"series": 0}, {},
                          notes={"checks": "series must be finite (no NaN or inf)"}, ranges=ranges)
    if cfg.task == "image":
        from lstmkit.tasks.image import load_image_model

        model, _ = load_image_model(run_dir)
        example = (torch.rand(2, 28, 28) * 255,)
        ranges = {"pixels": (0, 255)}
        return ExportSpec(ImagePixels(model, cfg.image).eval(), example, ["pixels"], ["probabilities"],
                          {"pixels": 0}, {}, notes={"checks": _checks_note(ranges) + " (grey values 0-255, not 0-1)"},
                          ranges=ranges)
    if cfg.task == "tag":
        from lstmkit.tasks.tag import load_tagger

        model, vocabs, _ = load_tagger(run_dir)
        words = length or TAG_LEN
        example = dense_tag_inputs([["the"] * words, ["a"] * max(1, words // 3), ["x"] * max(1, words // 12)],
                                   vocabs, words)
        ranges = {"lengths": (1, int(example[0].shape[1])), "char_lengths": (1, int(example[2].shape[1])),
                  "words": (0, model.embed.num_embeddings - 1)}
        if model.char_embed is not None:
            ranges["chars"] = (0, model.char_embed.num_embeddings - 1)
        notes = {"checks": _checks_note(ranges) + " (char_lengths also at padding)"}
        return ExportSpec(TaggerTags(model).eval(), example, ["words", "lengths", "chars", "char_lengths"],
                          ["tags", "emissions"], {"words": 0, "lengths": 0}, {}, {"chars": 0, "char_lengths": 0},
                          notes, ranges)
    raise ConfigError(f"export of {cfg.task} runs is not supported")


def input_description(spec: ExportSpec, fmt: str) -> dict[str, object]:
    """What each input must be, for the sidecar and :func:`lstmkit.exported.load_exported`:
    ``input_shapes`` (a dimension is a size, ``"batch"``, ``"batch*T"`` or ``"time"``: any),
    ``input_dtypes`` and ``input_ranges`` ([low, high], as checked inside the graph)."""
    steps = int(spec.example[0].shape[1]) if spec.example[0].dim() > 1 else 1
    shapes: dict[str, list[object]] = {}
    for name, example in zip(spec.inputs, spec.example):
        dims: list[object] = list(example.shape)
        if name in spec.batch_axes:
            dims[spec.batch_axes[name]] = "batch"
        if name in spec.batch_times:
            dims[spec.batch_times[name]] = f"batch*{steps}"
        if fmt == "onnx" and name in spec.time_axes:
            dims[spec.time_axes[name]] = "time"
        shapes[name] = dims
    return {"input_shapes": shapes,
            "input_dtypes": {n: str(t.dtype).removeprefix("torch.") for n, t in zip(spec.inputs, spec.example)},
            "input_ranges": {n: [low, high] for n, (low, high) in spec.ranges.items()},
            "max_batch": MAX_BATCH, "batch_note": "every input holds the same examples: the batch dimensions agree"}


def _checks_note(ranges: dict[str, tuple[int, int]]) -> str:
    """The sidecar's words for the checks inside the graph: "lengths must be between 1 and 8,
    tokens between 0 and 99"."""
    parts = [f"{name} {'must be ' if i == 0 else ''}{_rule(low, high)}" for i, (name, (low, high)) in enumerate(ranges.items())]
    return ", ".join(parts)


def _relax_onnx_axes(path: Path, spec: ExportSpec) -> None:
    """Name the batch and time axes in the ONNX graph's signature, so that runtimes take any size."""
    import onnx

    model = onnx.load(str(path))
    axes = {name: {axis: "batch"} for name, axis in spec.batch_axes.items()}
    for name in spec.outputs:
        axes.setdefault(name, {})[0 if not name.startswith("state_out") else 1] = "batch"
    for name, axis in spec.time_axes.items():
        axes.setdefault(name, {})[axis] = "time"
    for name, axis in spec.batch_times.items():
        axes.setdefault(name, {})[axis] = "batch_x_time"
    for value in [*model.graph.input, *model.graph.output]:
        for axis, label in axes.get(value.name, {}).items():
            dims = value.type.tensor_type.shape.dim
            if axis < len(dims):
                dims[axis].ClearField("dim_value")
                dims[axis].dim_param = label
    if spec.time_axes:              # the traced shapes inside hold the example's T: runtimes warn on any other
        del model.graph.value_info[:]
    _name_range_checks(model, spec.ranges)
    onnx.save(model, str(path))


def export_run(run_dir: str | Path, fmt: str = "onnx", output: str | Path | None = None, force: bool = False,
               length: int | None = None) -> Path:
    """Export ``run_dir``'s model; returns the written file (a ``.json`` sidecar beside it).
    Both are written atomically (a kill leaves an older export whole).

    Args:
        force: replace an existing file at ``output`` (the default ``RUN_DIR/model.FORMAT`` is
            lstmkit's own and is always replaced).
        length: the time length of a classifier's or tagger's graph (see :func:`export_spec`).

    Raises:
        ConfigError: for an unknown format or a task that cannot be exported yet.
        OutputError: for an output that is one of the run's own files, exists (without
            ``force``), or lies in a missing folder.
    """
    from lstmkit.training.rundir import check_output
    from lstmkit.training.rundir import own_files

    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose onnx or pt2")
    run_dir = Path(run_dir)
    _task_of(run_dir)                           # a run to export first: its folder's output checks come after
    default = run_dir / f"model.{fmt}"
    target = output_name(output, example=default.name) if output is not None else default
    other = {"onnx": "pt2", "pt2": "onnx"}[fmt]
    if target.suffix.lower() == f".{other}":
        raise ConfigError(f"--output {str(target)!r} is named like a .{other} file, but --format is {fmt}: name it "
                          f"{target.with_suffix('.' + fmt).name!r}, or pass --format {other}")
    own = os.path.realpath(target) == os.path.realpath(default)
    if own and not force and not written_by_export(default):
        raise OutputError(f"{str(default)!r} already exists and is not an export lstmkit wrote (its description "
                          f"{default.name}.json does not match it); move it, pass --force to replace it, or choose "
                          "another --output")
    protected = own_files(run_dir, exclude=(default.name, default.name + ".json"))
    check_output(target, protected=protected, force=force, replaceable=own, example=default.name)
    sidecar_path = Path(str(target) + ".json")          # checked too: --output RUN/config -> RUN/config.json
    if sidecar_path.is_dir():
        raise OutputError(f"--output {str(target)!r} needs its description {sidecar_path.name!r} beside it, and "
                          f"{str(sidecar_path)!r} is a directory; move that folder, or choose another --output")
    try:
        check_output(sidecar_path, protected=protected, force=force, replaceable=own, example=default.name)
    except OutputError as err:
        raise OutputError(f"--output {str(target)!r} writes its description {sidecar_path.name!r} beside it, and "
                          f"{str(err).removeprefix('--output ')}") from None
    if target.suffix.lower() != f".{fmt}":
        logger.warning("%s does not end in .%s; it is written all the same (the file is %s whatever its name)",
                       printable(str(target)), fmt, {"onnx": "an ONNX graph", "pt2": "a torch.export program"}[fmt])
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError:
            raise ConfigError("ONNX export needs the onnx and onnxscript packages: pip install 'lstmkit[export]' "
                              "(or --format pt2, which needs only torch)") from None
    spec = export_spec(run_dir, length, fmt)
    names = spec.inputs
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    shapes = {n: {a: batch} for n, a in spec.batch_axes.items()}
    for name, axis in spec.batch_times.items():                   # the tagger's per-position characters
        shapes[name] = {axis: batch * spec.example[0].shape[1]}
    sweep_temporaries(target.parent)                  # what a killed export left
    staged: list[Path] = []
    try:
        if fmt == "pt2":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")                 # torch's notes on the RNN's flat weights: not the user's
                program = torch.export.export(spec.module, spec.example, dynamic_shapes=_shapes_for(spec, shapes))
            with quieted("torch.export.pt2_archive._package"):   # "expect a file ending in .pt2": the staged name
                staged.append(stage(target, lambda tmp: torch.export.save(program, str(tmp))))
        else:
            with quieted("torch.onnx._internal.exporter._registration"), warnings.catch_warnings():
                warnings.simplefilter("ignore")                 # "torchvision is not installed" x 4: not ours
                onnx_program = torch.onnx.export(spec.module, spec.example, dynamo=True, verbose=False,
                                                 input_names=names, output_names=spec.outputs,
                                                 dynamic_shapes=_shapes_for(spec, shapes))

            def save_onnx(tmp: Path) -> None:
                onnx_program.save(str(tmp))
                _relax_onnx_axes(tmp, spec)

            staged.append(stage(target, save_onnx))
        from lstmkit.exported import checks_digest
        from lstmkit.training.manifest import sha256_file

        sidecar = {"task": _task_of(run_dir), "format": fmt, "inputs": spec.inputs, "outputs": spec.outputs,
                   "example_shapes": {n: list(t.shape) for n, t in zip(spec.inputs, spec.example)},
                   **input_description(spec, fmt), "sha256": sha256_file(staged[0]),
                   "run_dir": str(run_dir.resolve()), **spec.notes}
        sidecar["checks_sha256"] = checks_digest(sidecar)
        staged.append(stage(sidecar_path, json.dumps(sidecar, indent=2)))
    except BaseException as err:
        for tmp in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(err, OSError):
            import errno

            fix = ("free space on that disk or choose another --output" if err.errno in (errno.ENOSPC, errno.EDQUOT)
                   else "choose another --output, in a folder you can write files in")
            raise LstmkitError(f"cannot write the export {str(target)!r}: {err.strerror or err}; {fix}") from None
        if isinstance(err, LstmkitError) or not isinstance(err, Exception):
            raise
        raise LstmkitError(f"exporting {str(run_dir)!r} to {fmt} failed: {str(err).splitlines()[0][:200]}") from None
    publish(staged[0], target)                # both staged whole: the graph and its sidecar replace
    publish(staged[1], sidecar_path)          # the old pair one right after the other
    return target


def _shapes_for(spec: ExportSpec, shapes: dict) -> dict:
    """``dynamic_shapes`` by the module's argument names (they are the input names)."""
    return {name: shapes.get(name, {}) for name in spec.inputs}


def written_by_export(path: Path) -> bool:
    """Whether ``path`` (a run's default export) is absent or an export lstmkit wrote: beside it,
    a description naming its format and task whose checksum (where it has one) matches the
    graph. A user's own ``model.onnx`` in a run folder is never replaced unasked."""
    from lstmkit.boundary import parse_json
    from lstmkit.training.manifest import sha256_file

    side = Path(f"{path}.json")
    if not path.exists() and not side.exists():
        return True
    try:
        sidecar = parse_json(side.read_bytes())
        if not isinstance(sidecar, dict) or not {"format", "task", "inputs"} <= set(sidecar):
            return False
        return not path.exists() or "sha256" not in sidecar or sidecar["sha256"] == sha256_file(path)
    except (OSError, ValueError):
        return False


def _task_of(run_dir: Path) -> str:
    from lstmkit.training.checkpoint import read_run_config

    return read_run_config(run_dir).task


__all__ = ["FORMATS", "ExportSpec", "GRULMStep", "LMStep", "export_run", "export_spec", "input_description"]
