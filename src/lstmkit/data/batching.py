"""Minibatches for language models: sequential and random sampling (d2l.ai, section 8.3).

Both cut a stream of token ids into windows of ``num_steps``; Y is X shifted by one.
Legend: B batch, T time (num_steps), N stream length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from lstmkit.nn.loop import lengths_mask


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


def variable_batches(
    ids: Tensor, batch_size: int, num_steps: int, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Sequential batches whose window length varies (AWD-LSTM): ``num_steps`` with probability
    0.95, else half of it, then drawn from a normal with standard deviation 5, at least 5.
    Every token is still visited once, in order, so the state can be carried.

    Shapes: ids (N,) -> X (B, T_i), Y (B, T_i)

    Example:
        >>> batches = list(variable_batches(torch.arange(1001), 1, 20, torch.Generator().manual_seed(0)))
        >>> torch.cat([x for x, _ in batches], 1).tolist() == [list(range(1000))]
        True
        >>> len({x.size(1) for x, _ in batches}) > 1
        True
    """
    usable = ((ids.numel() - 1) // batch_size) * batch_size
    xs = ids[:usable].view(batch_size, -1)                                    # (B, N/B)
    ys = ids[1 : 1 + usable].view(batch_size, -1)                             # (B, N/B)
    start = 0
    while start < xs.size(1):
        base = num_steps if float(torch.rand((), generator=generator)) < 0.95 else num_steps / 2
        length = max(5, int(base + 5 * float(torch.randn((), generator=generator))))
        yield xs[:, start : start + length], ys[:, start : start + length]
        start += length


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


def shuffled_batches(
    x: Tensor, y: Tensor, batch_size: int, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Rows of (x, y) in a fresh random order, ``batch_size`` at a time (the last may be smaller).

    Shapes: x (N, ...), y (N, ...) -> (B, ...), (B, ...)

    Example:
        >>> [len(xb) for xb, _ in shuffled_batches(torch.zeros(5, 2), torch.zeros(5), 2)]
        [2, 2, 1]
    """
    order = torch.randperm(len(x), generator=generator)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        yield x[idx], y[idx]


def num_batches(num_tokens: int, batch_size: int, num_steps: int) -> int:
    """How many batches an epoch has at most (for progress bars)."""
    return max(0, ((num_tokens - 1) // batch_size) // num_steps)


SAMPLERS = {"random": random_batches, "sequential": sequential_batches}


# --- classification batches: length buckets, padding, lengths, masks ------------------------

def pad_batch(seqs: Sequence[Tensor], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """Right-pad 1-D id tensors into one batch.

    Shapes: seqs[i] (T_i,) -> ids (B, max T_i), lengths (B,)

    Raises:
        ValueError: if ``seqs`` is empty or holds an empty sequence.

    Example:
        >>> ids, lengths = pad_batch([torch.tensor([5, 6, 7]), torch.tensor([8])])
        >>> ids.tolist(), lengths.tolist()
        ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    if not seqs:
        raise ValueError("pad_batch needs at least one sequence")
    lengths = torch.tensor([len(s) for s in seqs])
    if int(lengths.min()) < 1:
        raise ValueError("pad_batch got an empty sequence; drop empty texts before batching")
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
    return ids, lengths


def padding_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """True on real tokens, batch-first.  Shapes: lengths (B,) -> mask (B, T)"""
    return lengths_mask(lengths, max_len or int(lengths.max())).T         # (T, B) -> (B, T)


class BucketBatchSampler:
    """Batches of indices whose sequences have similar lengths, in random order.

    Each epoch: shuffle, cut into pools of ``bucket_factor * batch_size``, sort each pool by
    length, cut pools into batches, shuffle the batches. Padding stays small and every
    example is used once per epoch.

    Example:
        >>> sampler = BucketBatchSampler([5, 1, 4, 2, 3, 6], batch_size=2, generator=torch.Generator().manual_seed(0))
        >>> sorted(sorted(b) for b in sampler)
        [[0, 5], [1, 3], [2, 4]]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, bucket_factor: int = 50,
                 shuffle: bool = True, generator: torch.Generator | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = torch.as_tensor(lengths)
        self.batch_size, self.pool = batch_size, batch_size * max(1, bucket_factor)
        self.shuffle, self.generator = shuffle, generator

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.lengths)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        batches: list[list[int]] = []
        for start in range(0, n, self.pool):
            pool = order[start : start + self.pool]
            pool = pool[torch.argsort(self.lengths[pool], stable=True)]
            batches += [pool[i : i + self.batch_size].tolist() for i in range(0, len(pool), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator).tolist()]
        return iter(batches)
