from __future__ import annotations

import gzip
import logging
import zipfile

import numpy as np
import pytest
import torch

from lstmkit.data.vectors import embedding_matrix, load_vectors, save_vectors, train_word2vec
from lstmkit.data.vocab import PAD, UNK, Vocab
from lstmkit.errors import DataError

GLOVE = "the 0.1 0.2 0.3\ncat 1 2 3\ndog -1 -2 -3\n"


def test_glove_text_gz_zip_and_word2vec_text(tmp_path):
    (tmp_path / "g.txt").write_text(GLOVE)
    with gzip.open(tmp_path / "g.txt.gz", "wt") as handle:
        handle.write(GLOVE)
    with zipfile.ZipFile(tmp_path / "g.zip", "w") as archive:
        archive.writestr("glove.txt", GLOVE)
    (tmp_path / "w.vec").write_text("3 3\n" + GLOVE)
    loaded = [load_vectors(tmp_path / name) for name in ("g.txt", "g.txt.gz", "g.zip", "w.vec")]
    for vectors in loaded:
        assert vectors.words == ["the", "cat", "dog"] and vectors.dim == 3
        np.testing.assert_allclose(vectors.vectors[1], [1, 2, 3])
    assert load_vectors(tmp_path / "g.txt", limit=2).words == ["the", "cat"]


def test_word2vec_binary_round_trip(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["a", "b"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    vectors = load_vectors(tmp_path / "v.bin")
    assert vectors.words == ["a", "b"]
    np.testing.assert_allclose(vectors.vectors[1], [4, 5, 6])


@pytest.mark.parametrize("content,message", [
    ("the 0.1 0.2\ncat 1 2 3\n", r"g.txt:2: 3 numbers where the file has 2 per word"),
    ("the 0.1 0.2\ncat 1 x\n", r"g.txt:2: malformed vectors line for 'cat'"),
    ("", "is empty"),
    ("the\t0.1 0.2\ncat\t1 2\n", r"g.txt:1: the line holds a tab; .* single spaces"),   # found by a tester
])
def test_malformed_vectors(tmp_path, content, message):
    (tmp_path / "g.txt").write_text(content)
    with pytest.raises(DataError, match=message):
        load_vectors(tmp_path / "g.txt")


def test_embedding_matrix_coverage_and_fallback(tmp_path):
    (tmp_path / "g.txt").write_text(GLOVE)
    vocab = Vocab([PAD, UNK, "the", "Cat", "zebra"], [PAD, UNK])
    weight, coverage = embedding_matrix(vocab, load_vectors(tmp_path / "g.txt"), unknown_init="zeros")
    assert (coverage.exact, coverage.lowercase, coverage.missing) == (1, 1, 3)
    torch.testing.assert_close(weight[3], torch.tensor([1.0, 2.0, 3.0]))      # Cat -> cat
    assert weight[4].abs().sum() == 0 and weight[0].abs().sum() == 0
    weight, _ = embedding_matrix(vocab, load_vectors(tmp_path / "g.txt"), lowercase_fallback=False,
                                 generator=torch.Generator().manual_seed(0))
    assert weight[3].abs().sum() > 0 and not torch.allclose(weight[3], torch.tensor([1.0, 2.0, 3.0]))
    assert weight[0].abs().sum() == 0                                          # <pad> stays zero


def test_train_and_save_vectors(tmp_path, caplog):
    sentences = [["good", "movie", "great", "film"], ["bad", "movie", "awful", "film"]] * 50
    vectors = train_word2vec(sentences, dim=8, min_count=1, epochs=2, workers=1)
    assert vectors.dim == 8 and "movie" in vectors.words
    vocab = Vocab([PAD, UNK, "movie"], [PAD, UNK])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gensim"):
        paths = save_vectors(tmp_path / "out", vocab, torch.randn(3, 8))
    assert "not present" not in caplog.text                       # gensim's "attribute count not present" warning
    assert [p.name for p in paths] == ["vectors.npy", "vectors.vocab.json", "vectors.txt"]
    assert load_vectors(tmp_path / "out" / "vectors.txt").words == [PAD, UNK, "movie"]
