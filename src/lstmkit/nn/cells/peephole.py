"""The peephole cell (FC-LSTM, Shi et al. 2015, eq. 2): ``PeepholeLSTMCell`` (one step), the
``PeepholeLSTM`` layer and its registry entry. No fused kernel exists for it: the layer runs on
the reference loop. Legend: B batch, I input, H hidden.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn

from lstmkit.nn import functional as G
from lstmkit.nn.cells.base import CellSpec
from lstmkit.nn.cells.lstm import LSTMCell
from lstmkit.nn.loop import Step
from lstmkit.nn.rnn import _Recurrent


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



class PeepholeLSTM(_Recurrent, nn.RNNBase):
    """Multi-layer (bi)LSTM with peephole connections (FC-LSTM, Shi et al. 2015, eq. 2).

    The parameters are ``torch.nn.LSTM``'s plus diagonal peepholes ``weight_ci_l{k}``,
    ``weight_cf_l{k}`` and ``weight_co_l{k}`` (each (H,), ``_reverse`` for the backward
    direction). No fused kernel exists for it, so it runs on the ``reference`` backend.

    Shapes: as :class:`LSTM` (no projection).

    Example:
        >>> import torch
        >>> out, (h, c) = PeepholeLSTM(4, 8, batch_first=True)(torch.randn(2, 5, 4))
        >>> out.shape, h.shape
        (torch.Size([2, 5, 8]), torch.Size([1, 2, 8]))
    """

    cell_name = "peephole"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        backend: str = "reference",
    ) -> None:
        nn.RNNBase.__init__(
            self, "LSTM", input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
            bias=bias, batch_first=batch_first, dropout=dropout, bidirectional=bidirectional,
            device=device, dtype=dtype,
        )
        bound = 1.0 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                for gate in ("ci", "cf", "co"):
                    weight = torch.empty(hidden_size, device=device, dtype=dtype)
                    nn.init.uniform_(weight, -bound, bound)
                    self.register_parameter(f"weight_{gate}{suffix}", nn.Parameter(weight))
        self.backend = backend

    def extra_repr(self) -> str:
        return super().extra_repr() + ", peephole=True"


def reference_step(layer: nn.Module, index: int, direction: int) -> Step:
    """The loop's step of layer ``index``, ``direction``:
    :func:`~lstmkit.nn.functional.peephole_lstm_step` with its weights and peepholes."""
    suffix = f"_l{index}" + ("_reverse" if direction == 1 else "")
    weights = layer.layer_weights(index, direction)
    return functools.partial(
        G.peephole_lstm_step,
        weight_hh=weights[1],
        bias_hh=weights[3] if layer.bias else None,
        weight_ci=getattr(layer, "weight_ci" + suffix),
        weight_cf=getattr(layer, "weight_cf" + suffix),
        weight_co=getattr(layer, "weight_co" + suffix),
    )


SPEC = CellSpec("peephole", PeepholeLSTM, PeepholeLSTMCell, gates=("i", "f", "g", "o"), state=("h", "c"),
                native_kernel=False, reference_step=reference_step)

__all__ = ["PeepholeLSTM", "PeepholeLSTMCell", "SPEC", "reference_step"]
