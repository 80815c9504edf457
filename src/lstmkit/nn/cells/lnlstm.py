r"""The LayerNorm LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", section 3.1 and
appendix, as haste's ``LayerNormLSTM`` writes it): ``LayerNormLSTMCell`` (one step), the
``LayerNormLSTM`` layer, its step and its registry entry. No fused kernel runs it: the layer
runs on the reference loop.

.. math::
    (i, f, g, o) &= \mathrm{LN}_x(W_{ih} x_t) + \mathrm{LN}_h(W_{hh} h_{t-1}) + b \\
    c_t &= \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g) \\
    h_t &= \sigma(o) \odot \tanh(\mathrm{LN}_c(c_t))

Each LN normalises over its whole vector (4H for the two projections, H for the cell) and has
its own gain (initialised to 1) and shift (0); the one bias b (4H) is the paper's. The gate
order and the weights' names and shapes (``weight_ih``, ``weight_hh``) are PyTorch's, so the
matrices copy from a ``torch.nn.LSTM``. Legend: B batch, I input, H hidden, G = 4H.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.nn.cells.base import CellSpec, check_cell_input, check_cell_state
from lstmkit.nn.loop import Step
from lstmkit.nn.rnn import _Recurrent

EPS = 1e-5                                   # LayerNorm's epsilon, torch's default
_NORMS = ("ln_ih", "ln_hh", "ln_c")          # names of the three norms' parameters: {name}_weight, {name}_bias


def lnlstm_step(
    x_proj: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias: Tensor | None,
    norms: tuple[Tensor, ...],
    gates: dict[str, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """One LayerNorm-LSTM step given the input projection ``W_ih x`` (no bias).

    ``norms``: the gains and shifts of LN_x, LN_h, LN_c, in that order (six tensors).

    Shapes: x_proj (B, 4H), h (B, H), c (B, H) -> h (B, H), c (B, H)
    """
    gx, bx, gh, bh, gc, bc = norms
    z = F.layer_norm(x_proj, gx.shape, gx, bx, EPS) + F.layer_norm(F.linear(h, weight_hh), gh.shape, gh, bh, EPS)
    if bias is not None:
        z = z + bias                                                         # (B, 4H)
    i, f, g, o = z.chunk(4, dim=-1)                                          # each (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    if gates is not None:
        gates.update(i=i, f=f, g=g, o=o)
    c = f * c + i * g
    return o * torch.tanh(F.layer_norm(c, gc.shape, gc, bc, EPS)), c


def _norm_parameters(module: nn.Module, hidden_size: int, suffix: str, **kw) -> None:
    for name, size in zip(_NORMS, (4 * hidden_size, 4 * hidden_size, hidden_size)):
        module.register_parameter(f"{name}_weight{suffix}", nn.Parameter(torch.ones(size, **kw)))
        module.register_parameter(f"{name}_bias{suffix}", nn.Parameter(torch.zeros(size, **kw)))


def _norms(module: nn.Module, suffix: str) -> tuple[Tensor, ...]:
    return tuple(getattr(module, f"{name}_{part}{suffix}") for name in _NORMS for part in ("weight", "bias"))


class LayerNormLSTMCell(nn.Module):
    """A LayerNorm-LSTM cell with ``torch.nn.LSTMCell``'s interface.

    Parameters: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias`` (4H) when ``bias``, and
    the norms' ``ln_ih_weight``/``ln_ih_bias`` (4H), ``ln_hh_*`` (4H), ``ln_c_*`` (H).

    Shapes: input (B, I) or (I,); hx = (h, c) each (B, H) or (H,) -> (h, c) of the same shape.

    Example:
        >>> import torch
        >>> h, c = LayerNormLSTMCell(10, 20)(torch.randn(3, 10))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size, **kw).uniform_(-bound, bound)) if bias else None
        _norm_parameters(self, hidden_size, "", **kw)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        batched = check_cell_input(self, input, self.input_size)
        x = input if batched else input.unsqueeze(0)                         # (B, I)
        if hx is None:
            h = c = x.new_zeros(x.size(0), self.hidden_size)
        else:
            h, c = hx
            expected = (x.size(0), self.hidden_size) if batched else (self.hidden_size,)
            check_cell_state(self, "h", h, expected)
            check_cell_state(self, "c", c, expected)
            h, c = (h, c) if batched else (h.unsqueeze(0), c.unsqueeze(0))
        h, c = lnlstm_step(F.linear(x, self.weight_ih), h, c, self.weight_hh, self.bias, _norms(self, ""))
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class LayerNormLSTM(_Recurrent, nn.RNNBase):
    """Multi-layer (bi)LSTM with layer normalisation (Ba et al. 2016), with ``torch.nn.LSTM``'s
    interface (no projection). Per layer and direction: ``weight_ih_l{k}``, ``weight_hh_l{k}``
    (PyTorch's), the gate bias ``bias_l{k}`` (4H) and the norms' ``ln_ih_weight_l{k}``, ...
    (``_reverse`` for the backward direction). It runs on the ``reference`` backend.

    Shapes: as :class:`lstmkit.nn.LSTM`.

    Example:
        >>> import torch
        >>> out, (h, c) = LayerNormLSTM(4, 8, num_layers=2, batch_first=True)(torch.randn(2, 5, 4))
        >>> out.shape, h.shape
        (torch.Size([2, 5, 8]), torch.Size([2, 2, 8]))
    """

    cell_name = "lnlstm"

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
        # torch's two biases are replaced by the paper's one (after the norms): built without
        nn.RNNBase.__init__(
            self, "LSTM", input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
            bias=False, batch_first=batch_first, dropout=dropout, bidirectional=bidirectional,
            device=device, dtype=dtype,
        )
        self.gate_bias = bias
        kw = {"device": device, "dtype": dtype}
        bound = 1.0 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                if bias:
                    b = torch.empty(4 * hidden_size, **kw).uniform_(-bound, bound)
                    self.register_parameter(f"bias{suffix}", nn.Parameter(b))
                _norm_parameters(self, hidden_size, suffix, **kw)
        self.backend = backend

    def extra_repr(self) -> str:
        return super().extra_repr().replace("bias=False", f"bias={self.gate_bias}") + ", layer_norm=True"


def reference_step(layer: nn.Module, index: int, direction: int) -> Step:
    """The loop's step of layer ``index``, ``direction``: :func:`lnlstm_step` with its weights."""
    suffix = f"_l{index}" + ("_reverse" if direction == 1 else "")
    return functools.partial(lnlstm_step, weight_hh=getattr(layer, "weight_hh" + suffix),
                             bias=getattr(layer, "bias" + suffix, None), norms=_norms(layer, suffix))


SPEC = CellSpec("lnlstm", LayerNormLSTM, LayerNormLSTMCell, gates=("i", "f", "g", "o"), state=("h", "c"),
                native_kernel=False, reference_step=reference_step)

__all__ = ["LayerNormLSTM", "LayerNormLSTMCell", "SPEC", "lnlstm_step", "reference_step"]
