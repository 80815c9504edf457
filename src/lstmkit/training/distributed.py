"""Data-parallel training across processes (``torch.distributed``, launched by ``torchrun``).

Every rank draws the same global batches from the same seeded sampler and trains on its slice
``rows[rank::world]`` (each task's ``shard``). After the backward of its slice's *summed* loss,
one all-reduce adds every gradient and the item counts of all ranks in a single flat buffer
(:func:`average_gradients`); dividing by the global count gives the gradient of the global
batch's mean loss, as in one process, whatever step function the task has (the tagger's CRF
loss, the language model's carried state). The weights match a single-process run up to float
summation order.

    torchrun --standalone --nproc-per-node 2 -m lstmkit.cli train lm --run-dir runs/lm-ddp
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from lstmkit.training.trainer import Hook, Trainer

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


def broadcast_parameters(model: nn.Module) -> None:
    """Start every rank from rank 0's weights (and buffers)."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, src=0)


def average_gradients(params: list[nn.Parameter], count: int) -> None:
    """Sum the ranks' gradients of their summed losses and divide by the global item count.

    A parameter without a gradient on this rank (an empty shard, an unused branch) counts as
    zeros, so every rank joins the same single collective.
    """
    device = params[0].device
    grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
    flat = torch.cat([*grads, torch.tensor([float(count)], device=device, dtype=grads[0].dtype)])
    dist.all_reduce(flat)
    total = float(flat[-1])
    if total == 0:
        return
    flat = flat[:-1] / total
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


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
