"""Gate equations of the recurrent cells, as plain functions.

Each cell comes in two forms:

* ``*_cell(x, state, weights...)``: the whole equation for one time step.
* ``*_step(x_proj, state, weights...)``: the same step when the input half of the gates,
  ``W_ih x_t + b_ih``, was already computed for all time steps at once (one big matrix product
  instead of T small ones). The reference time loop in :mod:`lstmkit.nn.loop` uses this form;
  given ``gates={}``, a step also puts its gates there by name (gate inspection).

Gate order and bias placement follow PyTorch (``torch.nn.LSTM``/``torch.nn.GRU``), so weights
copy across unchanged. Legend: B batch, I input features, H hidden, P projection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def lstm_gates(
    x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The input, forget and output gates and the cell candidate of one LSTM step.

    Shapes: x_proj (B, 4H), h (B, P or H) -> i, f, g, o each (B, H)
    """
    gates = x_proj + F.linear(h, weight_hh, bias_hh)     # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)                   # each (B, H), PyTorch's order
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def lstm_step(
    x_proj: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
    weight_hr: Tensor | None = None,
    gates: dict[str, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step given the precomputed input projection.

    Shapes: x_proj (B, 4H), h (B, P or H), c (B, H) -> h (B, P or H), c (B, H)
    """
    i, f, g, o = lstm_gates(x_proj, h, weight_hh, bias_hh)
    if gates is not None:
        gates.update(i=i, f=f, g=g, o=o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    if weight_hr is not None:
        h = F.linear(h, weight_hr)                        # (B, H) -> (B, P)
    return h, c


def lstm_cell(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    weight_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One step of the LSTM (Hochreiter & Schmidhuber 1997, with forget gate; PyTorch's form).

    .. math::
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t) \quad (\text{then } h_t = W_{hr} h_t \text{ with a projection})

    ``weight_ih`` stacks the four input matrices in the order i, f, g, o, as PyTorch does.

    Args:
        x: input at time t.
        h: previous hidden state (projected size P when ``weight_hr`` is given).
        c: previous cell state.
        weight_ih, weight_hh, bias_ih, bias_hh: stacked gate weights, (4H, I), (4H, P or H), (4H,).
        weight_hr: optional projection (P, H) of Sak et al. 2014 (``proj_size`` in PyTorch).

    Shapes: x (B, I), h (B, P or H), c (B, H) -> h (B, P or H), c (B, H)

    Returns:
        The new ``(h, c)``.

    Example:
        >>> import torch
        >>> x, h, c = torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 4)
        >>> w_ih, w_hh = torch.zeros(16, 3), torch.zeros(16, 4)
        >>> [t.shape for t in lstm_cell(x, h, c, w_ih, w_hh)]
        [torch.Size([2, 4]), torch.Size([2, 4])]
    """
    return lstm_step(F.linear(x, weight_ih, bias_ih), h, c, weight_hh, bias_hh, weight_hr)


def gru_step(
    x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None = None,
    gates: dict[str, Tensor] | None = None,
) -> Tensor:
    """One GRU step given the precomputed input projection.

    Shapes: x_proj (B, 3H), h (B, H) -> h (B, H)
    """
    r, z, n = gru_gates(x_proj, h, weight_hh, bias_hh)
    if gates is not None:
        gates.update(r=r, z=z, n=n)
    return (1 - z) * n + z * h


def gru_gates(
    x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """The reset and update gates and the candidate of one GRU step.

    Shapes: x_proj (B, 3H), h (B, H) -> r, z, n each (B, H)
    """
    h_proj = F.linear(h, weight_hh, bias_hh)              # (B, 3H)
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)               # each (B, H), PyTorch's order
    h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)                         # reset gate applied after W_hn h + b_hn
    return r, z, n


def gru_cell(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> Tensor:
    r"""One step of the GRU (Cho et al. 2014), in PyTorch's form.

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Deliberate match with PyTorch (and cuDNN), not with the paper: the reset gate multiplies
    ``W_hn h + b_hn`` rather than ``h`` before the product, so weights copy across.

    Shapes: x (B, I), h (B, H) -> h (B, H)

    Example:
        >>> import torch
        >>> gru_cell(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(12, 3), torch.zeros(12, 4)).shape
        torch.Size([2, 4])
    """
    return gru_step(F.linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh)


def peephole_lstm_step(
    x_proj: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    weight_ci: Tensor,
    weight_cf: Tensor,
    weight_co: Tensor,
    gates: dict[str, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """One peephole-LSTM step given the precomputed input projection.

    Shapes: x_proj (B, 4H), h (B, H), c (B, H) -> h (B, H), c (B, H)
    """
    z = x_proj + F.linear(h, weight_hh, bias_hh)          # (B, 4H)
    i, f, g, o = z.chunk(4, dim=-1)                       # each (B, H)
    i = torch.sigmoid(i + weight_ci * c)                  # peeks at c_{t-1}
    f = torch.sigmoid(f + weight_cf * c)                  # peeks at c_{t-1}
    g = torch.tanh(g)
    c = f * c + i * g
    o = torch.sigmoid(o + weight_co * c)                  # peeks at the new c_t
    if gates is not None:
        gates.update(i=i, f=f, g=g, o=o)
    return o * torch.tanh(c), c


def peephole_lstm_cell(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    weight_ci: Tensor,
    weight_cf: Tensor,
    weight_co: Tensor,
) -> tuple[Tensor, Tensor]:
    r"""One step of the FC-LSTM with peepholes (Shi et al. 2015, eq. 2; Gers & Schmidhuber 2000).

    .. math::
        i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + w_{ci} \odot c_{t-1} + b_i) \\
        f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + w_{cf} \odot c_{t-1} + b_f) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot \tanh(W_{xc} x_t + W_{hc} h_{t-1} + b_c) \\
        o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + w_{co} \odot c_t + b_o) \\
        h_t &= o_t \odot \tanh(c_t)

    The peephole weights are diagonal (vectors of size H), as in the paper. The gate order of
    the stacked matrices is PyTorch's i, f, g, o, and the bias is split into ``bias_ih`` and
    ``bias_hh`` like PyTorch's, so the non-peephole weights copy from ``torch.nn.LSTM``.

    Shapes: x (B, I), h (B, H), c (B, H), weight_c* (H,) -> h (B, H), c (B, H)

    Example:
        >>> import torch
        >>> z = torch.zeros
        >>> h, c = peephole_lstm_cell(z(2, 3), z(2, 4), z(2, 4), z(16, 3), z(16, 4), None, None,
        ...                           z(4), z(4), z(4))
        >>> h.shape, c.shape
        (torch.Size([2, 4]), torch.Size([2, 4]))
    """
    x_proj = F.linear(x, weight_ih, bias_ih)              # (B, 4H)
    return peephole_lstm_step(x_proj, h, c, weight_hh, bias_hh, weight_ci, weight_cf, weight_co)
