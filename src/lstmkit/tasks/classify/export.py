"""What a classifier exports: its probabilities over padded tokens and lengths (:class:`Probabilities`)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.config import RunConfig
from lstmkit.nn.exportable import ExportSpec, IdCheck, LengthCheck, checks_note

logger = logging.getLogger("lstmkit.export")



UNCAPPED_LEN = 256          # the T a classifier trained without classify.max_len is exported for


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


def export_spec(run_dir: Path, cfg: RunConfig, length: int | None, fmt: str) -> ExportSpec:
    """The exportable module of a classify run (see :func:`lstmkit.export.export_spec`)."""
    from lstmkit.tasks.classify.model import load_classifier

    model, vocab, _ = load_classifier(run_dir)
    uncapped = length is None and not cfg.classify.max_len
    length = length or cfg.classify.max_len or UNCAPPED_LEN         # texts are padded (or cut) to it
    ranges = {"lengths": (1, length), "tokens": (0, model.embed.num_embeddings - 1)}
    notes: dict[str, object] = {"max_len": length, "checks": checks_note(ranges)}
    if uncapped:
        notes["max_len_note"] = (f"trained with classify.max_len=0 (no cap), exported for {length} tokens: "
                                 f"texts longer than {length} tokens must be cut to their first {length}; "
                                 "export with --length N (or train with --set classify.max_len=N) for another length")
        logger.warning("%s: %s", run_dir, notes["max_len_note"])
    tokens = torch.randint(1, len(vocab), (3, length))
    lengths = torch.tensor([length, max(1, length // 2), max(1, length // 3)])
    return ExportSpec(Probabilities(model).eval(), (tokens, lengths), ["tokens", "lengths"], ["probabilities"],
                      {"tokens": 0, "lengths": 0}, {}, notes=notes, ranges=ranges)
