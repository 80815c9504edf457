from __future__ import annotations

import pytest
import torch

from lstmkit.config import TrainConfig
from lstmkit.errors import ConfigError
from lstmkit.training.build import device_of, make_optimizer


def test_device_errors_are_config_errors():
    assert device_of("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="unknown device 'gpu'; lstmkit runs on cpu, cuda or cuda:N"):
        device_of("gpu")


def test_optimizer_follows_the_train_config_and_skips_frozen_parameters():
    frozen, trained = torch.nn.Parameter(torch.ones(2), requires_grad=False), torch.nn.Parameter(torch.ones(2))
    opt = make_optimizer([frozen, trained], TrainConfig(lr=0.1, weight_decay=0.01))
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["params"] == [trained]
    assert opt.param_groups[0]["weight_decay"] == 0.01
    assert isinstance(make_optimizer([trained], TrainConfig(optimizer="sgd")), torch.optim.SGD)


def test_a_run_of_another_task_is_refused(tmp_path):
    from torch import nn

    from lstmkit.config import RunConfig
    from lstmkit.errors import RunDirError
    from lstmkit.training.checkpoint import read_run_config, save_run

    save_run(tmp_path, nn.Linear(1, 1), RunConfig(task="forecast"))
    assert read_run_config(tmp_path, task="forecast").task == "forecast"
    with pytest.raises(RunDirError, match="holds a run of task 'forecast', not of task 'image'"):
        read_run_config(tmp_path, task="image")
