"""What the recurrent layers do on one input, as JSON for the web page's inspector.

For a classify, tag or lm run: the text is tokenised as the model was trained, fed through its
embedding (and the tagger's character encoder); for an image run the digit's rows (or pixels),
for a forecaster its input window, scaled as in training. The recurrent layers are traced with
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


def _embedded(run: Any, text: str) -> tuple[list[str], Tensor, Any, dict]:
    """(tokens, input to the recurrent stack (1, T, I), the stack, extra facts)."""
    task = run.task
    if task == "classify":
        from lstmkit.data.tokenize import get_tokenizer

        tokens = get_tokenizer(run.cfg.data.tokenizer)(text)[:MAX_TOKENS]
        if not tokens:
            raise ValueError("the text has no tokens to inspect")
        ids = torch.tensor([run.vocab.encode(tokens)])
        return tokens, run.model.embed(ids), [run.model.rnn], {}
    if task == "lm":
        from lstmkit.tasks.generate import prepare_prefix

        ids = prepare_prefix(text, run.vocab, run.normalize, run.tokenizer, what="text")[:MAX_TOKENS]
        tokens = run.vocab.decode(ids)
        return tokens, run.model.embed(torch.tensor([ids])), list(run.model.layers), {}
    if task == "tag":
        from lstmkit.tasks import tag as tag_task
        from lstmkit.tasks.tag_data import encode_batch

        pairs = run.predict(text)[:MAX_TOKENS]
        words = tuple(w for w, _ in pairs)
        batch = encode_batch([tag_task.TaggedSentence(words, ("X",) * len(words))], run.vocabs)
        model = run.model
        mask = torch.ones(1, len(words), dtype=torch.bool)
        x = model.embed(batch.words)
        if model.char_embed is not None:
            x = torch.cat([x, model._char_features(batch, mask)], dim=-1)
        return list(words), x, [model.rnn], {"tags": [t for _, t in pairs]}
    raise ValueError(f"a {task} run reads images or series, not text; send \"images\" or \"data\"")


def _numeric(run: Any, images: Any = None, data: Any = None, invert: bool = False) -> tuple[list[str], Tensor, Any, dict]:
    """Image rows/pixels (``invert``: dark on light, as predict takes it) or a forecaster's
    input window as steps."""
    if run.task == "image":
        from lstmkit.tasks.image import check_array, to_sequences

        if not images:
            raise ValueError("an image model is inspected on \"images\": one 28x28 array")
        if len(images) > 1:
            raise ValueError(f"\"images\" holds {len(images)} images; /inspect looks inside one at a time "
                             "(send one 28x28 array; /predict takes many)")
        pixels = check_array(torch.as_tensor(images[0], dtype=torch.float64).numpy(), "the image", invert)
        x = to_sequences(pixels[None], run.cfg.image)[:, :MAX_TOKENS * 8]                 # (1, T, F)
        names = [f"row {t}" if run.cfg.image.mode == "rows" else f"px {t}" for t in range(x.shape[1])]
        return names, x, [run.model.rnn], {"prediction": run.predict([images[0]], invert)[0]}
    if run.task == "forecast":
        import tempfile
        from pathlib import Path

        from lstmkit import boundary
        from lstmkit.api import _write_part
        from lstmkit.boundary import shown
        from lstmkit.notices import in_caller_terms
        from lstmkit.tasks.forecast import load_forecaster, read_window

        if not data:
            raise ValueError("a forecaster is inspected on \"data\": {column: [values]} of recent rows")
        model, cfg, meta = load_forecaster(run.run_dir)
        data = boundary.columns("data", data)
        missing = [c for c in meta["inputs"] if c not in data]
        if missing:                  # said here: the reader below would name its temporary file instead
            raise ValueError(f"\"data\" has no column(s) {', '.join(map(repr, missing))}; the model reads "
                             f"{', '.join(map(repr, meta['inputs']))}, got {shown(sorted(data), 120, typed=False)}")
        with tempfile.TemporaryDirectory() as tmp:
            scratch = _write_part("forecast", data, Path(tmp), "input")
            with in_caller_terms({str(scratch): "data"}):     # 'data row 3', not the scratch file
                _, x = read_window(scratch, meta, cfg.forecast)   # warns as predict does
        n = cfg.forecast.input_len
        return [f"t-{n - t}" for t in range(n)], x.float(), [model.rnn], {}
    raise ValueError(f"a {run.task} run reads text; send \"text\"")


@torch.no_grad()
def inspect_input(run: Any, text: str | None = None, images: Any = None, data: Any = None,
                  invert: bool = False) -> dict[str, Any]:
    """:func:`inspect_text` for any task: text for classify/tag/lm, ``images`` for image runs
    (``invert`` as predict takes it), ``data`` (columns of recent rows) for forecasters."""
    if invert and run.task != "image":
        raise ValueError(f"\"invert\" is for image models; a {run.task} run does not take it")
    if run.task in ("classify", "tag", "lm"):
        if not text or not text.strip():
            raise ValueError("give \"text\" to inspect")
        from lstmkit import boundary

        text = boundary.text("text", text)              # named "text" (the API's texts[0] would say another name)
        return inspect_text(run, text)
    return _trace(run, *_numeric(run, images, data, invert))


@torch.no_grad()
def inspect_text(run: Any, text: str) -> dict[str, Any]:
    """Per token, layer and direction: ``h``, ``c`` and the gates, plus the top neurons.

    Raises:
        ValueError, LstmkitError: for text the model cannot read, or a run without text input.
    """
    result = _trace(run, *_embedded(run, text))
    if run.task == "classify":
        result["prediction"] = run.predict([text])[0]
    return result


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


__all__ = ["MAX_TOKENS", "inspect_input", "inspect_text"]
