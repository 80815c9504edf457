import pytest
import torch
from torch import nn

from lstmkit.training.hooks import TimeBudget
from lstmkit.training.trainer import StepResult, Trainer


def _fit(budget: TimeBudget, epochs: int = 3, batches: int = 5):
    model = nn.Linear(2, 1)
    data = [(torch.randn(4, 2), torch.zeros(4, 1)) for _ in range(batches)]
    seen: list[int] = []

    def step(batch, state):
        seen.append(1)
        return StepResult(nn.functional.mse_loss(model(batch[0]), batch[1]), 4)

    evaluated: list[int] = []

    def evaluate():
        evaluated.append(1)
        return {"valid_loss": 0.0}

    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), hooks=[budget]).fit(
        epochs, lambda epoch: data, step, evaluate)
    return state, len(seen), len(evaluated)


def test_a_spent_budget_is_a_hard_cap_at_the_next_step():
    state, seen, evaluated = _fit(TimeBudget(0.0))
    assert len(state.history) == 1 and seen == 1
    assert evaluated == 1                      # the partial epoch is still validated


def test_an_unspent_budget_runs_every_epoch():
    state, seen, _ = _fit(TimeBudget(60.0))
    assert len(state.history) == 3 and seen == 15 and not state.should_stop


def test_an_exploding_loss_stops_training_with_the_epoch_and_the_fix():
    """Not only NaN: a loss far above its starting level ends the run with a clear error."""
    from lstmkit.training.trainer import DivergenceError

    model = nn.Linear(2, 1)
    data = [(torch.randn(4, 2), torch.zeros(4, 1)) for _ in range(30)]
    calls = []

    def step(batch, state):
        calls.append(1)
        loss = nn.functional.mse_loss(model(batch[0]), batch[1])
        return StepResult(loss * (1.0 if len(calls) < 20 else 1e4), 4)      # explodes at step 20

    with pytest.raises(DivergenceError, match=r"exploded at epoch 1, step \d+.*lower train.lr"):
        Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), diverge_factor=10.0).fit(1, lambda e: data, step)


def test_a_nan_loss_stops_and_metrics_json_stays_strict(tmp_path):
    import json

    from lstmkit.training.checkpoint import save_metrics
    from lstmkit.training.trainer import DivergenceError

    model = nn.Linear(2, 1)
    step = lambda batch, state: StepResult(model(batch[0]).sum() * float("nan"), 4)   # noqa: E731
    with pytest.raises(DivergenceError, match="became nan at epoch 1"):
        Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1)).fit(1, lambda e: [(torch.ones(4, 2),)], step)
    save_metrics(tmp_path, [{"epoch": 1, "train_loss": float("inf"), "valid_ppl": float("nan")}])
    assert json.loads((tmp_path / "metrics.json").read_text()) == [{"epoch": 1, "train_loss": None, "valid_ppl": None}]


def test_the_state_a_step_returns_comes_back_detached_and_resets_each_epoch():
    model = nn.Linear(2, 2)
    seen = []

    def step(batch, state):
        seen.append(state)
        out = model(batch if state is None else batch + state)
        return StepResult(out.pow(2).mean(), 1, state=out)

    Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01)).fit(2, lambda e: [torch.ones(1, 2)] * 3, step)
    assert seen[0] is None and seen[3] is None                      # a new stream every epoch
    assert all(s is not None and not s.requires_grad for s in seen[1:3] + seen[4:])
