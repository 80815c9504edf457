"""``PeepholeLSTM``: the FC-LSTM layer (Shi et al. 2015, eq. 2) on the reference loop."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from lstmkit.nn import functional as G
from lstmkit.nn.rnn import _Recurrent


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

    has_native_kernel = False

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

    def _reference_step(self, layer: int, direction: int):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        weights = self.layer_weights(layer, direction)
        return functools.partial(
            G.peephole_lstm_step,
            weight_hh=weights[1],
            bias_hh=weights[3] if self.bias else None,
            weight_ci=getattr(self, "weight_ci" + suffix),
            weight_cf=getattr(self, "weight_cf" + suffix),
            weight_co=getattr(self, "weight_co" + suffix),
        )

    def extra_repr(self) -> str:
        return super().extra_repr() + ", peephole=True"
