"""Gate inspection: the recorded states equal the native layers' outputs, and the gates are
what the equations say."""

from __future__ import annotations

import pytest
import torch

from lstmkit.nn import GRU, LSTM


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_traced_outputs_equal_the_native_layer(cls, bidirectional, with_lengths):
    torch.manual_seed(0)
    layer = cls(5, 7, num_layers=2, bidirectional=bidirectional, batch_first=True).eval()
    x = torch.randn(3, 9, 5)
    lengths = torch.tensor([9, 4, 6]) if with_lengths else None
    with torch.no_grad():
        out, state = layer(x, lengths=lengths)
    traced_out, traced_state, trace = layer(x, lengths=lengths, return_gates=True)
    torch.testing.assert_close(traced_out, out, atol=1e-5, rtol=1e-5)
    h_n = state[0] if cls is LSTM else state
    t_h = traced_state[0] if cls is LSTM else traced_state
    torch.testing.assert_close(t_h, h_n, atol=1e-5, rtol=1e-5)
    d = 2 if bidirectional else 1
    assert set(trace.steps) == {(layer_i, k) for layer_i in range(2) for k in range(d)}
    names = {"h", "c", "i", "f", "g", "o"} if cls is LSTM else {"h", "r", "z", "n"}
    assert set(trace.steps[(1, 0)]) == names
    assert trace.get("h", layer=-1, direction=0).shape == (9, 3, 7)               # time-major
    # the last layer's forward h is the first half of the output
    torch.testing.assert_close(trace.get("h").transpose(0, 1), out[..., :7], atol=1e-5, rtol=1e-5)
    if with_lengths:                                                      # padded steps are zero
        assert trace.get("h")[4:, 1].abs().max() == 0


def test_lstm_gates_follow_the_equations():
    torch.manual_seed(1)
    layer = LSTM(4, 6, batch_first=True).eval()
    x = torch.randn(2, 5, 4)
    _, (h_n, c_n), trace = layer(x, return_gates=True)
    s = trace.steps[(0, 0)]
    c_prev = torch.zeros(2, 6)
    for t in range(5):
        c = s["f"][t] * c_prev + s["i"][t] * s["g"][t]
        torch.testing.assert_close(s["c"][t], c)
        torch.testing.assert_close(s["h"][t], s["o"][t] * torch.tanh(c))
        c_prev = c
    torch.testing.assert_close(c_n[0], s["c"][-1])
    assert ((s["i"] > 0) & (s["i"] < 1)).all() and (s["g"].abs() <= 1).all()


def test_gate_inspection_refuses_packed_input():
    from torch.nn.utils.rnn import pack_sequence

    with pytest.raises(ValueError, match="return_gates takes a padded batch"):
        LSTM(2, 3)(pack_sequence([torch.randn(3, 2)]), return_gates=True)


@pytest.mark.parametrize("cell", __import__("lstmkit.nn.cells", fromlist=["names"]).names())
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_every_registered_cell_traces_to_its_own_forward(cell, bidirectional, with_lengths):
    """Issue 19: trace_gates treated a PeepholeLSTM as a plain LSTM (outputs off by up to 0.012).
    Every cell's trace runs its own step through the one loop: outputs, final states and the
    recorded h equal the layer's plain forward, whatever its backend."""
    from lstmkit.nn import cells, make_rnn

    spec = cells.spec(cell)
    torch.manual_seed(0)
    layer = make_rnn(cell, 5, 7, num_layers=2, bidirectional=bidirectional, batch_first=True,
                     backend=cells.default_backend(cell)).eval()
    x = torch.randn(3, 9, 5)
    lengths = torch.tensor([9, 4, 6]) if with_lengths else None
    with torch.no_grad():
        out, state = layer(x, lengths=lengths)
        traced_out, traced_state, trace = layer(x, lengths=lengths, return_gates=True)
    state = state if isinstance(state, tuple) else (state,)
    traced_state = traced_state if isinstance(traced_state, tuple) else (traced_state,)
    torch.testing.assert_close(traced_out, out, atol=1e-5, rtol=1e-5)
    for ours, theirs in zip(traced_state, state):
        if theirs is not None:
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    assert trace.cell == cell and trace.gates == spec.gates
    assert set(trace.steps[(1, 0)]) == {*spec.state, *spec.gates}
    torch.testing.assert_close(trace.get("h").transpose(0, 1), out[..., :7], atol=1e-5, rtol=1e-5)


def test_the_registry_line_says_what_the_cell_module_says():
    """The facts the config reads before torch (the registry line) are the cell module's own."""
    from lstmkit.nn import cells

    for name, entry in cells.REGISTRY.items():
        spec = cells.spec(name)
        assert spec.name == name and spec.layer.cell_name == name
        assert entry.native_kernel == spec.native_kernel
        assert cells.default_backend(name) == ("native" if spec.native_kernel else "reference")
        # int8 and the step-by-step export go through torch's fused LSTM/GRU modules
        assert not (entry.quantizes or entry.step_export) or entry.native_kernel
