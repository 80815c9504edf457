"""The GRU cell: ``GRUCell`` (one step) and its registry entry; the layer is
:class:`lstmkit.nn.rnn.GRU` (fused kernel or the reference loop).

``GRUCell`` subclasses ``torch.nn.GRUCell`` for the parameters and computes the step with
:func:`lstmkit.nn.functional.gru_cell` (PyTorch's placement of the reset gate, so weights copy
across). Legend: B batch, I input, H hidden.
"""

from __future__ import annotations

from torch import Tensor, nn

from lstmkit.nn import functional as G
from lstmkit.nn.cells.base import CellSpec, check_cell_input, check_cell_state
from lstmkit.nn.loop import Step


class GRUCell(nn.GRUCell):
    """A GRU cell: ``torch.nn.GRUCell``'s interface, gate-by-gate arithmetic.

    Shapes: input (B, I) or (I,); hx (B, H) or (H,) -> h of the same shape.

    Example:
        >>> import torch
        >>> GRUCell(10, 20)(torch.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = check_cell_input(self, input, self.input_size)
        x = input if batched else input.unsqueeze(0)                    # (B, I)
        if hx is None:
            h = x.new_zeros(x.size(0), self.hidden_size)
        else:
            expected = (x.size(0), self.hidden_size) if batched else (self.hidden_size,)
            check_cell_state(self, "hx", hx, expected)
            h = hx if batched else hx.unsqueeze(0)
        h = G.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h if batched else h.squeeze(0)


def reference_step(layer: nn.Module, index: int, direction: int) -> Step:
    """The loop's step of layer ``index``, ``direction``: :func:`~lstmkit.nn.functional.gru_step`
    with its recurrent weights, its one state as a 1-tuple."""
    weights = layer.layer_weights(index, direction)
    weight_hh, bias_hh = weights[1], weights[3] if layer.bias else None

    def step(x_proj: Tensor, h: Tensor, gates: dict[str, Tensor] | None = None) -> tuple[Tensor]:
        return (G.gru_step(x_proj, h, weight_hh, bias_hh, gates),)

    return step


def _spec() -> CellSpec:
    from lstmkit.nn.rnn import GRU

    return CellSpec("gru", GRU, GRUCell, gates=("r", "z", "n"), state=("h",), native_kernel=True,
                    reference_step=reference_step)


SPEC = _spec()

__all__ = ["GRUCell", "SPEC", "reference_step"]
