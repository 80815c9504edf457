"""The plain tutorial way, kept as a baseline for benchmarks (not part of the package).

``TutorialLSTM`` is the d2l.ai from-scratch LSTM: separate matrices per gate
(``W_xi, W_hi, b_i, ...``), one Python step per time step, stacked into layers and directions
the way the tutorials extend it. Legend: B batch, T time, I input, H hidden.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _TutorialDirection(nn.Module):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()

        def three() -> tuple[nn.Parameter, nn.Parameter, nn.Parameter]:
            return (nn.Parameter(torch.randn(input_size, hidden_size) * 0.01),
                    nn.Parameter(torch.randn(hidden_size, hidden_size) * 0.01),
                    nn.Parameter(torch.zeros(hidden_size)))

        self.W_xi, self.W_hi, self.b_i = three()   # input gate
        self.W_xf, self.W_hf, self.b_f = three()   # forget gate
        self.W_xo, self.W_ho, self.b_o = three()   # output gate
        self.W_xc, self.W_hc, self.b_c = three()   # candidate cell
        self.hidden_size = hidden_size

    def forward(self, x: Tensor) -> Tensor:
        """Shapes: x (T, B, I) -> outputs (T, B, H)"""
        H = x.new_zeros(x.size(1), self.hidden_size)
        C = x.new_zeros(x.size(1), self.hidden_size)
        outputs = []
        for X in x:
            I = torch.sigmoid((X @ self.W_xi) + (H @ self.W_hi) + self.b_i)
            F = torch.sigmoid((X @ self.W_xf) + (H @ self.W_hf) + self.b_f)
            O = torch.sigmoid((X @ self.W_xo) + (H @ self.W_ho) + self.b_o)
            C_tilda = torch.tanh((X @ self.W_xc) + (H @ self.W_hc) + self.b_c)
            C = F * C + I * C_tilda
            H = O * torch.tanh(C)
            outputs.append(H)
        return torch.stack(outputs)


class TutorialLSTM(nn.Module):
    """Stacked, optionally bidirectional tutorial LSTM over batch-first input.

    Shapes: x (B, T, I) -> outputs (B, T, D*H)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False) -> None:
        super().__init__()
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            nn.ModuleList(_TutorialDirection(input_size if k == 0 else dirs * hidden_size, hidden_size)
                          for _ in range(dirs))
            for k in range(num_layers)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x.transpose(0, 1)                                    # (B, T, I) -> (T, B, I)
        for directions in self.layers:
            outs = [directions[0](x)]
            if len(directions) == 2:
                outs.append(directions[1](x.flip(0)).flip(0))
            x = torch.cat(outs, dim=-1)                          # (T, B, D*H)
        return x.transpose(0, 1)                                 # (B, T, D*H)
