"""The LSTM cell: ``LSTMCell`` (one step) and its registry entry; the layer is
:class:`lstmkit.nn.rnn.LSTM` (fused kernel or the reference loop).

``LSTMCell`` subclasses ``torch.nn.LSTMCell`` for the parameters (same names, shapes and
initialisation, so state dicts load both ways) and computes the step with
:func:`lstmkit.nn.functional.lstm_cell`. Legend: B batch, I input, H hidden, P projection.
"""

from __future__ import annotations

import functools

from torch import Tensor, nn

from lstmkit.nn import functional as G
from lstmkit.nn.cells.base import CellSpec, check_cell_input, check_cell_state
from lstmkit.nn.loop import Step


class LSTMCell(nn.LSTMCell):
    """An LSTM cell: ``torch.nn.LSTMCell``'s interface, gate-by-gate arithmetic.

    Args:
        input_size: features of x.
        hidden_size: features of h and c.
        bias: whether to use ``bias_ih`` and ``bias_hh``.

    Shapes: input (B, I) or (I,); hx = (h, c) each (B, H) or (H,) -> (h, c) of the same shape.

    Example:
        >>> import torch
        >>> cell = LSTMCell(10, 20)
        >>> x, h, c = torch.randn(6, 3, 10), torch.zeros(3, 20), torch.zeros(3, 20)
        >>> outputs = []
        >>> for t in range(6):                       # the tutorial's one-cell loop
        ...     h, c = cell(x[t], (h, c))
        ...     outputs.append(h)
        >>> torch.stack(outputs).shape
        torch.Size([6, 3, 20])

        Two stacked cells, the tutorial's two-layer loop:

        >>> cell1, cell2 = LSTMCell(10, 20), LSTMCell(20, 20)
        >>> h1 = c1 = h2 = c2 = torch.zeros(3, 20)
        >>> for t in range(6):
        ...     h1, c1 = cell1(x[t], (h1, c1))
        ...     h2, c2 = cell2(h1, (h2, c2))
        >>> h2.shape, c2.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        batched = check_cell_input(self, input, self.input_size)
        x = input if batched else input.unsqueeze(0)                    # (B, I)
        if hx is None:
            zeros = x.new_zeros(x.size(0), self.hidden_size)
            h, c = zeros, zeros
        else:
            h, c = hx
            expected = (x.size(0), self.hidden_size) if batched else (self.hidden_size,)
            check_cell_state(self, "h", h, expected)
            check_cell_state(self, "c", c, expected)
            h, c = (h, c) if batched else (h.unsqueeze(0), c.unsqueeze(0))
        h, c = self._step(x, h, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))

    def _step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        return G.lstm_cell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


def reference_step(layer: nn.Module, index: int, direction: int) -> Step:
    """The loop's step of layer ``index``, ``direction``: :func:`~lstmkit.nn.functional.lstm_step`
    with its recurrent weights (and the projection, with ``proj_size``)."""
    weights = layer.layer_weights(index, direction)
    return functools.partial(G.lstm_step, weight_hh=weights[1], bias_hh=weights[3] if layer.bias else None,
                             weight_hr=weights[-1] if layer.proj_size > 0 else None)


def _spec() -> CellSpec:
    from lstmkit.nn.rnn import LSTM

    return CellSpec("lstm", LSTM, LSTMCell, gates=("i", "f", "g", "o"), state=("h", "c"), native_kernel=True,
                    reference_step=reference_step)


SPEC = _spec()

__all__ = ["LSTMCell", "SPEC", "reference_step"]
