"""Regularisers for recurrent language models (Merity, Keskar & Socher 2018, "Regularizing and
Optimizing LSTM Language Models"): variational (locked) dropout, embedding dropout, DropConnect
on the hidden-to-hidden weights, and activation regularisation (AR/TAR).

Legend: B batch, T time, D features, V vocabulary, E embedding.
"""

from __future__ import annotations

import torch  # noqa: F401 - the doctests use it
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call


def locked_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout with one mask per sequence, shared by all time steps (variational dropout).

    Shapes: x (B, T, D) -> (B, T, D)

    Example:
        >>> y = locked_dropout(torch.ones(2, 5, 3), 0.5, training=True)
        >>> bool((y == y[:, :1]).all())          # the same units are dropped at every step
        True
    """
    if not training or p == 0:
        return x
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)   # (B, 1, D)
    return x * mask


def dropout(x: Tensor, p: float, training: bool, locked: bool) -> Tensor:
    """Locked (variational) or ordinary element-wise dropout.  x (B, T, D)"""
    return locked_dropout(x, p, training) if locked else F.dropout(x, p, training)


def embedding_dropout(embed: nn.Embedding, tokens: Tensor, p: float, training: bool) -> Tensor:
    """Look tokens up in an embedding whose rows (whole words) are dropped with probability p.

    Every occurrence of a dropped word in the batch gets a zero vector; kept rows are scaled by
    1 / (1 - p).  Shapes: tokens (B, T) -> (B, T, E)
    """
    if not training or p == 0:
        return embed(tokens)
    weight = embed.weight                                                    # (V, E)
    mask = weight.new_empty(weight.size(0), 1).bernoulli_(1 - p) / (1 - p)   # (V, 1)
    return F.embedding(tokens, weight * mask, embed.padding_idx)


def weight_dropped_call(rnn: nn.Module, p: float, training: bool, *args, **kwargs):
    """Call a one-layer recurrent module with DropConnect on its hidden-to-hidden weights.

    One mask per call (per batch), shared by every time step, as in AWD-LSTM; the module's own
    parameters are untouched (``torch.func.functional_call`` swaps in the dropped copy), so the
    fused kernels still run.
    """
    if not training or p == 0:
        return rnn(*args, **kwargs)
    dropped = {name: F.dropout(param, p, training=True)
               for name, param in rnn.named_parameters() if name.startswith("weight_hh")}
    return functional_call(rnn, dropped, args, kwargs)


def activation_penalty(dropped: Tensor, raw: Tensor, alpha: float, beta: float) -> Tensor:
    """AR + TAR: alpha * mean(dropped^2) + beta * mean((raw_t - raw_{t-1})^2).

    ``dropped`` is the last layer's output after dropout, ``raw`` before it.
    Shapes: dropped, raw (B, T, D) -> scalar
    """
    penalty = dropped.new_zeros(())
    if alpha > 0:
        penalty = penalty + alpha * dropped.pow(2).mean()
    if beta > 0 and raw.size(1) > 1:
        penalty = penalty + beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return penalty
