import pytest
import torch
from torch import nn

from lstmkit.train.hooks import TimeBudget
from lstmkit.train.trainer import Trainer


def _fit(budget: TimeBudget, epochs: int = 3, batches: int = 5):
    model = nn.Linear(2, 1)
    data = [(torch.randn(4, 2), torch.zeros(4, 1)) for _ in range(batches)]
    seen: list[int] = []

    def step(batch):
        seen.append(1)
        return nn.functional.mse_loss(model(batch[0]), batch[1]), 4

    evaluated: list[int] = []

    def evaluate():
        evaluated.append(1)
        return {"valid_loss": 0.0}

    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), hooks=[budget]).fit(
        epochs, lambda epoch: data, step, evaluate)
    return state, len(seen), len(evaluated)


@pytest.mark.parametrize("mid_epoch, steps", [(False, 5), (True, 1)])
def test_a_spent_budget_stops_after_the_epoch_or_at_the_next_step(mid_epoch, steps):
    state, seen, evaluated = _fit(TimeBudget(0.0, mid_epoch=mid_epoch))
    assert len(state.history) == 1 and seen == steps
    assert evaluated == 1                      # the partial epoch is still validated


def test_an_unspent_budget_runs_every_epoch():
    state, seen, _ = _fit(TimeBudget(60.0, mid_epoch=True))
    assert len(state.history) == 3 and seen == 15 and not state.should_stop
