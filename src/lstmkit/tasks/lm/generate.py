"""Text generation from a trained language model: warm the state up on a prefix (the tutorial's
warm-up), then emit tokens greedily or by sampling with temperature, top-k and top-p (nucleus).
Legend: T time, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import logging
import math

import torch
from torch import Tensor

from lstmkit.data.tokenize import get_tokenizer
from lstmkit.data.vocab import EOS, UNK, Vocab
from lstmkit.errors import DataError
from lstmkit.tasks.lm.sampling import Sampling

if TYPE_CHECKING:                                   # the model's type only: lm's report imports this module
    from lstmkit.tasks.lm.model import LanguageModel

logger = logging.getLogger(__name__)

MAX_PREFIX_TOKENS = 10_000   # an LSTM has no fixed context; this bounds the warm-up, not the model
_JOIN_WITHOUT_SPACES = ("char", "jieba")


def prepare_prefix(prefix: str, vocab: Vocab, normalize: str = "none", tokenizer: str = "char",
                   what: str = "prefix") -> list[int]:
    """Tokenise and encode a prefix the way the training text was.

    Characters outside a vocabulary without ``<unk>`` are an error listing them; words outside
    a word vocabulary become ``<unk>`` (with a warning), unless every one of them is unknown.

    Raises:
        DataError: for an empty prefix, unknown tokens the model cannot take, or one longer
            than ``MAX_PREFIX_TOKENS``.

    Example:
        >>> v = Vocab.build("abc ", specials=())
        >>> prepare_prefix("ABC", v, "letters") == v.encode("abc")
        True
    """
    if normalize == "letters":
        prefix = prefix.lower()
    if not prefix or (tokenizer != "char" and not prefix.strip()):
        raise DataError(f"the {what} is empty; give at least one token to start from")
    if tokenizer == "char":
        tokens = list(prefix)
    else:
        split = get_tokenizer(tokenizer)
        lines = prefix.split("\n")
        tokens = [tok for i, line in enumerate(lines) for tok in [*split(line), *([EOS] if i < len(lines) - 1 else [])]]
    if len(tokens) > MAX_PREFIX_TOKENS:
        raise DataError(f"the {what} has {len(tokens):,} tokens, more than the {MAX_PREFIX_TOKENS:,} lstmkit "
                        "warms up on; pass its last part")
    unknown = vocab.unknown(tokens)
    if unknown and vocab.unk_id is None:
        shown = "".join(sorted(vocab.itos)) if len(vocab) <= 200 else f"{len(vocab)} tokens"
        raise DataError(f"{what} characters {''.join(unknown)!r} are not in the model's vocabulary; "
                        f"use only these characters: {shown!r}")
    if unknown and all(t in unknown or t == UNK for t in tokens):
        raise DataError(f"every token of the {what} is unknown to the model ({', '.join(map(repr, unknown[:10]))}); "
                        "start from words it was trained on")
    if unknown:
        logger.warning("%s tokens not in the vocabulary, read as <unk>: %s", what, ", ".join(unknown[:20]))
    return vocab.encode(tokens)


def detokenize(tokens: list[str], tokenizer: str) -> str:
    """Join tokens back into text: characters and jieba words without spaces, ``<eos>`` as a newline.

    Example:
        >>> detokenize(["the", "cat", "<eos>", "a"], "whitespace")
        'the cat\\na'
    """
    if tokenizer == "char":
        return "".join(tokens)
    glue = "" if tokenizer in _JOIN_WITHOUT_SPACES else " "
    lines, line = [], []
    for tok in tokens:
        if tok == EOS:
            lines.append(glue.join(line))
            line = []
        else:
            line.append(tok)
    return "\n".join([*lines, glue.join(line)])


def pick(logits: Tensor, temperature: float | None = None, top_k: int = 0, top_p: float = 1.0,
         generator: torch.Generator | None = None) -> int:
    """Choose the next token: greedy when no sampling option is given, else sample from the
    softmax of ``logits / temperature`` restricted to the top-k and then to the smallest set
    of tokens whose probabilities sum to at least ``top_p``.

    Shapes: logits (V,)

    Example:
        >>> pick(torch.tensor([0.1, 2.0, 0.3]))
        1
        >>> pick(torch.tensor([0.1, 2.0, 0.3]), top_p=0.1, generator=torch.Generator().manual_seed(0))
        1
    """
    if temperature is None and top_k == 0 and top_p == 1.0:
        return int(logits.argmax())
    logits = logits.float() / (temperature or 1.0)
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = torch.softmax(logits, dim=-1).cpu()                                   # (V,)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_probs, 0) - sorted_probs                      # mass above each
        drop = before >= top_p
        drop[0] = False                              # the top one stays (a top_p below float32's tiniest is 0)
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def generate(model: LanguageModel, vocab: Vocab, prefix: str, sampling: Sampling | int, normalize: str = "none",
             tokenizer: str = "char") -> str:
    """The prefix followed by ``sampling.length`` generated tokens (``<unk>`` is never generated).

    Args:
        sampling: how tokens are drawn; a number N is ``Sampling(N)``: N tokens, greedily.
        normalize, tokenizer: how the training text was prepared (from the run's config).

    Raises:
        DataError: for a bad prefix.
    """
    return "".join(stream(model, vocab, prefix, sampling, normalize, tokenizer))


def stream(model: LanguageModel, vocab: Vocab, prefix: str, sampling: Sampling | int, normalize: str = "none",
           tokenizer: str = "char") -> Iterator[str]:
    """:func:`generate`'s text in pieces as it is produced: the prefix, then one piece per
    token (its text with the space or newline before it). The prefix is checked before the
    first piece is yielded.
    """
    sampling = sampling if isinstance(sampling, Sampling) else Sampling(sampling)
    ids = prepare_prefix(prefix, vocab, normalize, tokenizer)
    return _stream(model, vocab, prefix, ids, sampling, normalize, tokenizer)


@torch.no_grad()
def _stream(model: LanguageModel, vocab: Vocab, prefix: str, ids: list[int], sampling: Sampling, normalize: str,
            tokenizer: str) -> Iterator[str]:
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(sampling.seed) if sampling.seed is not None else None
    model.eval()
    shown = prefix.lower() if normalize == "letters" else prefix
    yield shown if tokenizer == "char" else shown.rstrip()
    glue = "" if tokenizer in _JOIN_WITHOUT_SPACES else " "
    logits, state = model(torch.tensor([ids], device=device))                     # (1, T_prefix, V)
    previous_eos = False
    for _ in range(sampling.length):
        last = logits[0, -1]
        if vocab.unk_id is not None:                    # never write <unk>: it says nothing
            last = last.masked_fill(torch.arange(last.numel(), device=last.device) == vocab.unk_id, -math.inf)
        token = pick(last, sampling.temperature, sampling.top_k, sampling.top_p, generator)
        text = vocab.itos[token]
        if tokenizer == "char":
            yield text
        elif text == EOS:
            yield "\n"
        else:
            yield text if previous_eos else glue + text
        previous_eos = text == EOS
        logits, state = model(torch.tensor([[token]], device=device), state)      # (1, 1, V)
