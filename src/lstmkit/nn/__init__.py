"""The recurrent core: gate functions, the one time loop, layers and the cell registry.

Names are imported on first use (``from lstmkit.nn import LSTM`` imports torch then), so that
``lstmkit.nn.cells``' registry can be read without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from lstmkit.nn import cells

_NAMES = {
    "BACKENDS": "lstmkit.nn.rnn", "GRU": "lstmkit.nn.rnn", "LSTM": "lstmkit.nn.rnn",
    "init_chrono": "lstmkit.nn.rnn", "init_forget_bias": "lstmkit.nn.rnn",
    "LSTMCell": "lstmkit.nn.cells.lstm", "GRUCell": "lstmkit.nn.cells.gru",
    "PeepholeLSTMCell": "lstmkit.nn.cells.peephole", "PeepholeLSTM": "lstmkit.nn.cells.peephole",
}


def __getattr__(name: str) -> Any:
    if name == "CELLS":                  # layer classes by the name a config or --cell uses
        return {cell: cells.spec(cell).layer for cell in cells.names()}
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_rnn(cell: str, input_size: int, hidden_size: int, **kwargs):
    """Build a recurrent layer by its cell's registry name; ``kwargs`` go to its constructor.

    Raises:
        ValueError: for a name that is not registered (:mod:`lstmkit.nn.cells`).

    Example:
        >>> make_rnn("gru", 4, 8, batch_first=True).hidden_size
        8
    """
    return cells.spec(cell).layer(input_size, hidden_size, **kwargs)


__all__ = ["BACKENDS", "CELLS", "GRU", "GRUCell", "LSTM", "LSTMCell", "PeepholeLSTM", "PeepholeLSTMCell",
           "cells", "init_chrono", "init_forget_bias", "make_rnn"]
