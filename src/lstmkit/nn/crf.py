"""A linear-chain conditional random field over tag sequences, batched and masked.

For emissions e (scores of each tag at each step, from a BiLSTM) and a tag path y of length n,

    score(y) = start[y_1] + sum_t e_t[y_t] + sum_{t>1} trans[y_{t-1}, y_t] + end[y_n]
    p(y | x) = exp(score(y)) / Z,   Z = sum over all K^n paths of exp(score)

The loss is log Z - score(gold) (the forward algorithm computes log Z in O(n K^2)); decoding
is the Viterbi path, the argmax of the score. Padded steps (mask False) change nothing.
Legend: B batch, T time, K tags.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CRF(nn.Module):
    """Transition scores between tags plus start and end scores.

    Args:
        num_tags: K.

    Shapes: emissions (B, T, K), tags (B, T) long, mask (B, T) bool, True on real steps,
        right-padded (every row's first step is real).

    Example:
        >>> crf = CRF(3)
        >>> emissions = torch.randn(2, 4, 3)
        >>> mask = torch.tensor([[True] * 4, [True, True, False, False]])
        >>> paths = crf.decode(emissions, mask)
        >>> [len(p) for p in paths]
        [4, 2]
        >>> crf.nll(emissions, torch.zeros(2, 4, dtype=torch.long), mask).shape
        torch.Size([2])
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"a CRF needs at least one tag, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))   # (K from, K to)
        self.start = nn.Parameter(torch.zeros(num_tags))                   # (K,)
        self.end = nn.Parameter(torch.zeros(num_tags))                     # (K,)
        nn.init.uniform_(self.transitions, -0.1, 0.1)

    def _check(self, emissions: Tensor, mask: Tensor) -> None:
        if emissions.dim() != 3 or emissions.size(2) != self.num_tags:
            raise ValueError(f"emissions must be (batch, time, {self.num_tags}), got {tuple(emissions.shape)}")
        if mask.shape != emissions.shape[:2]:
            raise ValueError(f"mask must be {tuple(emissions.shape[:2])}, got {tuple(mask.shape)}")
        if not bool(mask[:, 0].all()):
            raise ValueError("every sequence needs at least one real step (mask[:, 0] all True)")

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Unnormalised score of the given paths.  -> (B,)"""
        mask_f = mask.to(emissions.dtype)                                    # (B, T)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)           # (B, T)
        total = self.start[tags[:, 0]] + (emitted * mask_f).sum(1)
        moves = self.transitions[tags[:, :-1], tags[:, 1:]]                   # (B, T-1)
        total = total + (moves * mask_f[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1)).squeeze(1)     # (B,)
        return total + self.end[last]

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """log Z by the forward algorithm.  -> (B,)"""
        alpha = self.start + emissions[:, 0]                                  # (B, K)
        for t in range(1, emissions.size(1)):
            # alpha[b, i] + trans[i, j] + e[b, t, j], summed out over i
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)              # padded: unchanged
        return torch.logsumexp(alpha + self.end, dim=1)

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood of the gold paths, one value per sequence.  -> (B,)"""
        self._check(emissions, mask)
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor) -> list[list[int]]:
        """The Viterbi path of each sequence, cut to its length."""
        self._check(emissions, mask)
        paths = self.viterbi(emissions, mask)
        lengths = mask.sum(1).tolist()
        return [row[:n] for row, n in zip(paths.tolist(), lengths)]

    def viterbi(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """The Viterbi paths as one padded tensor (no value-dependent branches: exportable).

        Shapes: emissions (B, T, K), mask (B, T) -> paths (B, T); padded steps repeat the
        last real tag.
        """
        batch, steps, _ = emissions.shape
        best = self.start + emissions[:, 0]                                   # (B, K)
        pointers = []
        keep = torch.arange(self.num_tags, device=emissions.device).expand(batch, -1)
        for t in range(1, steps):
            scores, came_from = (best.unsqueeze(2) + self.transitions).max(dim=1)   # (B, K) each
            real = mask[:, t : t + 1]
            best = torch.where(real, scores + emissions[:, t], best)
            pointers.append(torch.where(real, came_from, keep))               # padded: stay put
        tag = (best + self.end).argmax(dim=1)                                 # (B,)
        path = [tag]
        for came_from in reversed(pointers):
            tag = came_from.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        return torch.stack(path[::-1], dim=1)                                 # (B, T)
