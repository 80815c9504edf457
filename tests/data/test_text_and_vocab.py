from __future__ import annotations

import pytest
import torch

from lstmkit.data.batching import num_batches, random_batches, sequential_batches
from lstmkit.data.text import read_text, sample_path
from lstmkit.data.tokenize import get_tokenizer, letters_only
from lstmkit.data.vocab import UNK, Vocab
from lstmkit.errors import DataError


def test_shipped_time_machine_is_the_d2l_copy():
    text = read_text(sample_path("timemachine"))
    assert len(text.encode("utf-8")) == 178_979
    cleaned = letters_only(text)
    assert set(cleaned) == set("abcdefghijklmnopqrstuvwxyz ")
    assert len(cleaned.split()) == 32_775           # the word count d2l reports


def test_read_text_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(DataError, match="is empty"):
        read_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid utf-8 \(byte 3.*--encoding gbk"):
        read_text(tmp_path / "latin1.txt")
    assert read_text(tmp_path / "latin1.txt", encoding="latin-1") == "café au lait"
    with pytest.raises(DataError, match="is a directory"):
        read_text(tmp_path)


def test_vocab_orders_by_frequency_and_round_trips(tmp_path):
    vocab = Vocab.build("abracadabra", specials=[UNK])
    assert vocab.itos[:3] == [UNK, "a", "b"]
    assert vocab.decode(vocab.encode("cab")) == list("cab")
    assert vocab.encode("z") == [0]
    vocab.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == vocab.itos


def test_vocab_min_freq_and_max_size():
    vocab = Vocab.build("aaabbc", specials=[UNK], min_freq=2)
    assert vocab.itos == [UNK, "a", "b"]
    assert Vocab.build("aaabbc", specials=[UNK], max_size=2).itos == [UNK, "a"]


def test_vocab_without_unk_rejects_unknown():
    vocab = Vocab.build("ab", specials=())
    assert vocab.unknown("abzz") == ["z"]
    with pytest.raises(DataError, match="'z' is not in the vocabulary"):
        vocab.encode("az")


def test_tokenizers():
    assert get_tokenizer("whitespace")("a  b\tc") == ["a", "b", "c"]
    assert get_tokenizer("basic_english")("Don't stop (now)!") == ["don", "'", "t", "stop", "(", "now", ")", "!"]
    with pytest.raises(ValueError, match="unknown tokenizer .x.; choose one of: basic_english, char, jieba, ud_english, whitespace"):
        get_tokenizer("x")


def test_sequential_batches_continue_row_by_row():
    ids = torch.arange(100)
    batches = list(sequential_batches(ids, batch_size=4, num_steps=5))
    assert len(batches) == num_batches(100, 4, 5) == 4
    (x0, y0), (x1, _) = batches[0], batches[1]
    assert torch.equal(y0, x0 + 1)
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)      # row b continues where it stopped


def test_random_batches_cover_distinct_windows():
    ids = torch.arange(1000)
    g = torch.Generator().manual_seed(0)
    starts = [int(x[b, 0]) for x, y in random_batches(ids, 8, 10, g) for b in range(8)]
    assert len(starts) == len(set(starts))
    x, y = next(random_batches(ids, 8, 10, torch.Generator().manual_seed(1)))
    assert x.shape == (8, 10) and torch.equal(y, x + 1)


def test_jieba_tokenizer_segments_chinese():
    assert get_tokenizer("jieba")("我爱北京天安门") == ["我", "爱", "北京", "天安门"]
