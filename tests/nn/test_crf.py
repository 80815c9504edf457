"""The CRF against brute force: every path of tiny inputs enumerated."""

from __future__ import annotations

import itertools

import pytest
import torch

from lstmkit.nn.crf import CRF


@torch.no_grad()
def _brute_force(crf: CRF, emissions, length):
    """Score of every path of one sequence (its first `length` steps)."""
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        s = crf.start[path[0]] + crf.end[path[-1]] + sum(emissions[t, y] for t, y in enumerate(path))
        s = s + sum(crf.transitions[a, b] for a, b in itertools.pairwise(path))
        scores[path] = s
    return scores


def _random_crf(num_tags, seed):
    torch.manual_seed(seed)
    crf = CRF(num_tags)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


@pytest.mark.parametrize("seed", range(4))
def test_log_partition_score_and_viterbi_equal_enumeration(seed):
    crf = _random_crf(3, seed)
    emissions = torch.randn(3, 4, 3)
    lengths = [4, 2, 1]
    mask = torch.arange(4)[None] < torch.tensor(lengths)[:, None]
    tags = torch.randint(0, 3, (3, 4))
    log_z = crf.log_partition(emissions, mask)
    gold = crf.score(emissions, tags, mask)
    paths = crf.decode(emissions, mask)
    for b, n in enumerate(lengths):
        scores = _brute_force(crf, emissions[b], n)
        torch.testing.assert_close(log_z[b], torch.logsumexp(torch.stack(list(scores.values())), 0))
        torch.testing.assert_close(gold[b], scores[tuple(tags[b, :n].tolist())])
        assert tuple(paths[b]) == max(scores, key=lambda p: float(scores[p]))


def test_padding_changes_nothing():
    crf = _random_crf(4, 7)
    emissions = torch.randn(1, 3, 4)
    padded = torch.cat([emissions, torch.randn(1, 2, 4) * 100], dim=1)
    mask = torch.tensor([[True, True, True, False, False]])
    tags = torch.tensor([[1, 2, 3, 0, 0]])
    full = torch.ones(1, 3, dtype=torch.bool)
    torch.testing.assert_close(crf.nll(padded, tags, mask), crf.nll(emissions, tags[:, :3], full))
    assert crf.decode(padded, mask) == crf.decode(emissions, full)


def test_probabilities_sum_to_one_and_training_learns_transitions():
    crf = _random_crf(2, 0)
    emissions = torch.zeros(1, 3, 2)
    mask = torch.ones(1, 3, dtype=torch.bool)
    total = sum(torch.exp(-crf.nll(emissions, torch.tensor([p]), mask)) for p in itertools.product(range(2), repeat=3))
    torch.testing.assert_close(total, torch.ones(1))
    # with flat emissions only the transitions can explain alternating tags
    crf = CRF(2)
    opt = torch.optim.Adam(crf.parameters(), lr=0.1)
    gold = torch.tensor([[0, 1, 0, 1, 0, 1]])
    for _ in range(100):
        opt.zero_grad()
        crf.nll(torch.zeros(1, 6, 2), gold, torch.ones(1, 6, dtype=torch.bool)).sum().backward()
        opt.step()
    assert crf.decode(torch.zeros(1, 6, 2), torch.ones(1, 6, dtype=torch.bool)) == [[0, 1, 0, 1, 0, 1]]


def test_bad_shapes():
    crf = CRF(3)
    with pytest.raises(ValueError, match=r"emissions must be \(batch, time, 3\)"):
        crf.decode(torch.randn(2, 4, 5), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="at least one real step"):
        crf.decode(torch.randn(1, 2, 3), torch.tensor([[False, True]]))
