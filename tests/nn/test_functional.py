"""Gradients of every gate function are right (gradcheck in float64)."""

from __future__ import annotations

import torch
from torch.autograd import gradcheck

from lstmkit.nn import functional as G
from lstmkit.nn.cells import GRUCell, LSTMCell, PeepholeLSTMCell
from lstmkit.nn import LSTM, PeepholeLSTM


def _rand(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


def test_gradcheck_lstm_cell_with_projection():
    B, I, H, P = 2, 3, 4, 2
    args = (_rand(B, I), _rand(B, P), _rand(B, H), _rand(4 * H, I), _rand(4 * H, P),
            _rand(4 * H), _rand(4 * H), _rand(P, H))
    assert gradcheck(G.lstm_cell, args)


def test_gradcheck_gru_cell():
    B, I, H = 2, 3, 4
    args = (_rand(B, I), _rand(B, H), _rand(3 * H, I), _rand(3 * H, H), _rand(3 * H), _rand(3 * H))
    assert gradcheck(G.gru_cell, args)


def test_gradcheck_peephole_lstm_cell():
    B, I, H = 2, 3, 4
    args = (_rand(B, I), _rand(B, H), _rand(B, H), _rand(4 * H, I), _rand(4 * H, H),
            _rand(4 * H), _rand(4 * H), _rand(H), _rand(H), _rand(H))
    assert gradcheck(G.peephole_lstm_cell, args)


def test_gradcheck_cell_modules():
    for cell in (LSTMCell(3, 4), GRUCell(3, 4), PeepholeLSTMCell(3, 4)):
        cell = cell.double()
        x = _rand(2, 3)
        assert gradcheck(lambda inp: cell(inp)[0] if isinstance(cell(inp), tuple) else cell(inp), (x,))


def test_gradcheck_reference_layers_with_lengths():
    torch.manual_seed(0)
    for layer in (LSTM(3, 4, bidirectional=True, batch_first=True, backend="reference"),
                  PeepholeLSTM(3, 4, bidirectional=True, batch_first=True)):
        layer = layer.double()
        x = _rand(3, 5, 3)
        lengths = torch.tensor([5, 2, 3])
        assert gradcheck(lambda inp: layer(inp, lengths=lengths)[0], (x,))
