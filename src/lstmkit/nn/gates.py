"""Gate inspection: every step's state and gates of any registered recurrent layer.

``layer(x, return_gates=True)`` (or :func:`trace_gates`) runs the layer's own cell step (from
its module in :mod:`lstmkit.nn.cells`) through the one time loop of :mod:`lstmkit.nn.loop`, and
keeps what the fused kernels never expose: for each layer and direction, the gates the cell
names (an LSTM's or a peephole LSTM's ``i``, ``f``, ``g``, ``o``; a GRU's ``r``, ``z``, ``n``),
with its state (``h``, and ``c`` where it has one) at every step. The outputs equal the
layer's plain forward (tested for every registered cell, one or two directions, with and
without lengths); dropout between layers is not applied (inspection is for a trained model in
eval mode).

Legend: T time, B batch, H hidden (P projected), L layers, D directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from lstmkit.nn.loop import check_lengths

@dataclass
class GateTrace:
    """What one layer did at every step. Keys of ``steps``: ``(layer, direction)``; values:
    name -> tensor (T, B, H) for the state (``h``, ``c``) and each gate, in the input's time
    order (a reverse direction's steps are put back in reading order); padded steps are 0."""

    mode: str                                              # "LSTM" or "GRU"
    gates: tuple[str, ...]
    steps: dict[tuple[int, int], dict[str, Tensor]] = field(default_factory=dict)
    cell: str = ""                                         # the registry name: lstm, gru, peephole, lnlstm

    def get(self, name: str, layer: int = -1, direction: int = 0) -> Tensor:
        """One quantity of one layer and direction, (T, B, H)."""
        layers = sorted({k[0] for k in self.steps})
        return self.steps[(layers[layer], direction)][name]


@torch.no_grad()
def trace_gates(layer, x: Tensor, hx=None, lengths=None) -> tuple[Tensor, tuple[Tensor, ...], GateTrace]:
    """Run ``layer`` (an lstmkit recurrent layer: ``LSTM``, ``GRU``, ``PeepholeLSTM``, ...) and
    record its gates.

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
        ValueError: for an input the layer would refuse, or a layer that is not an lstmkit one.
    """
    if not getattr(layer, "cell_name", ""):
        raise ValueError(f"gate inspection takes an lstmkit recurrent layer (LSTM, GRU, PeepholeLSTM), "
                         f"not {type(layer).__name__}")
    layer._check_input(x)
    if x.dim() == 2:
        raise ValueError("gate inspection needs a batched 3-D input; add a batch dimension")
    if layer.batch_first:
        x = x.transpose(0, 1)                                              # (T, B, I)
    max_len, batch = x.shape[:2]
    if lengths is not None:
        lengths = check_lengths(lengths, batch, max_len).to(x.device)
    states = layer._check_state(hx, batch)
    spec = layer._cell_spec()
    trace = GateTrace(layer.mode, spec.gates, cell=spec.name)
    output, final = layer._run(x, states, lengths, record=trace.steps)    # (T, B, D*H)
    output = output.transpose(0, 1) if layer.batch_first else output
    return output, final, trace


__all__ = ["GateTrace", "trace_gates"]
