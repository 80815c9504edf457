from __future__ import annotations

import torch
from torch import nn

from lstmkit.training.averaging import WeightAverager
from lstmkit.training.schedule import LRSchedule, scheduled_lr
from lstmkit.training.trainer import StepResult, Trainer


def test_zaremba_step_schedule_and_cosine():
    assert [scheduled_lr("step", 1.0, e, 13, 0.5, 4) for e in range(1, 8)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]
    cosine = [scheduled_lr("cosine", 1.0, e, 4) for e in range(1, 5)]
    assert cosine[0] == 1.0 and cosine == sorted(cosine, reverse=True) and cosine[-1] > 0


def _fit(hooks_for, valid_losses, lr=1.0):
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = iter(valid_losses)
    hooks = hooks_for(model, optimizer)
    data = [(torch.ones(2, 1), torch.zeros(2, 1))]
    step = lambda b, state: StepResult(nn.functional.mse_loss(model(b[0]), b[1]), 2)  # noqa: E731
    state = Trainer(model, optimizer, hooks=hooks).fit(len(valid_losses), lambda e: data, step,
                                                       lambda: {"valid_loss": next(losses)})
    return state.history, hooks


def test_plateau_decays_only_after_an_epoch_without_improvement():
    history, _ = _fit(lambda m, o: [LRSchedule(o, "plateau", 1.0, 5, decay=0.25)], [5, 4, 4.5, 3, 3])
    assert [h["lr"] for h in history] == [1.0, 1.0, 1.0, 0.25, 0.25]


def test_nt_asgd_triggers_like_awd_lstm():
    """AWD-LSTM switches when the loss is worse than the best before the last `nonmono` epochs."""
    _, hooks = _fit(lambda m, o: [WeightAverager(m, nonmono=2)], [5, 4, 3, 3.5, 3.2, 3.1, 2.0])
    assert hooks[0].started_epoch == 6          # epoch 6 (3.1) > min(5, 4, 3): 3.5 and 3.2 were within 2
    _, hooks = _fit(lambda m, o: [WeightAverager(m, nonmono=2)], [5, 4, 3, 2, 1])
    assert not hooks[0].active


def test_averaged_weights_are_the_mean_of_the_steps_after_the_trigger():
    model = nn.Linear(2, 1, bias=False)
    avg = WeightAverager(model)
    avg.start()
    seen = [model.weight.detach().clone()]
    for _ in range(3):
        with torch.no_grad():
            model.weight.add_(torch.randn(1, 2))
        seen.append(model.weight.detach().clone())
        avg.update()
    raw = model.weight.detach().clone()
    with avg.swapped():
        torch.testing.assert_close(model.weight.detach(), torch.stack(seen).mean(0))
    assert torch.equal(model.weight, raw)
