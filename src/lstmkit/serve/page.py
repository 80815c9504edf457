"""The web page of ``lstmkit serve`` (``static/index.html``): pick a model, type a text (or
upload an image or a CSV), see the prediction or the generated text as it streams; the
inspector's heatmaps of the hidden state, cell state and each gate per token (from
``/inspect``), the top neurons and a neuron's trace across the text; the run's training curves
(from ``/runs/NAME/metrics``). Plain HTML, canvas and JavaScript: nothing is fetched from the
internet."""

from __future__ import annotations

from importlib.resources import files

PAGE = files("lstmkit.serve").joinpath("static/index.html").read_text(encoding="utf-8")

__all__ = ["PAGE"]
