from __future__ import annotations

import pytest

from lstmkit.config import DataConfig
from lstmkit.tasks.lm.options import LMOptions
from lstmkit.data.vocab import UNK
from lstmkit.errors import DataError
from lstmkit.tasks.lm.data import load_corpus, tokens_of


def _folder(tmp_path, train, valid, test=None):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "x.train.txt").write_text(train, encoding="utf-8")
    (tmp_path / "x.valid.txt").write_text(valid, encoding="utf-8")
    if test is not None:
        (tmp_path / "x.test.txt").write_text(test, encoding="utf-8")
    return tmp_path


def test_word_tokens_close_each_line_with_eos():
    assert tokens_of("The cat.\n\nA dog\n", "word", "basic_english") == ["the", "cat", ".", "<eos>", "a", "dog", "<eos>"]


def test_word_vocabulary_from_train_only_with_min_freq(tmp_path):
    folder = _folder(tmp_path / "c", "a a b\na c\n", "a d\n", "b e\n")
    corpus = load_corpus(DataConfig(path=str(folder), tokenizer="whitespace", min_freq=2), LMOptions(level="word"))
    assert corpus.vocab.itos == [UNK, "a", "<eos>"]           # b, c seen once
    assert corpus.test_ids.tolist() == [0, 0, 2]
    full = load_corpus(DataConfig(path=str(folder), tokenizer="whitespace"), LMOptions(level="word"))
    assert "c" in full.vocab and "d" not in full.vocab and len(full.valid_ids) == 3


def test_char_vocabulary_gets_unk_only_when_held_out_text_needs_it(tmp_path):
    closed = load_corpus(DataConfig(path=str(_folder(tmp_path / "a", "abcab", "ab"))), LMOptions(level="char"))
    assert UNK not in closed.vocab
    opened = load_corpus(DataConfig(path=str(_folder(tmp_path / "b", "abcab", "abz"))), LMOptions(level="char"))
    assert UNK in opened.vocab and opened.valid_ids.tolist()[-1] == opened.vocab.unk_id


def test_chinese_by_characters_and_by_jieba_words(tmp_path):
    text = "曹操大喜，劉備大怒。\n" * 5
    folder = _folder(tmp_path / "zh", text, text)
    chars = load_corpus(DataConfig(path=str(folder)), LMOptions(level="char"))
    assert "曹" in chars.vocab and chars.tokenizer == "char"
    words = load_corpus(DataConfig(path=str(folder), tokenizer="jieba"), LMOptions(level="word"))
    assert "曹操" in words.vocab and words.tokenizer == "jieba"


def test_empty_and_undecodable_corpora(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(DataError, match="is empty"):
        load_corpus(DataConfig(path=str(empty)), LMOptions(level="char"))
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 ol\xe9".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid utf-8 \(byte 3"):
        load_corpus(DataConfig(path=str(latin)), LMOptions(level="char"))
    assert "é" in load_corpus(DataConfig(path=str(latin), encoding="latin-1"), LMOptions(level="char")).vocab
