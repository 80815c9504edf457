from __future__ import annotations

from collections import Counter

import pytest
import torch

from lstmkit.config import ModelConfig
from lstmkit.tasks.lm.options import LMOptions
from lstmkit.data.vocab import UNK, Vocab
from lstmkit.errors import DataError
from lstmkit.tasks.lm import generate as gen
from lstmkit.tasks.lm.sampling import Sampling
from lstmkit.tasks.lm.model import LanguageModel

LOGITS = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))


def _draws(n=2000, **options):
    g = torch.Generator().manual_seed(0)
    return Counter(gen.pick(LOGITS, generator=g, **options) for _ in range(n))


def test_greedy_is_the_argmax():
    assert gen.pick(LOGITS) == 0


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert set(_draws(top_p=0.5)) == {0}                # 0.5 alone reaches 0.5
    assert set(_draws(top_p=0.7)) == {0, 1}             # 0.5 + 0.3 >= 0.7
    assert set(_draws(top_p=0.9)) == {0, 1, 2}
    counts = _draws(top_p=0.7, n=4000)
    assert counts[0] / 4000 == pytest.approx(0.5 / 0.8, abs=0.03)   # renormalised over the kept set


def test_top_k_and_temperature():
    assert set(_draws(top_k=2)) == {0, 1}
    cold, hot = _draws(temperature=0.3), _draws(temperature=3.0)
    assert cold[0] > hot[0] and hot[3] > cold[3]


@pytest.mark.parametrize("kwargs,message", [
    ({"length": 0}, "length must be >= 1, got 0"),
    ({"temperature": 0.0}, "temperature must be > 0, got 0.0"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\], got 0.0"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\], got 1.5"),
    ({"top_k": -1}, "top_k must be >= 0"),
])
def test_bad_sampling_options(kwargs, message):
    options = {"length": 5, "temperature": None, "top_k": 0, "top_p": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        Sampling(**options)


def _word_model():
    vocab = Vocab.build(["the", "cat", "sat", "on", "mat"], specials=(UNK,))
    return LanguageModel(len(vocab), ModelConfig(embedding_dim=4, hidden_size=8), LMOptions()), vocab


def test_word_prefixes_unknown_words_and_seeds():
    model, vocab = _word_model()
    with pytest.raises(DataError, match="every token of the prefix is unknown"):
        gen.generate(model, vocab, "zebra giraffe", Sampling(3), tokenizer="whitespace")
    assert gen.prepare_prefix("the zebra", vocab, tokenizer="whitespace") == [vocab.stoi["the"], vocab.unk_id]
    a = gen.generate(model, vocab, "the cat", Sampling(8, top_p=0.9, seed=1), tokenizer="whitespace")
    assert a == gen.generate(model, vocab, "the cat", Sampling(8, top_p=0.9, seed=1), tokenizer="whitespace")
    assert a.startswith("the cat ") and UNK not in a       # <unk> is never generated
    assert len(a.split()) == 10


def test_prefix_errors():
    model, vocab = _word_model()
    with pytest.raises(DataError, match="the prefix is empty"):
        gen.prepare_prefix("   ", vocab, tokenizer="whitespace")
    with pytest.raises(DataError, match="more than the 10,000"):
        gen.prepare_prefix("the " * 10_001, vocab, tokenizer="whitespace")
    chars = Vocab.build("abc", specials=())
    with pytest.raises(DataError, match=r"prefix characters 'xz' are not in the model's vocabulary"):
        gen.prepare_prefix("axz", chars)


def test_chinese_prefix_by_characters_and_by_jieba_words():
    chars = Vocab.build(list("曹操劉備關羽張飛"), specials=(UNK,))
    model = LanguageModel(len(chars), ModelConfig(embedding_dim=4, hidden_size=8), LMOptions())
    out = gen.generate(model, chars, "曹操", Sampling(4))
    assert out.startswith("曹操") and len(out) == 6
    words = Vocab.build(["曹操", "劉備", "大喜"], specials=(UNK,))
    model = LanguageModel(len(words), ModelConfig(embedding_dim=4, hidden_size=8), LMOptions())
    out = gen.generate(model, words, "曹操大喜", Sampling(3), tokenizer="jieba")
    assert out.startswith("曹操大喜") and " " not in out


def test_detokenize():
    assert gen.detokenize(["a", "b", "<eos>", "c"], "whitespace") == "a b\nc"
    assert gen.detokenize(["曹操", "大喜", "<eos>"], "jieba") == "曹操大喜\n"


def test_a_top_p_below_float32s_smallest_still_keeps_the_top_token():
    """Found by a tester: top_p=1e-300 passed the > 0 check, was 0 in float32, and dropped every
    token ('invalid multinomial distribution')."""
    assert set(_draws(top_p=1e-300)) == {0} and set(_draws(top_p=1e-50)) == {0}
