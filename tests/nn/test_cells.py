"""Cells equal torch.nn.LSTMCell/GRUCell; the tutorials' cell loops work."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmkit.nn import GRUCell, LSTMCell, PeepholeLSTMCell

TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_matches_torch(batched, with_state, bias):
    torch.manual_seed(0)
    ours, theirs = LSTMCell(5, 7, bias=bias), nn.LSTMCell(5, 7, bias=bias)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5) if batched else torch.randn(5)
    shape = (3, 7) if batched else (7,)
    hx = (torch.randn(shape), torch.randn(shape)) if with_state else None
    (h_a, c_a), (h_b, c_b) = ours(x, hx), theirs(x, hx)
    torch.testing.assert_close(h_a, h_b, **TOL)
    torch.testing.assert_close(c_a, c_b, **TOL)
    (h_a.sum() + 2 * c_a.sum()).backward()
    (h_b.sum() + 2 * c_b.sum()).backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **TOL, msg=name)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_gru_cell_matches_torch(batched, with_state):
    torch.manual_seed(0)
    ours, theirs = GRUCell(5, 7), nn.GRUCell(5, 7)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5) if batched else torch.randn(5)
    hx = torch.randn((3, 7) if batched else (7,)) if with_state else None
    h_a, h_b = ours(x, hx), theirs(x, hx)
    torch.testing.assert_close(h_a, h_b, **TOL)
    h_a.pow(2).sum().backward()
    h_b.pow(2).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **TOL, msg=name)


def test_one_layer_cell_loop_matches_layer():
    """The tutorial's LSTMCell loop over time gives what nn.LSTM gives."""
    torch.manual_seed(0)
    cell, layer = LSTMCell(10, 20), nn.LSTM(10, 20)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = torch.randn(6, 3, 10)
    h, c = torch.zeros(3, 20), torch.zeros(3, 20)
    outputs = []
    for t in range(x.size(0)):
        h, c = cell(x[t], (h, c))
        outputs.append(h)
    out, (h_n, c_n) = layer(x)
    torch.testing.assert_close(torch.stack(outputs), out, **TOL)
    torch.testing.assert_close(c, c_n[0], **TOL)


def test_two_layer_cell_loop_matches_layer():
    """The tutorial's two stacked LSTMCells equal a 2-layer nn.LSTM."""
    torch.manual_seed(0)
    cell1, cell2, layer = LSTMCell(10, 20), LSTMCell(20, 20), nn.LSTM(10, 20, num_layers=2)
    state = {k + "_l0": v for k, v in cell1.state_dict().items()}
    state.update({k + "_l1": v for k, v in cell2.state_dict().items()})
    layer.load_state_dict(state)
    x = torch.randn(6, 3, 10)
    h1 = c1 = h2 = c2 = torch.zeros(3, 20)
    outputs = []
    for t in range(x.size(0)):
        h1, c1 = cell1(x[t], (h1, c1))
        h2, c2 = cell2(h1, (h2, c2))
        outputs.append(h2)
    out, _ = layer(x)
    torch.testing.assert_close(torch.stack(outputs), out, **TOL)


def test_peephole_cell_loads_lstm_cell_weights():
    lstm = nn.LSTMCell(4, 6)
    peep = PeepholeLSTMCell(4, 6)
    missing = peep.load_state_dict(lstm.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["weight_cf", "weight_ci", "weight_co"]
    with torch.no_grad():
        for p in (peep.weight_ci, peep.weight_cf, peep.weight_co):
            p.zero_()
    x = torch.randn(2, 4)
    torch.testing.assert_close(peep(x)[1], lstm(x)[1], **TOL)


@pytest.mark.parametrize("cell", [LSTMCell(4, 6), GRUCell(4, 6), PeepholeLSTMCell(4, 6)])
def test_cell_rejects_wrong_input_width(cell):
    with pytest.raises(ValueError, match=r"expects input \(batch, 4\).*got \(2, 5\)"):
        cell(torch.randn(2, 5))


def test_cell_rejects_wrong_state_shape():
    with pytest.raises(ValueError, match=r"expects h of shape \(2, 6\), got \(3, 6\)"):
        LSTMCell(4, 6)(torch.randn(2, 4), (torch.zeros(3, 6), torch.zeros(2, 6)))
