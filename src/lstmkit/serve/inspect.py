"""What the recurrent layers do on one input, as JSON for the web page's inspector.

Each run says what it reads and how it reaches its recurrent layers (``Run.inspect_input``,
``Run.inspect_stack``): a text tokenised as the model was trained and embedded (with the
tagger's character encoder), an image's rows (or pixels), a forecaster's input window, scaled
as in training. The recurrent layers are traced with
``return_gates=True`` (:mod:`lstmkit.nn.gates`). Per layer and direction the result holds, per
token, the hidden state ``h``, the cell state ``c`` (LSTM) and each gate, rounded to 3 decimals,
and the neurons with the largest mean ``|h|`` (LSTMVis' "top neurons").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

MAX_TOKENS = 100          # tokens shown; longer texts are cut (and say so)
TOP_NEURONS = 10


def _round(t: Tensor) -> list:
    return (t.float() * 1000).round().div(1000).tolist()


@torch.no_grad()
def inspect_input(run: Any, text: str | None = None, images: Any = None, data: Any = None,
                  invert: bool = False) -> dict[str, Any]:
    """What ``run``'s recurrent layers do on one input: ``text``, ``images`` or ``data``
    (columns of recent rows), whichever the run reads (``run.inspect_input``); ``invert`` as
    an image model's predict takes it.

    Raises:
        ValueError, LstmkitError: for an input the model cannot read, or one it does not take.
    """
    given = {"text": text, "images": images, "data": data}
    reads = run.inspect_input
    if invert and "invert" not in getattr(run.serve_input, "options", ()):
        raise ValueError(f"\"invert\" is for image models; a {run.task} run does not take it")
    value = given[reads]
    if reads == "text":
        if not text or not text.strip():
            raise ValueError("give \"text\" to inspect")
        from lstmkit import boundary

        value = boundary.text("text", text)             # named "text" (the API's texts[0] would say another name)
    tokens, x, stack, extra = run.inspect_stack(value, invert, MAX_TOKENS)
    return _trace(run, tokens, x, stack, extra)


def _trace(run: Any, tokens: list[str], x: Tensor, stack: list, extra: dict) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    depth, cell = 0, ""
    for module in stack:
        out, _, trace = module(x, return_gates=True)
        for (layer, direction), steps in sorted(trace.steps.items()):
            values = {name: steps[name][:, 0] for name in steps}                  # each (T, H)
            strength = values["h"].abs().mean(0)                                  # (H,)
            top = strength.argsort(descending=True)[:TOP_NEURONS].tolist()
            layers.append({"layer": depth + layer, "direction": "backward" if direction else "forward",
                           "gates": list(trace.gates), **{k: _round(v) for k, v in values.items()},
                           "top_neurons": top, "top_strength": _round(strength[top])})
        depth += max(k[0] for k in trace.steps) + 1
        x, cell = out, trace.cell
    return {"tokens": tokens, "cell": cell, "layers": layers,
            "cut": len(tokens) >= MAX_TOKENS, **extra}


__all__ = ["MAX_TOKENS", "inspect_input"]
