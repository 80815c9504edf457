"""Minibatches for language models: sequential and random sampling (d2l.ai, section 8.3).

Both cut a stream of token ids into windows of ``num_steps``; Y is X shifted by one.
Legend: B batch, T time (num_steps), N stream length.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


def sequential_batches(
    ids: Tensor, batch_size: int, num_steps: int, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Row b of each batch continues row b of the previous batch, so the hidden state can be
    carried (and detached) from batch to batch. A random offset changes the cut each epoch.

    Shapes: ids (N,) -> X (B, T), Y (B, T)

    Example:
        >>> [x.tolist() for x, _ in sequential_batches(torch.arange(13), 2, 3)]
        [[[0, 1, 2], [6, 7, 8]], [[3, 4, 5], [9, 10, 11]]]
    """
    offset = 0 if generator is None else int(torch.randint(0, num_steps, (1,), generator=generator))
    usable = ((ids.numel() - offset - 1) // batch_size) * batch_size
    xs = ids[offset : offset + usable].view(batch_size, -1)                 # (B, N/B)
    ys = ids[offset + 1 : offset + 1 + usable].view(batch_size, -1)         # (B, N/B)
    for start in range(0, (xs.size(1) // num_steps) * num_steps, num_steps):
        yield xs[:, start : start + num_steps], ys[:, start : start + num_steps]


def random_batches(
    ids: Tensor, batch_size: int, num_steps: int, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Windows taken in random order; neighbouring batches are unrelated, so the state is reset.

    Shapes: ids (N,) -> X (B, T), Y (B, T)
    """
    offset = 0 if generator is None else int(torch.randint(0, num_steps, (1,), generator=generator))
    num_windows = (ids.numel() - offset - 1) // num_steps
    starts = offset + num_steps * torch.randperm(num_windows, generator=generator)
    for first in range(0, (num_windows // batch_size) * batch_size, batch_size):
        chosen = starts[first : first + batch_size]                          # (B,)
        index = chosen.unsqueeze(1) + torch.arange(num_steps)                # (B, T)
        yield ids[index], ids[index + 1]


def num_batches(num_tokens: int, batch_size: int, num_steps: int) -> int:
    """How many batches an epoch has at most (for progress bars)."""
    return max(0, ((num_tokens - 1) // batch_size) // num_steps)


SAMPLERS = {"random": random_batches, "sequential": sequential_batches}
