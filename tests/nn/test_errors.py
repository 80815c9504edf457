"""Bad input raises a ValueError naming the expected and the received value."""

from __future__ import annotations

import pytest
import torch

from lstmkit.nn import GRU, LSTM, PeepholeLSTM, make_rnn


def test_wrong_input_width():
    with pytest.raises(ValueError, match=r"expects input features 5.*got shape \(3, 7, 4\)"):
        LSTM(5, 6, batch_first=True)(torch.randn(3, 7, 4))


def test_wrong_dimensionality():
    with pytest.raises(ValueError, match=r"expects a 3-D input.*got 4-D input of shape \(1, 2, 3, 5\)"):
        GRU(5, 6)(torch.randn(1, 2, 3, 5))


def test_state_of_wrong_shape():
    layer = LSTM(5, 6, num_layers=2, batch_first=True)
    h, c = torch.zeros(2, 3, 6), torch.zeros(1, 3, 6)
    with pytest.raises(ValueError, match=r"c_0 of shape \(2, 3, 6\).*got \(1, 3, 6\)"):
        layer(torch.randn(3, 7, 5), (h, c))


def test_lstm_state_needs_two_tensors():
    with pytest.raises(ValueError, match="h_0 and c_0, got 1 tensor"):
        LSTM(5, 6)(torch.randn(7, 3, 5), (torch.zeros(1, 3, 6),))


@pytest.mark.parametrize("bad", [[3, 8, 2], [3, 0, 2]])
def test_lengths_out_of_range(bad):
    with pytest.raises(ValueError, match=r"every length must be in \[1, 7\].*got " + str(max(bad) if max(bad) > 7 else 0)):
        LSTM(5, 6, batch_first=True)(torch.randn(3, 7, 5), lengths=torch.tensor(bad))


def test_lengths_of_wrong_shape():
    with pytest.raises(ValueError, match=r"lengths must have shape \(3,\).*got \(2,\)"):
        GRU(5, 6, batch_first=True)(torch.randn(3, 7, 5), lengths=[7, 7])


def test_unknown_backend_and_cell():
    with pytest.raises(ValueError, match="unknown backend 'fast'; choose one of: native, reference"):
        LSTM(5, 6, backend="fast")
    with pytest.raises(ValueError, match="has no native kernel; use backend='reference'"):
        PeepholeLSTM(5, 6, backend="native")
    with pytest.raises(ValueError, match="unknown cell 'rnn'; choose one of: gru, lnlstm, lstm, mingru, minlstm, peephole"):
        make_rnn("rnn", 5, 6)
