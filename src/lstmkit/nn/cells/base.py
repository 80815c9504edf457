"""What a cell module declares (:class:`CellSpec`), and the input checks its single-step cell shares.

Legend: B batch, I input, H hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from lstmkit.nn.loop import Step


@dataclass(frozen=True)
class CellSpec:
    """One recurrent cell, as everything above :mod:`lstmkit.nn` asks about it."""

    name: str                                   # the key of lstmkit.nn.cells.REGISTRY
    layer: type[nn.Module]                      # multi-layer, bidirectional, lengths: torch.nn.LSTM's interface
    cell: type[nn.Module]                       # one step: torch.nn.LSTMCell's interface
    gates: tuple[str, ...]                      # names of the gates a step records, in PyTorch's order
    state: tuple[str, ...]                      # ("h", "c") or ("h",): the state, h first
    native_kernel: bool                         # a fused kernel runs it; also what export and int8 need
    reference_step: Callable[[nn.Module, int, int], Step]   # (layer, index, direction) -> the loop's step

    @property
    def gate_blocks(self) -> int:
        """Blocks of H in the stacked gate projection (4 for an LSTM, 3 for a GRU)."""
        return len(self.gates)


def check_cell_input(cell: nn.Module, x: Tensor, input_size: int) -> bool:
    """Validate a cell's input; returns whether it is batched."""
    if x.dim() not in (1, 2) or x.size(-1) != input_size:
        raise ValueError(
            f"{type(cell).__name__} expects input (batch, {input_size}) or ({input_size},), "
            f"got {tuple(x.shape)}. A whole sequence goes to the layer (LSTM/GRU), not the cell."
        )
    return x.dim() == 2


def check_cell_state(cell: nn.Module, name: str, s: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(s.shape) != expected:
        raise ValueError(
            f"{type(cell).__name__} expects {name} of shape {expected}, got {tuple(s.shape)}"
        )


__all__ = ["CellSpec", "check_cell_input", "check_cell_state"]
