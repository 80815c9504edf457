"""Single-step cells: ``LSTMCell``, ``GRUCell`` and ``PeepholeLSTMCell``.

``LSTMCell`` and ``GRUCell`` subclass their ``torch.nn`` namesakes for the parameters (same
names, shapes and initialisation, so state dicts load both ways) and compute the step with the
gate functions of :mod:`lstmkit.nn.functional`. Legend: B batch, I input, H hidden.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lstmkit.nn import functional as G


def _check_cell_input(cell: nn.Module, x: Tensor, input_size: int) -> bool:
    """Validate a cell's input; returns whether it is batched."""
    if x.dim() not in (1, 2) or x.size(-1) != input_size:
        raise ValueError(
            f"{type(cell).__name__} expects input (batch, {input_size}) or ({input_size},), "
            f"got {tuple(x.shape)}. A whole sequence goes to the layer (LSTM/GRU), not the cell."
        )
    return x.dim() == 2


def _check_cell_state(cell: nn.Module, name: str, s: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(s.shape) != expected:
        raise ValueError(
            f"{type(cell).__name__} expects {name} of shape {expected}, got {tuple(s.shape)}"
        )


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
        batched = _check_cell_input(self, input, self.input_size)
        x = input if batched else input.unsqueeze(0)                    # (B, I)
        if hx is None:
            zeros = x.new_zeros(x.size(0), self.hidden_size)
            h, c = zeros, zeros
        else:
            h, c = hx
            expected = (x.size(0), self.hidden_size) if batched else (self.hidden_size,)
            _check_cell_state(self, "h", h, expected)
            _check_cell_state(self, "c", c, expected)
            h, c = (h, c) if batched else (h.unsqueeze(0), c.unsqueeze(0))
        h, c = self._step(x, h, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))

    def _step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        return G.lstm_cell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class GRUCell(nn.GRUCell):
    """A GRU cell: ``torch.nn.GRUCell``'s interface, gate-by-gate arithmetic.

    Shapes: input (B, I) or (I,); hx (B, H) or (H,) -> h of the same shape.

    Example:
        >>> import torch
        >>> GRUCell(10, 20)(torch.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = _check_cell_input(self, input, self.input_size)
        x = input if batched else input.unsqueeze(0)                    # (B, I)
        if hx is None:
            h = x.new_zeros(x.size(0), self.hidden_size)
        else:
            expected = (x.size(0), self.hidden_size) if batched else (self.hidden_size,)
            _check_cell_state(self, "hx", hx, expected)
            h = hx if batched else hx.unsqueeze(0)
        h = G.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h if batched else h.squeeze(0)


class PeepholeLSTMCell(LSTMCell):
    """An FC-LSTM cell with peephole connections (Shi et al. 2015, eq. 2).

    Parameters are those of ``torch.nn.LSTMCell`` plus the diagonal peepholes ``weight_ci``,
    ``weight_cf`` and ``weight_co`` (each (H,)), so the rest of a ``torch.nn.LSTMCell`` state
    dict loads with ``strict=False``.

    Shapes: as :class:`LSTMCell`.

    Example:
        >>> import torch
        >>> h, c = PeepholeLSTMCell(10, 20)(torch.randn(3, 10))
        >>> h.shape
        torch.Size([3, 20])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        kw = {"device": device, "dtype": dtype}
        self.weight_ci = nn.Parameter(torch.empty(hidden_size, **kw))
        self.weight_cf = nn.Parameter(torch.empty(hidden_size, **kw))
        self.weight_co = nn.Parameter(torch.empty(hidden_size, **kw))
        bound = 1.0 / math.sqrt(hidden_size)
        for p in (self.weight_ci, self.weight_cf, self.weight_co):
            nn.init.uniform_(p, -bound, bound)

    def _step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        return G.peephole_lstm_cell(
            x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
            self.weight_ci, self.weight_cf, self.weight_co,
        )
