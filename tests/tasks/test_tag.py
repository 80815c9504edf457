from __future__ import annotations

import json
import random

import pytest
import torch

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.tasks.tag.options import TagOptions
from lstmkit.data.datasets.treebank import TaggedSentence
from lstmkit.errors import DataError
from lstmkit.tasks.tag import model as tag
from lstmkit.tasks.tag.data import TagVocabs, encode_batch, word_key
from lstmkit.training.recipe import fit

DETS, NOUNS, VERBS = ["the", "a", "this"], ["cat", "dog", "bird", "fish"], ["runs", "sees", "eats"]


def _sentences(n, seed):
    """DET NOUN VERB (DET NOUN): the tag follows from the word, and 'fish' also from its place."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(DETS), rng.choice(NOUNS), rng.choice(VERBS)]
        tags = ["DET", "NOUN", "VERB"]
        if rng.random() < 0.5:
            words += [rng.choice(DETS), rng.choice(NOUNS)]
            tags += ["DET", "NOUN"]
        out.append(TaggedSentence(tuple(words), tuple(tags)))
    return out


def _write(path, sentences):
    path.write_text("\n".join(" ".join(f"{w}/{t}" for w, t in zip(s.words, s.tags)) for s in sentences) + "\n")
    return path


def _cfg(tmp_path, crf=False, **train):
    train_file = _write(tmp_path / "train.txt", _sentences(200, 0))
    test_file = _write(tmp_path / "test.txt", _sentences(40, 1))
    return RunConfig(task="tag", model=ModelConfig(embedding_dim=16, hidden_size=16, dropout=0.1, bidirectional=True),
                     options=TagOptions(crf=crf, char_embedding_dim=8, char_hidden_size=8),
                     data=DataConfig(path=str(train_file), test_path=str(test_file)),
                     train=TrainConfig(**{"epochs": 6, "batch_size": 16, "lr": 0.01, **train}))


@pytest.mark.parametrize("crf", [False, True])
def test_learns_a_toy_grammar_and_round_trips(tmp_path, crf):
    result = fit(_cfg(tmp_path, crf), tmp_path / "run")
    assert result.test is not None and result.test["accuracy"] > 0.95
    loaded, vocabs, _ = tag.load_tagger(tmp_path / "run")
    again = tag.evaluate(loaded, result.data.splits.test, vocabs)
    assert again.accuracy == result.test["accuracy"]
    assert json.loads((tmp_path / "run" / tag.EVAL_FILE).read_text())["accuracy"] == result.test["accuracy"]
    assert tag.tag_texts(loaded, vocabs, ["the dog sees a cat"], "whitespace") == [
        [("the", "DET"), ("dog", "NOUN"), ("sees", "VERB"), ("a", "DET"), ("cat", "NOUN")]]
    assert result.history[-1]["tokens_per_s"] > 0


def test_unseen_gold_tags_are_reported_not_a_crash(tmp_path):
    result = fit(_cfg(tmp_path, epochs=2), tmp_path / "run")
    odd = [TaggedSentence(("the", "cat", "runs"), ("DET", "NOUN", "VERB-PAST"))]
    rep = tag.evaluate(result.model, odd, result.data.vocabs)
    assert rep.unseen == {"VERB-PAST": 1} and rep.accuracy == pytest.approx(2 / 3)
    assert "tags never seen in training (always counted wrong): VERB-PAST x1" in rep.as_text()


def test_bad_inputs(tmp_path):
    result = fit(_cfg(tmp_path, epochs=1), tmp_path / "run")
    with pytest.raises(DataError, match="nothing to tag"):
        tag.tag_texts(result.model, result.data.vocabs, [], "whitespace")
    with pytest.raises(DataError, match="has no words to tag"):
        tag.tag_texts(result.model, result.data.vocabs, ["   "], "whitespace")
    with pytest.raises(DataError, match="sentence 1 has no tokens"):
        tag.evaluate(result.model, [TaggedSentence((), ())], result.data.vocabs)


def test_character_features_reach_every_real_word():
    sentences = [TaggedSentence(("Ab", "c"), ("X", "Y")), TaggedSentence(("d",), ("X",))]
    vocabs = TagVocabs.build(sentences)
    batch = encode_batch(sentences, vocabs)
    assert batch.chars.shape == (3, 2) and batch.char_lengths.tolist() == [2, 1, 1]
    model = tag.Tagger(vocabs, ModelConfig(embedding_dim=4, hidden_size=4), TagOptions(char_embedding_dim=3, char_hidden_size=5))
    mask = batch.words != 0
    feats = model._char_features(batch, mask)                    # (B, T, 10)
    assert feats.shape == (2, 2, 10) and bool((feats[1, 1] == 0).all()) and bool((feats[0, 1] != 0).any())
    assert word_key("Year-2024") == "year-0000"


def test_full_width_punctuation_meets_the_ascii_vocabulary():
    # UD Chinese 1.4 writes ASCII punctuation; jieba's output of everyday text is full-width
    vocabs = TagVocabs.build([TaggedSentence(("他", ",", "走", "了", "."), ("PRON", "PUNCT", "VERB", "PART", "PUNCT"))])
    ascii_batch = encode_batch([TaggedSentence(("他", ",", "走", "."), ("PRON",) * 4)], vocabs)
    wide_batch = encode_batch([TaggedSentence(("他", "，", "走", "。"), ("PRON",) * 4)], vocabs)
    assert torch.equal(ascii_batch.words, wide_batch.words) and torch.equal(ascii_batch.chars, wide_batch.chars)
    assert vocabs.words.unk_id not in wide_batch.words.tolist()[0]


def test_chinese_end_to_end_scoring_by_character_spans():
    gold = [TaggedSentence(("我", "愛", "北京"), ("PRON", "VERB", "PROPN"))]
    vocabs = TagVocabs.build(gold)
    model = tag.Tagger(vocabs, ModelConfig(embedding_dim=4, hidden_size=4), TagOptions())
    scores = tag.end_to_end_chinese(model, vocabs, gold)
    assert scores.gold_words == 3 and scores.system_words >= 1
    assert 0.0 <= scores.tagging_f1 <= scores.segmentation_f1 <= 1.0


def test_end_to_end_f1_counts_spans_and_tags():
    assert tag._spans(["我", "愛", "北京"]) == [(0, 1), (1, 2), (2, 4)]
    p, r, f1 = tag._f1(2, 4, 3)
    assert (p, r) == (0.5, 2 / 3) and f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
