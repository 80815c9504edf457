"""minGRU and minLSTM (issue 20): the log-space parallel scan equals the recurrent step (fp32,
outputs and gradients, within 1e-5), gradcheck in float64, exact with lengths in both
directions, any initial state (negative too), 10,000 steps without inf/NaN, the cell one step
of the layer, and the equations written out in the test."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from lstmkit.nn import make_rnn
from lstmkit.nn.cells.minimal import MinGRUCell, MinLSTMCell, parallel_scan

KINDS = ["mingru", "minlstm"]
I, H, T, B = 3, 5, 9, 4


def _g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def _by_hand(kind, x_proj, h):
    """The papers' equations, not their log-space form."""
    if kind == "mingru":
        k, hid = x_proj.chunk(2, -1)
        z = torch.sigmoid(k)
        return (1 - z) * h + z * _g(hid)
    kf, ki, hid = x_proj.chunk(3, -1)
    f, i = torch.sigmoid(kf), torch.sigmoid(ki)
    return f / (f + i) * h + i / (f + i) * _g(hid)


@pytest.mark.parametrize("kind", KINDS)
def test_the_scan_equals_the_step_and_the_equations(kind):
    torch.manual_seed(0)
    blocks = 2 if kind == "mingru" else 3
    x_proj, h0 = torch.randn(T, B, blocks * H), torch.randn(B, H)          # a negative state too
    h, expected = h0, []
    for t in range(T):
        h = _by_hand(kind, x_proj[t], h)
        expected.append(h)
    torch.testing.assert_close(parallel_scan(kind, x_proj, h0), torch.stack(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_parallel_and_recurrent_forms_agree_in_outputs_and_gradients(kind, bidirectional):
    torch.manual_seed(1)
    layer = make_rnn(kind, I, H, num_layers=2, bidirectional=bidirectional, batch_first=True)
    x, lengths = torch.randn(B, T, I, requires_grad=True), torch.tensor([9, 4, 6, 1])
    results = []
    for scan in (True, False):
        layer.scan = scan
        out, h = layer(x, lengths=lengths)
        grads = torch.autograd.grad(out.square().sum() + h.sum(), [x, *layer.parameters()])
        results.append((out, h, grads))
    (o1, h1, g1), (o2, h2, g2) = results
    torch.testing.assert_close(o1, o2, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h1, h2, rtol=1e-5, atol=1e-5)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    layer.scan = True
    for b, n in enumerate(lengths.tolist()):                  # each row as if alone
        alone, hb = layer(x[b : b + 1, :n])
        torch.testing.assert_close(o1[b, :n], alone[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(h1[:, b], hb[:, 0], rtol=1e-5, atol=1e-5)
        assert o1[b, n:].abs().sum() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_float64(kind):
    torch.manual_seed(2)
    blocks = 2 if kind == "mingru" else 3
    x_proj = torch.randn(5, 2, blocks * 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True]] * 3 + [[True, False]] * 2)
    assert gradcheck(lambda a, b: parallel_scan(kind, a, b, mask), (x_proj, h0))


@pytest.mark.parametrize("kind", KINDS)
def test_ten_thousand_steps_stay_finite_and_agree(kind):
    torch.manual_seed(3)
    layer = make_rnn(kind, I, H)
    x = torch.randn(10_000, 2, I) * 3
    out, h = layer(x)
    assert torch.isfinite(out).all() and torch.isfinite(h).all()
    layer.scan = False
    out_loop, _ = layer(x)
    torch.testing.assert_close(out, out_loop, rtol=1e-5, atol=1e-5)           # the chunked scan does not drift


@pytest.mark.parametrize("cls,kind", [(MinGRUCell, "mingru"), (MinLSTMCell, "minlstm")])
def test_the_cell_is_one_step_of_the_layer_and_state_carries(cls, kind):
    torch.manual_seed(4)
    layer, cell = make_rnn(kind, I, H), cls(I, H)
    with torch.no_grad():
        cell.weight_ih.copy_(layer.weight_ih_l0)
        cell.bias_ih.copy_(layer.bias_ih_l0)
    x = torch.randn(T, B, I)
    out, h_n = layer(x)
    h = None
    for t in range(T):
        h = cell(x[t], h)
        torch.testing.assert_close(h, out[t], rtol=1e-5, atol=1e-6)
    first, state = layer(x[:4])
    second, end = layer(x[4:], state)
    torch.testing.assert_close(torch.cat([first, second]), out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(end, h_n, rtol=1e-5, atol=1e-6)
