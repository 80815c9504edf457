r"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", sections 3.1-3.2 and
appendix A, log-space form): gates that read only x_t, so a whole sequence is one linear
recurrence h_t = a_t * h_{t-1} + b_t, computed by a parallel scan in log space for training,
or one step at a time (the reference loop: generation, streaming, gate inspection).

.. math::
    \text{minGRU:}\quad z_t &= \sigma(W_z x_t + b_z),\; \tilde h_t = g(W_h x_t + b_h),\;
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t \\
    \text{minLSTM:}\quad f_t &= \sigma(W_f x_t + b_f),\; i_t = \sigma(W_i x_t + b_i),\;
        f'_t = \tfrac{f_t}{f_t + i_t},\; i'_t = \tfrac{i_t}{f_t + i_t},\;
        h_t = f'_t \odot h_{t-1} + i'_t \odot g(W_h x_t + b_h)

with the paper's :math:`g(x) = x + 1/2` for :math:`x \ge 0`, :math:`\sigma(x)` otherwise (positive,
so that :math:`\log b_t` exists). The scan: with :math:`A_t = \sum_{s \le t} \log a_s`,
:math:`h_t = \exp\big(A_t + \operatorname{logcumsumexp}_{s \le t}(\log b_s - A_s)\big) + e^{A_t} h_0`,
so the initial state may be any value (zeros by default, as torch's layers start). Padded steps
are :math:`a = 1, b = 0`, so each row's state stops at its true last step, exactly.

Parameters per layer and direction: ``weight_ih_l{k}`` (G, I) and ``bias_ih_l{k}`` (G), with
G = 2H (z, h) for minGRU and 3H (f, i, h) for minLSTM; no hidden-to-hidden weights. Legend:
B batch, T time, I input, H hidden, G gate width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.nn.cells.base import CellSpec, check_cell_input, check_cell_state
from lstmkit.nn.loop import Step, time_loop
from lstmkit.nn.rnn import _Recurrent

def g(x: Tensor) -> Tensor:
    """The paper's positive activation: x + 1/2 for x >= 0, sigmoid(x) below."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def _coefficients(kind: str, x_proj: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """log a_t, log b_t and the gates of one step or a whole sequence.

    Shapes: x_proj (..., G) -> log_a (..., H), log_b (..., H)
    """
    if kind == "mingru":
        k, hidden = x_proj.chunk(2, dim=-1)
        log_a, log_z = -F.softplus(k), -F.softplus(-k)                       # log(1 - z), log z
        return log_a, log_z + log_g(hidden), {"z": torch.exp(log_z), "h_tilde": g(hidden)}
    kf, ki, hidden = x_proj.chunk(3, dim=-1)
    diff = F.softplus(-kf) - F.softplus(-ki)                                 # log i - log f
    log_f, log_i = -F.softplus(diff), -F.softplus(-diff)                     # log f', log i'
    return log_f, log_i + log_g(hidden), {"f": torch.exp(log_f), "i": torch.exp(log_i), "h_tilde": g(hidden)}


def minimal_step(x_proj: Tensor, h: Tensor, kind: str, gates: dict[str, Tensor] | None = None) -> tuple[Tensor]:
    """One recurrent step: h_t = a_t * h_{t-1} + b_t, a_t and b_t from x_t alone.

    Shapes: x_proj (B, G), h (B, H) -> (h (B, H),)
    """
    log_a, log_b, named = _coefficients(kind, x_proj)
    if gates is not None:
        gates.update(named)
    return (torch.exp(log_a) * h + torch.exp(log_b),)


CHUNK = 64                   # steps per scan: fp32's log-space sums stay small (exact to ~1e-6 at any T)


def parallel_scan(kind: str, x_proj: Tensor, h0: Tensor, mask: Tensor | None = None) -> Tensor:
    """Every step's h, in log space (Heinsen 2023), :data:`CHUNK` steps at a time (each chunk
    in parallel, its last h starting the next: over 10,000 steps one fp32 scan drifts 1e-3
    from the step-by-step form, chunks stay within 1e-5), the padded steps carrying h.

    Shapes: x_proj (T, B, G), h0 (B, H), mask (T, B) -> h (T, B, H)
    """
    log_a, log_b, _ = _coefficients(kind, x_proj)                            # (T, B, H) each
    if mask is not None:                  # padding comes after each row's real steps (both directions)
        keep = mask.unsqueeze(-1)
        log_a = log_a.masked_fill(~keep, 0.0)                                # a = 1: carry h
        log_b = log_b.masked_fill(~keep, -math.inf)                          # b = 0
    out, h = [], h0
    for start in range(0, log_a.size(0), CHUNK):
        a_star = torch.cumsum(log_a[start : start + CHUNK], dim=0)           # (C, B, H), <= 0
        lcse = torch.logcumsumexp(log_b[start : start + CHUNK] - a_star, dim=0)
        chunk = torch.exp(a_star + lcse) + torch.exp(a_star) * h
        out.append(chunk)
        h = chunk[-1]
    return torch.cat(out)


class _MinimalCell(nn.Module):
    """One step with ``torch.nn.GRUCell``'s interface (hx = h, zeros by default)."""

    kind = ""
    blocks = 0

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(self.blocks * hidden_size, input_size, **kw).uniform_(-bound, bound))
        self.bias_ih = (nn.Parameter(torch.empty(self.blocks * hidden_size, **kw).uniform_(-bound, bound))
                        if bias else None)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = check_cell_input(self, input, self.input_size)
        x = input if batched else input.unsqueeze(0)                          # (B, I)
        if hx is None:
            h = x.new_zeros(x.size(0), self.hidden_size)
        else:
            check_cell_state(self, "h", hx, (x.size(0), self.hidden_size) if batched else (self.hidden_size,))
            h = hx if batched else hx.unsqueeze(0)
        (h,) = minimal_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.kind)
        return h if batched else h.squeeze(0)


class MinGRUCell(_MinimalCell):
    """A minGRU step. Example:

        >>> MinGRUCell(4, 8)(torch.randn(2, 4)).shape
        torch.Size([2, 8])
    """

    kind, blocks = "mingru", 2


class MinLSTMCell(_MinimalCell):
    """A minLSTM step (its state is h alone). Example:

        >>> MinLSTMCell(4, 8)(torch.randn(2, 4)).shape
        torch.Size([2, 8])
    """

    kind, blocks = "minlstm", 3


class _MinimalLayer(_Recurrent, nn.Module):
    """Multi-layer (bi)directional minGRU/minLSTM with ``torch.nn.GRU``'s interface: the state
    is h (L*D, B, H), zeros unless given. Training (and any call
    without gate recording) runs the parallel scan; the reference loop runs the same equations
    step by step (``return_gates=True``, or ``scan=False``)."""

    kind = ""
    blocks = 0
    mode = "GRU"                                 # one state tensor, h
    proj_size = 0

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
        scan: bool = True,
    ) -> None:
        nn.Module.__init__(self)
        if hidden_size < 1 or num_layers < 1 or input_size < 1:
            raise ValueError(f"{type(self).__name__} needs input_size, hidden_size and num_layers >= 1, got "
                             f"{input_size}, {hidden_size}, {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.scan = scan
        bound = 1.0 / math.sqrt(hidden_size)
        kw = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                w = torch.empty(self.blocks * hidden_size, width, **kw).uniform_(-bound, bound)
                self.register_parameter("weight_ih" + suffix, nn.Parameter(w))
                if bias:
                    b = torch.empty(self.blocks * hidden_size, **kw).uniform_(-bound, bound)
                    self.register_parameter("bias_ih" + suffix, nn.Parameter(b))
        self.backend = backend

    def layer_weights(self, layer: int, direction: int) -> list[Tensor]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        return [getattr(self, "weight_ih" + suffix)] + ([getattr(self, "bias_ih" + suffix)] if self.bias else [])

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, scan={self.scan}")

    def _run_direction(self, x, initial, layer, direction, lengths, mask, steps=None):
        weights = self.layer_weights(layer, direction)
        x_proj = F.linear(x, weights[0], weights[1] if self.bias else None)  # (T, B, G)
        if steps is not None or not self.scan:
            return time_loop(reference_step(self, layer, direction), x_proj, initial, mask,
                             None if steps is None else (SPECS[self.kind].state, steps))
        h = parallel_scan(self.kind, x_proj, initial[0], mask)               # (T, B, H)
        return h, (h[-1],)                                   # padded steps carried the last real one


class MinGRU(_MinimalLayer):
    """Multi-layer minGRU (Feng et al. 2024). Example:

        >>> out, h = MinGRU(4, 8, num_layers=2, batch_first=True)(torch.randn(3, 5, 4))
        >>> out.shape, h.shape
        (torch.Size([3, 5, 8]), torch.Size([2, 3, 8]))
    """

    cell_name, kind, blocks = "mingru", "mingru", 2


class MinLSTM(_MinimalLayer):
    """Multi-layer minLSTM (Feng et al. 2024); its state is h alone. Example:

        >>> out, h = MinLSTM(4, 8, batch_first=True)(torch.randn(3, 5, 4))
        >>> out.shape, h.shape
        (torch.Size([3, 5, 8]), torch.Size([1, 3, 8]))
    """

    cell_name, kind, blocks = "minlstm", "minlstm", 3


def reference_step(layer: nn.Module, index: int, direction: int) -> Step:
    """The loop's step: :func:`minimal_step` of the layer's kind (no weights: the gates read x alone)."""
    kind = layer.kind

    def step(x_proj: Tensor, h: Tensor, gates: dict[str, Tensor] | None = None) -> tuple[Tensor]:
        return minimal_step(x_proj, h, kind, gates)

    return step


SPECS = {
    "mingru": CellSpec("mingru", MinGRU, MinGRUCell, gates=("z", "h_tilde"), state=("h",), native_kernel=False,
                       reference_step=reference_step),
    "minlstm": CellSpec("minlstm", MinLSTM, MinLSTMCell, gates=("f", "i", "h_tilde"), state=("h",),
                        native_kernel=False, reference_step=reference_step),
}

__all__ = ["MinGRU", "MinGRUCell", "MinLSTM", "MinLSTMCell", "SPECS", "minimal_step", "parallel_scan", "reference_step"]
