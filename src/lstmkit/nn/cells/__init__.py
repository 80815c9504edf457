"""The cell registry: one module per recurrent cell, one line here.

Each module (``lstm``, ``gru``, ``peephole``, ``lnlstm``) holds its single-step cell, its layer (or names
the fused one in :mod:`lstmkit.nn.rnn`), the step the reference time loop drives, and a
:class:`~lstmkit.nn.cells.base.CellSpec` named ``SPEC`` with its gate and state names. What
the config and the command line must know before torch is imported (the names, whether a
fused kernel runs the cell) is on the registry line; a test holds it equal to the module's.
Everything above asks here instead of naming cells: ``spec(name).gates``,
``spec(name).layer``, :func:`check_backend`.

    >>> names()
    ('lstm', 'gru', 'peephole', 'lnlstm', 'mingru', 'minlstm')
    >>> default_backend("peephole")
    'reference'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lstmkit.errors import ConfigError

if TYPE_CHECKING:
    from lstmkit.nn.cells.base import CellSpec


@dataclass(frozen=True)
class CellEntry:
    """A registry line: where the cell lives, and the facts needed before torch is imported."""

    module: str
    native_kernel: bool             # a fused PyTorch kernel runs it (else only the reference loop)
    summary: str                    # one line for --help
    quantizes: bool = False         # its layers quantise to dynamic int8 (lstmkit.nn.quantize)
    step_export: bool = False       # a model of it exports as one step with its state in and out (a
                                    # language model's ONNX/pt2 graph); any cell exports as a whole sequence


REGISTRY: dict[str, CellEntry] = {
    "lstm": CellEntry("lstmkit.nn.cells.lstm", True, "LSTM (Hochreiter & Schmidhuber 1997), PyTorch's gates",
                      quantizes=True, step_export=True),
    "gru": CellEntry("lstmkit.nn.cells.gru", True, "GRU (Cho et al. 2014), PyTorch's form", quantizes=True,
                     step_export=True),
    "peephole": CellEntry("lstmkit.nn.cells.peephole", False, "FC-LSTM with peephole connections (Shi et al. 2015)"),
    "lnlstm": CellEntry("lstmkit.nn.cells.lnlstm", False, "LSTM with layer normalisation (Ba et al. 2016)"),
    "mingru": CellEntry("lstmkit.nn.cells.mingru", False, "minGRU (Feng et al. 2024): gates from x alone, parallel scan"),
    "minlstm": CellEntry("lstmkit.nn.cells.minlstm", False, "minLSTM (Feng et al. 2024): gates from x alone, parallel scan"),
}


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def _entry(name: str) -> CellEntry:
    if name not in REGISTRY:
        raise ConfigError(f"unknown cell {name!r}; choose one of: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def spec(name: str) -> CellSpec:
    """The :class:`~lstmkit.nn.cells.base.CellSpec` of cell ``name`` (imports its module).

    Raises:
        ConfigError: for a name that is not registered, listing the ones that are.
    """
    return importlib.import_module(_entry(name).module).SPEC


def default_backend(cell: str) -> str:
    """``native`` where a fused kernel runs ``cell``, else ``reference``."""
    return "native" if _entry(cell).native_kernel else "reference"


def check_backend(cell: str, backend: str, key: str = "model.backend") -> None:
    """Refuse the native backend for a cell that has no fused kernel (no torch needed)."""
    if backend == "native" and not _entry(cell).native_kernel:
        raise ConfigError(f"the {cell} cell has no native kernel; set {key}=reference")


_CLASSES = {"LSTMCell": "lstm", "GRUCell": "gru", "PeepholeLSTMCell": "peephole", "PeepholeLSTM": "peephole"}


def __getattr__(name: str) -> Any:               # lstmkit.nn.cells.LSTMCell: the old module's names
    if name in _CLASSES:
        return getattr(importlib.import_module(REGISTRY[_CLASSES[name]].module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRY", "CellEntry", "check_backend", "default_backend", "names", "spec", *_CLASSES]
