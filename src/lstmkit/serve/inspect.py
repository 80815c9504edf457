"""What the recurrent layers do on one text, as JSON for the web page's inspector.

For a classify, tag or lm run: the text is tokenised as the model was trained, fed through its
embedding (and the tagger's character encoder), and its recurrent layers are traced with
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

        ids = prepare_prefix(text, run.vocab, run.normalize, run.tokenizer)[:MAX_TOKENS]
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
    raise ValueError(f"inspection shows the gates of text models (classify, tag, lm), not a {task} run")


@torch.no_grad()
def inspect_text(run: Any, text: str) -> dict[str, Any]:
    """Per token, layer and direction: ``h``, ``c`` and the gates, plus the top neurons.

    Raises:
        ValueError, LstmkitError: for text the model cannot read, or a run without text input.
    """
    tokens, x, stack, extra = _embedded(run, text)
    layers: list[dict[str, Any]] = []
    depth = 0
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
        x = out
    result = {"tokens": tokens, "cell": layers[0]["gates"] and ("lstm" if "c" in layers[0] else "gru"),
              "layers": layers, "cut": len(tokens) >= MAX_TOKENS, **extra}
    if run.task == "classify":
        result["prediction"] = run.predict([text])[0]
    return result


__all__ = ["MAX_TOKENS", "inspect_text"]
