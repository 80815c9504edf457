"""Refuse, before allocating, work that cannot fit in this machine's memory.

Two things grow without bound from a user's input: the model (its sizes) and a padded batch
(its longest sequence times the batch size). Both are estimated from the settings and the
lengths alone, and a clear error replaces the out-of-memory kill that would come minutes later.

The activation estimate counts, per token, the embedding and for every recurrent layer and
direction the input projection and the gates (G x H each), the cell and hidden states (2H) and,
in training, as much again for their gradients. It is an upper bound within a small factor,
which is what a refusal needs: the limit is the memory available now. Measured here for IMDB's
classifier (BiLSTM, E=100, H=128), one training step of 64 x 3,000 tokens peaked 2.37 GiB above
its start and 16 x 6,000 tokens 1.20 GiB, where the estimate says 3.81 and 1.90 GiB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from lstmkit.config import ModelConfig
from lstmkit.errors import ConfigError, DataError
from lstmkit import resources


def check_model_fits(build: Callable[[], nn.Module], m: ModelConfig) -> None:
    """Refuse a model whose training state (weights, gradients and two optimizer moments, in
    fp32) needs more than this machine's memory; ``build`` runs on the meta device."""
    with torch.device("meta"):
        params = sum(p.numel() for p in build().parameters())
    need, total = params * 4 * 4, resources.total_bytes()
    if total is not None and need > total:
        raise ConfigError(f"the model has {params:,} parameters and training it needs about {need / 2**30:.0f} GiB, "
                          f"more than this machine's {total / 2**30:.0f} GiB (model.hidden_size={m.hidden_size}, "
                          f"model.embedding_dim={m.embedding_dim}, model.num_layers={m.num_layers}); choose smaller sizes")


def bytes_per_token(m: ModelConfig, bidirectional: bool, training: bool) -> int:
    """fp32 bytes of activations one padded token costs in a forward (and backward) pass."""
    directions = 2 if bidirectional else 1
    from lstmkit.nn.cells import spec

    gates = spec(m.cell).gate_blocks                   # blocks of H in the gate projection
    per_layer = directions * (2 * gates + 2) * m.hidden_size
    floats = m.embedding_dim + m.num_layers * per_layer
    return 4 * floats * (2 if training else 1)


def check_batches_fit(lengths: Sequence[int], batch_size: int, m: ModelConfig, *, bidirectional: bool,
                      training: bool, source: str, fix: str, numbered: bool = False) -> None:
    """Refuse data whose longest padded batch (``batch_size`` rows of its longest sequence)
    needs more activation memory than is available.

    Args:
        lengths: tokens per sequence (after any truncation).
        source: what the sequences are, for the message ("training data", "input").
        fix: how to make the sequences shorter, for the message.
        numbered: the sequences are in the user's order, so the message gives the longest one's number.

    Raises:
        DataError: naming the longest sequence, the estimate, the memory and ``fix``.
    """
    if not lengths:
        return
    longest = max(lengths)
    rows = min(batch_size, len(lengths))
    need, have = longest * rows * bytes_per_token(m, bidirectional, training), resources.available_bytes()
    if have is None or need <= have:
        return
    which = f"sequence {list(lengths).index(longest) + 1}" if numbered else "the longest sequence"
    batch = f"a batch of {rows} padded to it" if rows > 1 else "it"
    raise DataError(f"{source}: {which} has {longest:,} tokens, and {batch} needs about "
                    f"{need / 2**30:,.1f} GiB for the recurrent layers, more than the {have / 2**30:.1f} GiB "
                    f"available; {fix}")
