"""What an exported graph is made of, below the tasks that build one: :class:`ExportSpec` (a
task's exportable module, its example inputs and the names of its tensors) and the checks that
refuse bad inputs inside the graph (:class:`RangeCheck` and its kinds). :mod:`lstmkit.export`
writes the graphs; each task says what it exports (``Task.export_spec``).

Legend: B batch, T time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from lstmkit.boundary import FLOAT32_MAX     # float inputs beyond it (or NaN) are refused inside the graphs

MAX_EXPORT_LEN = 65_536     # the exporters unroll the time loop: a longer T would not finish


@dataclass
class ExportSpec:
    """A task's exportable module with its example inputs and the names of its tensors."""

    module: nn.Module
    example: tuple[Tensor, ...]
    inputs: list[str]
    outputs: list[str]
    batch_axes: dict[str, int]          # input name -> its batch axis
    time_axes: dict[str, int]           # input/output name -> its time axis (ONNX: any length)
    batch_times: dict[str, int] = field(default_factory=dict)   # input -> axis of size batch x T
    notes: dict[str, object] = field(default_factory=dict)       # more for the sidecar (caps, checks)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # input -> [low, high] checked in the graph


class RangeCheck(nn.Module):
    """Refuses, inside an exported graph, integer inputs outside [low, high]: lengths outside
    [1, T] (a length of 0 gave NaN, a negative or too large one garbage) and token ids outside
    the vocabulary (ONNX's Gather reads a negative id from the end of the table: a wrong
    embedding, silently). The values pass on unchanged.

    ``torch._assert_async`` raises with the message in PyTorch and in a ``.pt2`` program, but
    the ONNX exporter drops it; so the values also go through an index that is out of range when
    one is bad (``guard[1]`` of a one-element buffer), which onnxruntime refuses to run.
    :func:`_name_range_checks` gives that Gather node a name that says what is wrong.

    Shapes: values (any) -> (same)
    """

    def __init__(self, name: str, low: int, fix: str) -> None:
        super().__init__()
        self.name, self.low, self.fix = name, low, fix
        self.register_buffer("guard", torch.zeros(1, dtype=torch.long), persistent=False)

    def forward(self, values: Tensor, high: float) -> Tensor:
        bad = (values < self.low) | (values > high)                      # NaN compares False: caught below
        if values.is_floating_point():
            bad = bad | torch.isnan(values)
        empty = torch.ones_like(values, dtype=torch.int32).sum() == 0   # a batch of 0: counted, not a shape
        bad = bad.any() | empty                                          # () bool (the shape would be folded)
        torch._assert_async(~bad, f"{self.name} must be {rule(self.low, high)} {self.fix}, with a batch of at least 1")
        return values + self.guard[bad.long()].to(values.dtype)          # index 1: out of range when bad


def rule(low: float, high: float, sep: str = " ") -> str:
    """What a :class:`RangeCheck` enforces, in words: "finite" for float inputs (the check of
    :func:`FiniteCheck`, whose low end is -FLOAT32_MAX), else "between 0 and 99"; ``sep`` "_"
    for a node name."""
    def number(v: float) -> str:                                     # 1000000, not 1e+06
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    words = "finite" if low == -FLOAT32_MAX else f"between {number(low)} and {number(high)}"
    return words.replace(" ", sep)


def LengthCheck(name: str) -> RangeCheck:                                # noqa: N802 - the old class's name
    """Lengths in [1, T], T the exported length."""
    return RangeCheck(name, 1, "(the exported length): pad shorter inputs, cut longer ones, and give every row "
                               "at least one step")


def IdCheck(name: str) -> RangeCheck:                                    # noqa: N802 - reads like a class
    """Token ids in [0, V - 1], V the vocabulary's size."""
    return RangeCheck(name, 0, "(the vocabulary's ids): map words the vocabulary lacks to <unk>")




def FiniteCheck(name: str) -> RangeCheck:                                # noqa: N802 - reads like a class
    """Float inputs that are numbers: no NaN, no infinity (a NaN series gave a believable forecast)."""
    return RangeCheck(name, -FLOAT32_MAX, "(no NaN or inf): fill or drop missing values")


def checks_note(ranges: dict[str, tuple[int, int]]) -> str:
    """The sidecar's words for the checks inside the graph: "lengths must be between 1 and 8,
    tokens between 0 and 99"."""
    parts = [f"{name} {'must be ' if i == 0 else ''}{rule(low, high)}" for i, (name, (low, high)) in enumerate(ranges.items())]
    return ", ".join(parts)


__all__ = ["ExportSpec", "FLOAT32_MAX", "FiniteCheck", "IdCheck", "LengthCheck", "MAX_EXPORT_LEN", "RangeCheck",
           "checks_note", "rule"]
