"""The LayerNorm LSTM (issue 20): equal to an independent loop written from Ba et al.'s
equations with torch.nn.LayerNorm modules (outputs and gradients), gradcheck in float64, exact
with lengths, the cell equal to a one-layer layer, state in and out, and weights that copy
from torch.nn.LSTM."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.autograd import gradcheck

from lstmkit.nn import make_rnn
from lstmkit.nn.cells.lnlstm import LayerNormLSTM, LayerNormLSTMCell, lnlstm_step

I, H, T, B = 3, 5, 6, 4


def _oracle(layer: LayerNormLSTM, x: torch.Tensor, index: int = 0, suffix: str = "_l0") -> tuple:
    """One direction of one layer, step by step, with nn.LayerNorm modules (not F.layer_norm)."""
    norms = {}
    for name, size in (("ln_ih", 4 * H), ("ln_hh", 4 * H), ("ln_c", H)):
        ln = nn.LayerNorm(size, eps=1e-5, dtype=x.dtype)
        ln.weight, ln.bias = getattr(layer, f"{name}_weight{suffix}"), getattr(layer, f"{name}_bias{suffix}")
        norms[name] = ln
    w_ih, w_hh, b = (getattr(layer, n + suffix) for n in ("weight_ih", "weight_hh", "bias"))
    h = c = x.new_zeros(x.size(1), H)
    outs = []
    for t in range(x.size(0)):                                   # x (T, B, I)
        z = norms["ln_ih"](x[t] @ w_ih.T) + norms["ln_hh"](h @ w_hh.T) + b
        i, f, g, o = z.chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(norms["ln_c"](c))
        outs.append(h)
    return torch.stack(outs), h, c


def test_the_layer_equals_the_papers_equations_outputs_and_gradients():
    torch.manual_seed(0)
    layer = LayerNormLSTM(I, H)
    with torch.no_grad():                                        # norms away from their identity start
        for name, p in layer.named_parameters():
            if name.startswith("ln_"):
                p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(T, B, I, requires_grad=True)
    out, (h, c) = layer(x)
    ref_out, ref_h, ref_c = _oracle(layer, x)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h[0], ref_h, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c[0], ref_c, rtol=1e-5, atol=1e-6)
    ours = torch.autograd.grad(out.square().sum(), [x, *layer.parameters()])
    theirs = torch.autograd.grad(ref_out.square().sum(), [x, *layer.parameters()])
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_gradcheck_float64():
    torch.manual_seed(0)
    args = [torch.randn(2, 4 * H, dtype=torch.float64, requires_grad=True),       # x_proj
            torch.randn(2, H, dtype=torch.float64, requires_grad=True),           # h
            torch.randn(2, H, dtype=torch.float64, requires_grad=True),           # c
            torch.randn(4 * H, H, dtype=torch.float64, requires_grad=True),       # weight_hh
            torch.randn(4 * H, dtype=torch.float64, requires_grad=True)]          # bias
    norms = tuple(torch.randn(n, dtype=torch.float64, requires_grad=True) for n in (4 * H,) * 4 + (H, H))
    assert gradcheck(lambda *a: lnlstm_step(*a[:5], norms=a[5:]), (*args, *norms))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_are_exact_and_state_goes_in_and_out(bidirectional):
    torch.manual_seed(1)
    layer = make_rnn("lnlstm", I, H, num_layers=2, bidirectional=bidirectional, batch_first=True)
    x, lengths = torch.randn(B, T, I), torch.tensor([6, 2, 4, 1])
    out, (h, c) = layer(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, (hb, cb) = layer(x[b : b + 1, :n])
        torch.testing.assert_close(out[b, :n], alone[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(h[:, b], hb[:, 0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(c[:, b], cb[:, 0], rtol=1e-5, atol=1e-6)
        assert out[b, n:].abs().sum() == 0
    if bidirectional:
        return                                                   # a backward pass cannot be split in time
    first, state = layer(x[:, :3])                               # carried state: two halves = one pass
    second, end = layer(x[:, 3:], state)
    whole, whole_end = layer(x)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(end[1], whole_end[1], rtol=1e-5, atol=1e-6)


def test_the_cell_is_one_step_of_the_layer_and_weights_copy_from_torch_lstm():
    torch.manual_seed(2)
    layer, cell = LayerNormLSTM(I, H), LayerNormLSTMCell(I, H)
    torch_lstm = nn.LSTM(I, H)
    missing, unexpected = layer.load_state_dict(torch_lstm.state_dict(), strict=False)
    assert {"bias_ih_l0", "bias_hh_l0"} == set(unexpected) and "ln_c_weight_l0" in missing
    torch.testing.assert_close(layer.weight_ih_l0, torch_lstm.weight_ih_l0)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias", "ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias",
                     "ln_c_weight", "ln_c_bias"):
            getattr(cell, name).copy_(getattr(layer, name + "_l0"))
    x = torch.randn(T, B, I)
    out, _ = layer(x)
    h = c = torch.zeros(B, H)
    for t in range(T):
        h, c = cell(x[t], (h, c))
        torch.testing.assert_close(h, out[t], rtol=1e-5, atol=1e-6)


def test_native_is_refused_with_the_backend_to_use():
    with pytest.raises(ValueError, match="has no native kernel; use backend='reference'"):
        LayerNormLSTM(I, H, backend="native")
