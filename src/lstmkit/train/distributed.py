"""Data-parallel training across processes (``torch.distributed``, launched by ``torchrun``).

Every rank draws the same global batches from the same seeded sampler and trains on its slice
``rows[rank::world]``. Each rank's loss is its *sum* scaled by ``world / global_batch``, so the
average of gradients that DDP takes equals the gradient of the global batch's mean loss, as in
one process: the weights match a single-process run up to float summation order.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from lstmkit.train.trainer import Hook, Trainer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def slice(self, rows: list[int]) -> list[int]:
        return rows[self.rank :: self.world]


def setup(device: torch.device) -> Rank:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1), else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Rank()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank()
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
    logger.info("data-parallel: rank %d of %d", rank, world)
    return Rank(rank, world)


def wrap(model: nn.Module, rank: Rank) -> nn.Module:
    if rank.world == 1:
        return model
    return nn.parallel.DistributedDataParallel(model)


class SyncStop(Hook):
    """Stop every rank when any rank wants to (time budgets differ between processes)."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        flag = torch.tensor([1.0 if trainer.state.should_stop else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        trainer.state.should_stop = bool(flag.item() > 0)


def teardown() -> None:
    """Leave together: a rank that exits while another still talks to it aborts the other."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
