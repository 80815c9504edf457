"""Gate inspection: every step's hidden state, cell state and gates of an LSTM or GRU layer.

``layer(x, return_gates=True)`` (or :func:`trace_gates`) runs the layer's own weights through
the reference equations of :mod:`lstmkit.nn.functional`, step by step, and keeps what the fused
kernels never expose: for each layer and direction, the input, forget and output gates and the
cell candidate of an LSTM (``i``, ``f``, ``g``, ``o``; PyTorch's order), or the reset and update
gates and the candidate of a GRU (``r``, ``z``, ``n``), with ``h`` and (LSTM) ``c`` at every
step. The outputs equal the layer's ``native`` outputs (tested); dropout between layers is not
applied (inspection is for a trained model in eval mode).

Legend: T time, B batch, H hidden (P projected), L layers, D directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from lstmkit.nn.functional import gru_gates, lstm_gates
from lstmkit.nn.loop import lengths_mask, reverse_within_lengths

LSTM_GATES = ("i", "f", "g", "o")        # input, forget, cell candidate, output
GRU_GATES = ("r", "z", "n")              # reset, update, candidate


@dataclass
class GateTrace:
    """What one layer did at every step. Keys of ``steps``: ``(layer, direction)``; values:
    name -> tensor (T, B, H) for ``h``, ``c`` (LSTM) and each gate, in the input's time
    order (a reverse direction's steps are put back in reading order); padded steps are 0."""

    mode: str                                              # "LSTM" or "GRU"
    gates: tuple[str, ...]
    steps: dict[tuple[int, int], dict[str, Tensor]] = field(default_factory=dict)

    def get(self, name: str, layer: int = -1, direction: int = 0) -> Tensor:
        """One quantity of one layer and direction, (T, B, H)."""
        layers = sorted({k[0] for k in self.steps})
        return self.steps[(layers[layer], direction)][name]


def _lstm_step(x_proj, h, c, weight_hh, bias_hh, weight_hr):
    """:func:`~lstmkit.nn.functional.lstm_step`, keeping the gates."""
    i, f, g, o = lstm_gates(x_proj, h, weight_hh, bias_hh)
    c = f * c + i * g
    h = o * torch.tanh(c)
    if weight_hr is not None:
        h = F.linear(h, weight_hr)
    return h, c, {"i": i, "f": f, "g": g, "o": o}


def _gru_step(x_proj, h, weight_hh, bias_hh):
    """:func:`~lstmkit.nn.functional.gru_step`, keeping the gates."""
    r, z, n = gru_gates(x_proj, h, weight_hh, bias_hh)
    return (1 - z) * n + z * h, {"r": r, "z": z, "n": n}


@torch.no_grad()
def trace_gates(layer, x: Tensor, hx=None, lengths=None) -> tuple[Tensor, tuple[Tensor, ...], GateTrace]:
    """Run ``layer`` (an lstmkit ``LSTM`` or ``GRU``) and record its gates.

    Args:
        layer: the recurrent layer; its weights are used as they are.
        x: (T, B, I), or (B, T, I) with ``batch_first``.
        hx: the initial state as the layer takes it (zeros if None).
        lengths: real lengths of a right-padded batch.

    Shapes: output (T, B, D*H) or (B, T, D*H); states (L*D, B, *); trace tensors (T, B, H)
        time-major whatever ``batch_first`` is.

    Returns:
        ``(output, state, trace)``; ``state`` is ``(h_n, c_n)`` for an LSTM, ``(h_n,)`` for a GRU.

    Raises:
        ValueError: for an input the layer would refuse, or a layer that is not an LSTM/GRU.
    """
    mode = getattr(layer, "mode", None)
    if mode not in ("LSTM", "GRU"):
        raise ValueError(f"gate inspection takes an lstmkit LSTM or GRU layer, not {type(layer).__name__}")
    layer._check_input(x)
    if x.dim() == 2:
        raise ValueError("gate inspection needs a batched 3-D input; add a batch dimension")
    if layer.batch_first:
        x = x.transpose(0, 1)
    max_len, batch = x.shape[:2]
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=x.device)
        mask = lengths_mask(lengths, max_len)                              # (T, B)
    else:
        mask = None
    states = layer._check_state(hx, batch)
    if states is None:
        states = tuple(x.new_zeros(layer.num_layers * layer.num_directions, batch, s) for s in layer._state_sizes())
    trace = GateTrace(mode, LSTM_GATES if mode == "LSTM" else GRU_GATES)
    layer_input, finals = x, []
    for index_layer in range(layer.num_layers):
        outputs = []
        for direction in range(layer.num_directions):
            index = index_layer * layer.num_directions + direction
            w = layer.layer_weights(index_layer, direction)
            inp = layer_input
            if direction == 1:
                inp = inp.flip(0) if lengths is None else reverse_within_lengths(inp, lengths)
            x_proj = F.linear(inp, w[0], w[2] if layer.bias else None)     # (T, B, G)
            state = tuple(s[index] for s in states)
            record: dict[str, list[Tensor]] = {}
            for t, x_t in enumerate(x_proj.unbind(0)):
                if mode == "LSTM":
                    h, c, gates = _lstm_step(x_t, *state, w[1], w[3] if layer.bias else None,
                                             w[-1] if layer.proj_size > 0 else None)
                    new = (h, c)
                else:
                    h, gates = _gru_step(x_t, state[0], w[1], w[3] if layer.bias else None)
                    new = (h,)
                if mask is not None:
                    keep = mask[t].unsqueeze(1)                            # (B, 1)
                    new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
                    gates = {k: v * keep for k, v in gates.items()}
                state = new
                for name, value in {"h": state[0], **({"c": state[1]} if mode == "LSTM" else {}), **gates}.items():
                    record.setdefault(name, []).append(value)
            steps = {k: torch.stack(v) for k, v in record.items()}         # each (T, B, *)
            if mask is not None:
                steps = {k: v * mask.unsqueeze(-1) for k, v in steps.items()}
            if direction == 1:
                steps = {k: v.flip(0) if lengths is None else reverse_within_lengths(v, lengths)
                         for k, v in steps.items()}
            trace.steps[(index_layer, direction)] = steps
            outputs.append(steps["h"])
            finals.append(state)
        layer_input = torch.cat(outputs, dim=-1)                           # (T, B, D*H)
    final = tuple(torch.stack([f[i] for f in finals]) for i in range(len(states)))  # (L*D, B, *)
    output = layer_input.transpose(0, 1) if layer.batch_first else layer_input
    return output, final, trace


__all__ = ["GRU_GATES", "GateTrace", "LSTM_GATES", "trace_gates"]
