"""What the CPU can do in bfloat16, detected at run time, never assumed.

oneDNN's fused LSTM/GRU kernels run in bfloat16 only on CPUs with native bf16 support
(AVX-512 BF16 or AMX); on an AVX2-only CPU the same call fails with "could not create a
primitive descriptor". :func:`cpu_bf16_rnn_supported` probes once with a tiny layer; where it
fails, the recurrent layers of :mod:`lstmkit.nn.rnn` run in float32 inside a bf16 autocast
region, while the linear layers, embeddings and heads around them stay in bf16.
"""

from __future__ import annotations

import functools
import logging
import os

import torch

logger = logging.getLogger(__name__)


@functools.cache
def cpu_bf16_rnn_supported() -> bool:
    """Whether the fused recurrent kernels run (forward and backward) in bf16 on this CPU.

    ``LSTMKIT_CPU_BF16=0`` or ``=1`` overrides the probe (tests and benchmarks use it to take
    the fallback on a CPU that would not need it).
    """
    forced = os.environ.get("LSTMKIT_CPU_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    try:
        with torch.random.fork_rng(devices=[]):      # the probe must not move the caller's RNG
            for layer in (torch.nn.LSTM(4, 4, batch_first=True), torch.nn.GRU(4, 4, batch_first=True)):
                x = torch.randn(2, 3, 4, requires_grad=True)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out, _ = layer(x)
                out.float().sum().backward()
    except RuntimeError as err:
        logger.warning("this CPU has no bf16 recurrent kernels (%s); the LSTM/GRU layers run in float32, "
                       "the layers around them in bf16", str(err).splitlines()[0][:120])
        return False
    return True


def recurrent_needs_fp32(x: torch.Tensor) -> bool:
    """True inside a CPU bf16 autocast region on a CPU whose recurrent kernels lack bf16."""
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16 and not cpu_bf16_rnn_supported())
