"""What a language model exports: its step with the state as tensors (:class:`LMStep`, :class:`GRULMStep`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.config import RunConfig
from lstmkit.errors import ConfigError
from lstmkit.nn.exportable import FLOAT32_MAX, ExportSpec, FiniteCheck, IdCheck, checks_note



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


def export_spec(run_dir: Path, cfg: RunConfig, length: int | None, fmt: str) -> ExportSpec:
    """The exportable module of a language model run (see :func:`lstmkit.export.export_spec`)."""
    if length is not None and fmt != "pt2":
        raise ConfigError("--length applies to a language model's pt2 graph (it takes exactly that many tokens); "
                          "its ONNX graph takes any number of tokens: leave --length out")
    from lstmkit.tasks.lm.model import load_lm

    model, vocab, _ = load_lm(run_dir)
    from lstmkit.nn.cells import REGISTRY, spec as cell_spec

    cell = cell_spec(cfg.model.cell)
    if not REGISTRY[cfg.model.cell].step_export:
        raise ConfigError(f"a {cfg.model.cell} language model has no fused kernel to export; export a model of "
                          f"a cell that has one ({', '.join(c for c, e in REGISTRY.items() if e.step_export)})")
    layers, hidden, batch = cfg.model.num_layers, cfg.model.hidden_size, 2
    names = list(cell.state)                                  # ["h", "c"] or ["h"]
    step = (LMStep(model) if len(names) == 2 else GRULMStep(model)).eval()
    steps = length or cfg.lm.num_steps
    example = (torch.randint(0, len(vocab), (batch, steps)),
               *(torch.zeros(layers, batch, hidden) for _ in names))
    inputs = ["tokens", *(f"state_in_{n}" for n in names)]
    outputs = ["logits", *(f"state_out_{n}" for n in names)]
    ranges = {"tokens": (0, len(vocab) - 1), **{f"state_in_{n}": (-FLOAT32_MAX, FLOAT32_MAX) for n in names}}
    notes = {"checks": checks_note(ranges)}
    if fmt == "pt2":
        one = ("it feeds one token at a time, carrying the state" if steps == 1 else
               f"feed longer text in pieces of {steps}, carrying the state; export with --length 1 to feed one "
               "token at a time")
        notes["tokens_note"] = (f"this pt2 graph takes exactly {steps} token{'s' if steps != 1 else ''} per call "
                                f"(torch.export unrolls the LSTM): {one}, or use --format onnx for any length")
    return ExportSpec(step, example, inputs, outputs, {"tokens": 0, **{f"state_in_{n}": 1 for n in names}},
                      {"tokens": 1, "logits": 1}, notes=notes, ranges=ranges)
