"""The recurrent core: gate functions, cells, layers and the layer registry."""

from __future__ import annotations

from torch import nn

from lstmkit.nn.cells import GRUCell, LSTMCell, PeepholeLSTMCell
from lstmkit.nn.peephole import PeepholeLSTM
from lstmkit.nn.rnn import BACKENDS, GRU, LSTM, init_chrono, init_forget_bias

#: Layer classes by the name a config or a ``--cell`` flag uses.
CELLS: dict[str, type[nn.Module]] = {"lstm": LSTM, "gru": GRU, "peephole": PeepholeLSTM}


def make_rnn(cell: str, input_size: int, hidden_size: int, **kwargs) -> nn.Module:
    """Build a recurrent layer by name; ``kwargs`` go to its constructor.

    Raises:
        ValueError: for a name that is not a key of :data:`CELLS`.

    Example:
        >>> make_rnn("gru", 4, 8, batch_first=True).hidden_size
        8
    """
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of: {', '.join(sorted(CELLS))}")
    return CELLS[cell](input_size, hidden_size, **kwargs)


__all__ = [
    "BACKENDS", "CELLS", "GRU", "GRUCell", "LSTM", "LSTMCell", "PeepholeLSTM",
    "PeepholeLSTMCell", "init_chrono", "init_forget_bias", "make_rnn",
]
