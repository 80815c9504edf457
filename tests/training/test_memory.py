"""Work that cannot fit in memory is refused from the lengths, before anything is allocated."""

from __future__ import annotations

import pytest

import lstmkit
from lstmkit.config import ModelConfig
from lstmkit.errors import DataError
from lstmkit import resources
from lstmkit.training import memory

MIB = 2**20


@pytest.fixture()
def small_memory(monkeypatch):
    """A machine with 64 MiB available."""
    monkeypatch.setattr(resources, "available_bytes", lambda: 64 * MIB)


def _rows(n: int, long_words: int = 0) -> list[tuple[str, str]]:
    rows = [(f"good film {i}" if i % 2 else f"bad film {i}", "pos" if i % 2 else "neg") for i in range(n)]
    if long_words:
        rows.append((" ".join(["good"] * long_words), "pos"))
    return rows


def test_estimate_grows_with_every_size():
    base = memory.bytes_per_token(ModelConfig(), False, False)
    assert memory.bytes_per_token(ModelConfig(), True, False) > base                # a second direction
    assert memory.bytes_per_token(ModelConfig(), False, True) > base                # gradients
    assert memory.bytes_per_token(ModelConfig(num_layers=2), False, False) > base
    assert memory.bytes_per_token(ModelConfig(cell="gru"), False, False) < base     # 3 gates, not 4


def test_a_huge_training_text_is_refused_before_the_run_exists(small_memory, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(DataError, match=r"200,000 tokens.*GiB.*classify\.max_len") as err:
        lstmkit.train("classify", _rows(40, long_words=200_000), valid=_rows(10), run_dir=run_dir, epochs=1)
    assert "training data" in str(err.value)
    assert not run_dir.exists()


def test_max_len_makes_the_same_data_fit(small_memory, tmp_path):
    run = lstmkit.train("classify", _rows(40, long_words=200_000), valid=_rows(10), run_dir=tmp_path / "run",
                        epochs=1, max_len=50, hidden_size=8, embedding_dim=8)
    assert run.predict("good")[0]["label"] in {"pos", "neg"}


def test_a_huge_input_text_is_refused_by_number(tmp_path, monkeypatch):
    run = lstmkit.train("classify", _rows(40), run_dir=tmp_path / "run", epochs=1, hidden_size=8, embedding_dim=8)
    monkeypatch.setattr(resources, "available_bytes", lambda: 64 * MIB)
    with pytest.raises(DataError, match=r"input: sequence 2 has 300,000 tokens.*shorten the text"):
        run.predict(["good film", "good " * 300_000])


def test_a_huge_tagging_sentence_is_refused(small_memory, tmp_path):
    words = " ".join(f"w{i % 50}/NOUN" for i in range(200_000))
    train = tmp_path / "train.txt"
    train.write_text("the/DET dog/NOUN\n" * 20 + words + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"200,000 tokens.*split long sentences"):
        lstmkit.train("tag", train, run_dir=tmp_path / "run", epochs=1)
    assert not (tmp_path / "run").exists()
