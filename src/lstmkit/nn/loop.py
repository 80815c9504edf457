"""The one generic time loop of the reference backend, and length helpers.

Everything here is time-major, the layout the fused kernels use: x[t] is one step's batch.
Legend: B batch, T time, G stacked gate width (4H for LSTM, 3H for GRU), H hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

# A step maps (x_proj_t, *state) to the new state; state[0] is the output h_t.
Step = Callable[..., tuple[Tensor, ...]]
# What gate inspection collects: the state's names, and name -> one (B, *) tensor per step.
Record = tuple[tuple[str, ...], dict[str, list[Tensor]]]


def time_loop(
    step: Step, x_proj: Tensor, state: tuple[Tensor, ...], mask: Tensor | None = None,
    record: Record | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run ``step`` over time, the way every RNN tutorial writes it.

    Where ``mask[t, b]`` is False (padding after a sequence's end) the state is carried
    unchanged, so the final state is each sequence's state at its true last step.

    Args:
        step: one time step, e.g. ``functools.partial(lstm_step, weight_hh=...)``.
        x_proj: the input half of the gates for every step, precomputed in one matrix product.
        state: the initial state, e.g. ``(h0, c0)``.
        mask: optional validity mask, True on real steps.
        record: gate inspection: ``(state names, {})``; every step's state (by those names)
            and gates (the step fills ``gates=``) are appended to the dict's lists, zero at
            padded steps.

    Shapes: x_proj (T, B, G), state[i] (B, *), mask (T, B) -> outputs (T, B, H), state[i] (B, *)

    Returns:
        The output ``h_t`` of every step and the final state.
    """
    outputs = []
    # unbind, not x_proj[t]: the backward of T slices would write T full-size gradients.
    for t, x_t in enumerate(x_proj.unbind(0)):
        gates: dict[str, Tensor] = {}
        new_state = step(x_t, *state) if record is None else step(x_t, *state, gates=gates)
        if mask is not None:
            keep = mask[t].unsqueeze(1)                                    # (B, 1)
            new_state = tuple(torch.where(keep, n, s) for n, s in zip(new_state, state))
            gates = {k: v * keep for k, v in gates.items()}
        state = new_state
        outputs.append(state[0])
        if record is not None:
            names, steps = record
            for name, value in [*zip(names, state), *gates.items()]:
                steps.setdefault(name, []).append(value)
    return torch.stack(outputs), state                                     # (T, B, H)


def lengths_mask(lengths: Tensor, max_len: int) -> Tensor:
    """True on the real steps of each sequence.

    Shapes: lengths (B,) -> mask (T, B)
    """
    steps = torch.arange(max_len, device=lengths.device)                   # (T,)
    return steps.unsqueeze(1) < lengths.unsqueeze(0)                       # (T, B)


class _Involution(torch.autograd.Function):
    """Gather by a permutation that is its own inverse: the backward is the same gather.

    Autograd's generic gather backward is a scatter-add, several times slower on CPU.
    """

    @staticmethod
    def forward(ctx, x: Tensor, index: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(index)
        return x.gather(0, index)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (index,) = ctx.saved_tensors
        return grad.gather(0, index), None


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence's first ``lengths[b]`` steps, leaving the padding where it is.

    This is its own inverse. With all lengths equal to T it equals ``x.flip(0)``.

    Shapes: x (T, B, *), lengths (B,) -> (T, B, *)

    Example:
        >>> import torch
        >>> x = torch.tensor([[1, 2, 3], [4, 5, 0]]).T              # two sequences, time-major
        >>> reverse_within_lengths(x, torch.tensor([3, 2])).T
        tensor([[3, 2, 1],
                [5, 4, 0]])
    """
    max_len, batch = x.shape[:2]
    steps = torch.arange(max_len, device=x.device).unsqueeze(1)            # (T, 1)
    ends = lengths.to(x.device).unsqueeze(0)                               # (1, B)
    index = torch.where(steps < ends, ends - 1 - steps, steps)             # (T, B)
    index = index.view(max_len, batch, *([1] * (x.dim() - 2))).expand_as(x)
    return _Involution.apply(x, index)


def tracing() -> bool:
    """True while ``torch.export``, ``torch.compile`` or the ONNX exporter traces the model:
    checks that read tensor values are skipped then (the traced graph cannot branch on data)."""
    compiler = getattr(torch, "compiler", None)
    return bool(torch.jit.is_tracing() or (compiler is not None and (
        compiler.is_compiling() or getattr(compiler, "is_exporting", lambda: False)())))


def check_lengths(lengths: Tensor | Sequence[int], batch: int, max_len: int) -> Tensor:
    """Validate per-sequence lengths and return them as an int64 CPU tensor (while tracing for
    export: as int64 where they are, unchecked, since a graph cannot branch on their values).

    Raises:
        ValueError: if the shape is not (batch,) or a length is < 1 or > max_len.
    """
    if tracing() and isinstance(lengths, Tensor):
        return lengths.long()
    lengths = torch.as_tensor(lengths).detach().cpu()
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be integers, got dtype {lengths.dtype}")
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise ValueError(
            f"lengths must have shape ({batch},), one per sequence in the batch, "
            f"got {tuple(lengths.shape)}"
        )
    lengths = lengths.long()
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > max_len:
        bad = low if low < 1 else high
        raise ValueError(
            f"every length must be in [1, {max_len}] (the padded time dimension), got {bad}; "
            "drop empty sequences and pad the batch to its longest sequence"
        )
    return lengths
