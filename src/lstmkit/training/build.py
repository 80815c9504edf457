"""Pieces every task builds the same way: the device and the optimizer."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from lstmkit.config import TrainConfig
from lstmkit.errors import ConfigError


def device_of(name: str) -> torch.device:
    """The torch device for ``train.device``, with a clear error for one that is not there.

    Raises:
        ConfigError: for a name other than cpu/cuda[:N], or ``cuda`` without a CUDA device.
    """
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise ConfigError(f"unknown device {name!r}; lstmkit runs on cpu, cuda or cuda:N")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but no CUDA device is available; use cpu")
    return torch.device(name)                                       # cpu, cpu:N, cuda, cuda:N: all valid


def make_optimizer(params: Iterable[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW (``adam``; plain Adam when weight_decay is 0) or SGD, from ``train.*``."""
    params = [p for p in params if p.requires_grad]                # frozen vectors stay out
    if cfg.optimizer == "adam":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
