"""The MinLSTM cell (Feng et al. 2024): its registry entry. The equations, the log-space parallel
scan and the step live in :mod:`lstmkit.nn.cells.minimal`, shared with its sibling."""

from __future__ import annotations

from lstmkit.nn.cells.minimal import SPECS, MinLSTM, MinLSTMCell

SPEC = SPECS["minlstm"]

__all__ = ["MinLSTM", "MinLSTMCell", "SPEC"]
