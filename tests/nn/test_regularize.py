from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmkit.nn import make_rnn
from lstmkit.nn.regularize import (
    activation_penalty,
    embedding_dropout,
    locked_dropout,
    weight_dropped_call,
)


def test_locked_dropout_shares_the_mask_over_time_and_keeps_the_mean():
    torch.manual_seed(0)
    y = locked_dropout(torch.ones(64, 7, 32), 0.4, training=True)
    assert torch.equal(y, y[:, :1].expand_as(y))
    assert y.unique().tolist() == pytest.approx([0.0, 1 / 0.6])
    assert float(y.mean()) == pytest.approx(1.0, abs=0.05)
    x = torch.randn(2, 3, 4)
    assert torch.equal(locked_dropout(x, 0.4, training=False), x)


def test_embedding_dropout_drops_whole_words():
    torch.manual_seed(0)
    embed = nn.Embedding(10, 6)
    tokens = torch.tensor([[1, 2, 1, 3, 2, 1, 4, 5, 6, 7]])
    out = embedding_dropout(embed, tokens, 0.5, training=True)[0]            # (T, E)
    dropped = {int(t) for t, row in zip(tokens[0], out) if bool((row == 0).all())}
    kept = {int(t) for t, row in zip(tokens[0], out) if not bool((row == 0).all())}
    assert dropped and kept and not dropped & kept            # a word is dropped everywhere or nowhere
    for t, row in zip(tokens[0], out):
        if int(t) in kept:
            torch.testing.assert_close(row, embed.weight[t] * 2)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_weight_drop_uses_a_dropped_copy_and_leaves_the_parameter(cell, backend):
    torch.manual_seed(0)
    rnn = make_rnn(cell, 4, 5, batch_first=True, backend=backend)
    x = torch.randn(2, 6, 4)
    before = rnn.weight_hh_l0.detach().clone()
    plain, _ = rnn(x)
    dropped, _ = weight_dropped_call(rnn, 0.5, True, x)
    assert not torch.allclose(plain, dropped)
    assert torch.equal(rnn.weight_hh_l0, before)
    dropped.sum().backward()
    assert rnn.weight_hh_l0.grad is not None and (rnn.weight_hh_l0.grad == 0).any()   # dropped entries get none
    torch.testing.assert_close(weight_dropped_call(rnn, 0.5, False, x)[0], plain)


def test_activation_penalty_matches_its_definition():
    dropped, raw = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    expected = 2.0 * dropped.pow(2).mean() + 3.0 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    torch.testing.assert_close(activation_penalty(dropped, raw, 2.0, 3.0), expected)
    assert float(activation_penalty(dropped, raw, 0.0, 0.0)) == 0.0
