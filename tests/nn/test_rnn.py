"""Layers equal torch.nn.LSTM/GRU: outputs, final states and every parameter gradient."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmkit.nn import GRU, LSTM, PeepholeLSTM, make_rnn

TOL = {"rtol": 1e-5, "atol": 1e-5}
I, H, P, T, B = 5, 6, 3, 7, 4
LENGTHS = torch.tensor([4, 7, 1, 5])  # unsorted, one of length 1, one full


def _pair(kind: str, backend: str, **kw):
    """Our layer and a torch layer holding the same weights."""
    torch.manual_seed(0)
    ours = (LSTM if kind == "lstm" else GRU)(I, H, backend=backend, **kw)
    theirs = (nn.LSTM if kind == "lstm" else nn.GRU)(I, H, **kw)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _states(kind: str, layers: int, dirs: int, proj: int, batch: int = B):
    g = torch.Generator().manual_seed(1)
    h = torch.randn(layers * dirs, batch, proj or H, generator=g)
    if kind == "gru":
        return h
    return h, torch.randn(layers * dirs, batch, H, generator=g)


def _loss(out, state):
    """A scalar that touches every output element and every final state with its own weight."""
    g = torch.Generator().manual_seed(2)
    total = (out * torch.randn(out.shape, generator=g)).sum()
    for s in state if isinstance(state, tuple) else (state,):
        if s is not None:
            total = total + (s * torch.randn(s.shape, generator=g)).sum()
    return total


def _assert_same(ours, theirs, result_ours, result_theirs, check_grads=True):
    (out_a, st_a), (out_b, st_b) = result_ours, result_theirs
    torch.testing.assert_close(out_a, out_b, **TOL)
    st_a = st_a if isinstance(st_a, tuple) else (st_a,)
    st_b = st_b if isinstance(st_b, tuple) else (st_b,)
    for a, b in zip(st_a, st_b):
        if a is not None:
            torch.testing.assert_close(a, b, **TOL)
    if check_grads:
        _loss(out_a, st_a).backward()
        _loss(out_b, tuple(b if a is not None else None for a, b in zip(st_a, st_b))).backward()
        grads_b = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            torch.testing.assert_close(p.grad, grads_b[name].grad, **TOL, msg=f"grad of {name}")


GRID = list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("proj", [0, P])
@pytest.mark.parametrize("layers,bidir,batch_first,with_state", GRID)
def test_lstm_matches_torch(backend, proj, layers, bidir, batch_first, with_state):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first, proj_size=proj)
    ours, theirs = _pair("lstm", backend, **kw)
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    hx = _states("lstm", layers, 2 if bidir else 1, proj) if with_state else None
    _assert_same(ours, theirs, ours(x, hx), theirs(x, hx))


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("layers,bidir,batch_first,with_state", GRID)
def test_gru_matches_torch(backend, layers, bidir, batch_first, with_state):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    ours, theirs = _pair("gru", backend, **kw)
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    hx = _states("gru", layers, 2 if bidir else 1, 0) if with_state else None
    _assert_same(ours, theirs, ours(x, hx), theirs(x, hx))


def _torch_packed(theirs, x, hx, lengths):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, state = theirs(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out, state


LENGTH_GRID = list(itertools.product(["lstm", "gru"], [1, 2, 3], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("kind,layers,bidir,with_state,batch_first", LENGTH_GRID)
def test_padded_plus_lengths_equals_packed(backend, kind, layers, bidir, with_state, batch_first):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=True)
    ours, theirs = _pair(kind, backend, **kw)
    x = torch.randn(B, T, I)
    hx = _states(kind, layers, 2 if bidir else 1, 0) if with_state else None
    expected = _torch_packed(theirs, x, hx, LENGTHS)
    if not batch_first:                                     # the same batch, time-major
        ours.batch_first = False
        out, state = ours(x.transpose(0, 1), hx, lengths=LENGTHS)
        _assert_same(ours, theirs, (out.transpose(0, 1), state), expected)
    else:
        _assert_same(ours, theirs, ours(x, hx, lengths=LENGTHS), expected)


@pytest.mark.parametrize("bidir", [False, True])
def test_reference_lengths_with_projection(bidir):
    ours, theirs = _pair("lstm", "reference", num_layers=2, bidirectional=bidir, batch_first=True,
                         proj_size=P)
    x = torch.randn(B, T, I)
    _assert_same(ours, theirs, ours(x, lengths=LENGTHS), _torch_packed(theirs, x, None, LENGTHS))


@pytest.mark.parametrize("bidir", [False, True])
def test_lengths_fast_path_without_cell_state(bidir):
    """need_cell_state=False stays on the fused kernel: outputs and h_n exact, c_n None."""
    ours, theirs = _pair("lstm", "native", num_layers=2, bidirectional=bidir, batch_first=True)
    x = torch.randn(B, T, I)
    out, (h, c) = ours(x, lengths=LENGTHS, need_cell_state=False)
    assert c is None
    _assert_same(ours, theirs, (out, (h, None)), _torch_packed(theirs, x, None, LENGTHS))


def test_lengths_with_projection_native():
    ours, theirs = _pair("lstm", "native", num_layers=2, bidirectional=True, batch_first=True,
                         proj_size=P)
    x = torch.randn(B, T, I)
    out, (h, _) = ours(x, lengths=LENGTHS, need_cell_state=False)
    _assert_same(ours, theirs, (out, (h, None)), _torch_packed(theirs, x, None, LENGTHS))


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_packed_sequence_in_and_out(backend, kind):
    ours, theirs = _pair(kind, backend, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(B, T, I)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
    out_a, st_a = ours(packed)
    out_b, st_b = theirs(packed)
    assert torch.equal(out_a.batch_sizes, out_b.batch_sizes)
    assert torch.equal(out_a.unsorted_indices, out_b.unsorted_indices)
    _assert_same(ours, theirs, (out_a.data, st_a), (out_b.data, st_b))


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_bidirectional_final_state_is_true_last_step(backend):
    """The classic tutorial bug: out[:, -1] is padding for short rows, and for the reverse
    direction the final state belongs at t = 0. h_n must hold each row's true last steps."""
    ours = LSTM(I, H, bidirectional=True, batch_first=True, backend=backend)
    x = torch.randn(B, T, I)
    out, (h, _) = ours(x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        alone, (h_alone, _) = ours(x[b : b + 1, :n])             # the row with no padding at all
        torch.testing.assert_close(h[:, b], h_alone[:, 0], **TOL)
        torch.testing.assert_close(out[b, n - 1, :H], h[0, b], **TOL)    # forward: last real step
        torch.testing.assert_close(out[b, 0, H:], h[1, b], **TOL)        # reverse: first step
        assert out[b, n:].abs().sum() == 0                                 # padding is zero


@pytest.mark.parametrize("kind", ["lstm", "gru", "peephole"])
def test_unbatched_input_matches_batch_of_one(kind):
    layer = make_rnn(kind, I, H, num_layers=2)
    x = torch.randn(T, I)
    out, state = layer(x)
    out1, state1 = layer(x.unsqueeze(1))
    torch.testing.assert_close(out, out1.squeeze(1), **TOL)
    h, h1 = (state[0], state1[0]) if kind != "gru" else (state, state1)
    torch.testing.assert_close(h, h1.squeeze(1), **TOL)


def test_reference_unbatched_with_state_matches_torch():
    ours, theirs = _pair("lstm", "reference", num_layers=2)
    x = torch.randn(T, I)
    h, c = _states("lstm", 2, 1, 0, batch=1)
    hx = (h.squeeze(1), c.squeeze(1))
    _assert_same(ours, theirs, ours(x, hx), theirs(x, hx))


def test_tutorial_shapes():
    """The shapes the tutorials print: LSTM(100, 20, num_layers=4) on (10, 3, 100)."""
    out, (h, c) = LSTM(100, 20, num_layers=4)(torch.randn(10, 3, 100))
    assert out.shape == (10, 3, 20) and h.shape == (4, 3, 20) and c.shape == (4, 3, 20)


def test_state_dicts_load_both_ways():
    ours = LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P)
    theirs = nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P)
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    assert "weight_hh_l1_reverse" in ours.state_dict()


def test_peephole_with_zero_peepholes_equals_lstm():
    torch.manual_seed(0)
    peep = PeepholeLSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
    lstm = LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
    lstm.load_state_dict(peep.state_dict(), strict=False)
    with torch.no_grad():
        for name, p in peep.named_parameters():
            if name.startswith(("weight_ci", "weight_cf", "weight_co")):
                p.zero_()
    x = torch.randn(B, T, I)
    (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = peep(x), lstm(x)
    torch.testing.assert_close(out_a, out_b, **TOL)
    torch.testing.assert_close(h_a, h_b, **TOL)
    torch.testing.assert_close(c_a, c_b, **TOL)


def test_peephole_weights_change_the_output():
    torch.manual_seed(0)
    peep = PeepholeLSTM(I, H, batch_first=True)
    x = torch.randn(B, T, I)
    before = peep(x)[0]
    with torch.no_grad():
        peep.weight_co_l0.add_(1.0)
    assert not torch.allclose(before, peep(x)[0])


def test_dropout_between_layers_is_active_only_in_training():
    layer = LSTM(I, H, num_layers=2, dropout=0.5, batch_first=True, backend="reference")
    x = torch.randn(B, T, I)
    layer.eval()
    torch.testing.assert_close(layer(x)[0], layer(x)[0])
    layer.train()
    torch.manual_seed(0)
    a = layer(x)[0]
    torch.manual_seed(1)
    assert not torch.allclose(a, layer(x)[0])
