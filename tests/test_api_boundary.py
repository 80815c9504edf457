"""The Python API's one boundary (lstmkit.boundary): wrong values from a caller end in a typed
lstmkit error naming the argument and the value, never a raw TypeError from inside, and never
silently wrong data. The listed cases come from issue 18; the hypothesis tests throw arbitrary
values at every public signature."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lstmkit
from lstmkit.boundary import ArgumentError
from lstmkit.errors import LstmkitError

FIXTURES = Path(__file__).parent / "fixtures" / "runs_format2"
SCALE = int(os.environ.get("LSTMKIT_FUZZ_EXAMPLES") or 0) / 60 or 1.0   # benchmarks/bench_reliability.py asks for more


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("api-runs")
    loaded = {}
    for task in ("classify", "tag", "lm", "forecast", "image"):
        shutil.copytree(FIXTURES / task, root / task)
        loaded[task] = lstmkit.load(root / task)
    return loaded


@pytest.mark.parametrize("call, words", [
    (lambda r: lstmkit.load(None), "run_dir"),
    (lambda r: lstmkit.load(42), "run_dir"),
    (lambda r: lstmkit.load(b"runs/x"), "bytes"),
    (lambda r: lstmkit.load(""), "empty"),
    (lambda r: lstmkit.load("x" * 5000), "usable path"),
    (lambda r: r["classify"].predict(None), "texts"),
    (lambda r: r["classify"].predict([1, 2]), "texts[0]"),
    (lambda r: r["classify"].predict([b"bytes"]), "decode"),
    (lambda r: r["classify"].predict({"a film": 1}), "dict"),
    (lambda r: r["classify"].predict([["a", "film"]]), "texts[0]"),
    (lambda r: r["classify"].predict(["ok", "\ud800 lone"]), "surrogate"),
    (lambda r: r["tag"].predict([None]), "texts[0]"),
    (lambda r: r["tag"].predict("the dog", tokenizer="spaces"), "tokenizer"),
    (lambda r: r["lm"].generate("the", length="5"), "length"),
    (lambda r: r["lm"].generate("the", length=0), "length"),
    (lambda r: r["lm"].generate("the", seed="x"), "seed"),
    (lambda r: r["lm"].generate("the", seed=2**70), "seed"),
    (lambda r: r["lm"].generate("the", top_k=2.5), "top_k"),
    (lambda r: r["lm"].generate("the", top_p=float("nan")), "top_p"),
    (lambda r: r["lm"].generate("the", temperature="hot"), "temperature"),
    (lambda r: r["lm"].generate(b"the"), "prefix"),
    (lambda r: r["lm"].generate(None), "prefix"),
    (lambda r: r["forecast"].predict({"OT": [1.0, 2.0], "x": [1.0]}), "different lengths"),
    (lambda r: r["forecast"].predict({"OT": [1e308] * 60, "x": [1.0] * 60}), "float32"),
    (lambda r: r["forecast"].predict(42), "data"),
    (lambda r: r["image"].predict(None), "images[0]"),
    (lambda r: r["image"].predict([[["a"] * 28] * 28]), "images[0]"),
    (lambda r: r["image"].predict([]), "images"),
    (lambda r: lstmkit.settings("tagger"), "tagger"),
    (lambda r: lstmkit.settings(None), "task"),
    # found by a tester after the cases above were written
    (lambda r: r["lm"].generate("the", temperature=10**400), "beyond the range of a float"),
    (lambda r: r["lm"].generate("the", top_p=10**400), "top_p is int"),
    (lambda r: r["lm"].generate("the", temperature=1e300), "uniform"),
    (lambda r: r["lm"].generate("the", temperature=1e-300), "greedy"),
    (lambda r: r["lm"].predict("the"), "generate"),
    (lambda r: r["forecast"].predict({"OT": [1.0] * 60, " OT": [2.0] * 60, "x": [1.0] * 60}), "spaces are stripped"),
    (lambda r: r["forecast"].predict({"OT": [10**400] * 60, "x": [1.0] * 60}), "beyond the range"),
    (lambda r: r["forecast"].predict({"OT,x": [1.0] * 60, "x": [1.0] * 60}), "commas"),
    (lambda r: r["image"].predict(np.zeros((28, 28), dtype=complex)), "complex"),
])
def test_a_wrong_value_is_a_typed_error_naming_it(runs, call, words) -> None:
    with pytest.raises(LstmkitError) as caught:
        call(runs)
    assert words in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 600


def test_type_errors_are_also_typeerrors(runs) -> None:
    """Callers who catch TypeError keep working."""
    with pytest.raises(TypeError):
        runs["classify"].predict(None)


@pytest.mark.parametrize("data, words", [
    (42, "data"),
    ([(None, "pos")] * 4, "text"),
    ([("a film", None)] * 4, "label"),
    ([{"text": "a film", "lable": "pos"}] * 4, "'label'"),
    ([(["a", "film"], "pos")] * 4, "text"),
    ([("a film", "pos", "extra")] * 4, "row 1"),
    ([("a film", 10**400)] * 4, "beyond the range"),
])
def test_training_data_in_memory_is_checked_before_anything_is_written(tmp_path, data, words) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(LstmkitError) as caught:
        lstmkit.train("classify", data=data, run_dir=run_dir, epochs=1)
    assert words in str(caught.value), str(caught.value)
    assert not run_dir.exists()


def test_plain_word_lists_are_not_read_as_word_tag_pairs(tmp_path) -> None:
    with pytest.raises(ArgumentError, match="pair"):
        lstmkit.train("tag", data=[["to", "be", "or"]] * 4, run_dir=tmp_path / "run", epochs=1)
    with pytest.raises(ArgumentError, match="tab or line break"):
        lstmkit.train("tag", data=[[("a\tb", "X")]] * 4, run_dir=tmp_path / "run", epochs=1)
    assert not (tmp_path / "run").exists()


def test_unequal_forecast_columns_are_refused_not_cut(tmp_path) -> None:
    with pytest.raises(ArgumentError, match="different lengths"):
        lstmkit.train("forecast", data={"OT": [1.0] * 100, "x": [1.0] * 90}, run_dir=tmp_path / "run", epochs=1)


def test_lm_text_given_as_valid_is_text_not_a_file_name(tmp_path) -> None:
    text = "the quick brown fox jumps over the lazy dog.\n" * 30
    run = lstmkit.train("lm", data=text, valid="a short text\n" * 30, run_dir=tmp_path / "run", epochs=1,
                        hidden_size=8, embedding_dim=8, num_steps=8, batch_size=4)
    assert (tmp_path / "run" / "data" / "valid.txt").read_text() == "a short text\n" * 30
    assert run.history and "valid_ppl" in run.history[0]


def test_settings_is_public() -> None:
    assert lstmkit.settings("tag")["model.hidden_size"] > 0


# --- arbitrary values at every public signature ---------------------------------------------

ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**62, max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | st.binary(max_size=10)
    | st.just("\ud800") | st.just(""),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=3),
    max_leaves=8)


def _clean(call) -> None:
    """Returns, or raises an lstmkit error: anything else escaped the boundary."""
    try:
        call()
    except LstmkitError as err:
        assert str(err) and "\n" not in str(err).strip(), repr(err)


@settings(max_examples=int(60 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=ANYTHING, tokenizer=st.none() | ANYTHING)
def test_predict_of_text_models_takes_anything_cleanly(runs, texts, tokenizer) -> None:
    _clean(lambda: runs["classify"].predict(texts))
    _clean(lambda: runs["tag"].predict(texts, tokenizer=tokenizer))


@settings(max_examples=int(60 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=ANYTHING, length=ANYTHING, temperature=ANYTHING, top_k=ANYTHING, top_p=ANYTHING, seed=ANYTHING)
def test_generate_takes_anything_cleanly(runs, prefix, length, temperature, top_k, top_p, seed) -> None:
    if isinstance(length, int) and not isinstance(length, bool) and length > 50:
        length = 50                                           # valid lengths run; keep them short
    _clean(lambda: runs["lm"].generate(prefix, length, temperature, top_k, top_p, seed))


@settings(max_examples=int(40 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=ANYTHING, images=ANYTHING)
def test_forecast_and_image_predict_take_anything_cleanly(runs, data, images) -> None:
    _clean(lambda: runs["forecast"].predict(data))
    _clean(lambda: runs["image"].predict(images))


@settings(max_examples=int(40 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run_dir=ANYTHING, device=ANYTHING)
def test_load_takes_anything_cleanly(run_dir, device) -> None:
    _clean(lambda: lstmkit.load(run_dir, device))


@settings(max_examples=int(40 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(["classify", "tag", "forecast", "lm", "image"]) | ANYTHING, data=ANYTHING)
def test_train_takes_anything_cleanly_and_writes_nothing_on_refusal(tmp_path_factory, task, data) -> None:
    run_dir = tmp_path_factory.mktemp("fuzz") / "run"
    try:
        lstmkit.train(task, data=data, run_dir=run_dir, epochs=1, hidden_size=8)
    except LstmkitError as err:
        assert "\n" not in str(err).strip(), repr(err)
        assert not run_dir.exists(), f"a refused training left {sorted(p.name for p in run_dir.iterdir())}"


def test_fixture_expectations_are_readable() -> None:
    assert json.loads((FIXTURES / "expected.json").read_text())["classify"]


@pytest.mark.parametrize("settings, words", [
    ({"epochs": True}, "epochs must be an integer, got bool"),
    ({"epochs": 1e9}, "epochs must be an integer"),
    ({"lr": "0.01"}, "lr must be a number"),
    ({"hidden_size": 8.5}, "hidden_size must be an integer"),
])
def test_keyword_settings_are_checked_by_their_names(tmp_path, settings, words) -> None:
    """Found by a tester: a keyword setting of the wrong type was reported as a --set flag."""
    rows = [("a great film", "pos"), ("a dull film", "neg")] * 4
    with pytest.raises(ArgumentError) as caught:
        lstmkit.train("classify", data=rows, run_dir=tmp_path / "run", **settings)
    assert words in str(caught.value) and "--set" not in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_evaluate_takes_a_file_not_data_in_memory(tmp_path):
    """Found by testers: evaluate(None) and evaluate(rows) said 'data file ... not found'."""
    import lstmkit

    run = lstmkit.train("classify", [("a good film", "pos"), ("a bad film", "neg")] * 10, run_dir=tmp_path / "r",
                        epochs=1, hidden_size=8, embedding_dim=8)
    for bad, what in ((None, "must be a path"), ([("a good film", "pos")], "write data in memory to a file first"),
                      (b"x.csv", "got bytes")):
        with pytest.raises(lstmkit.boundary.ArgumentError, match=what):
            run.evaluate(bad)


def test_small_api_cases_found_by_testers(tmp_path):
    import numpy as np

    import lstmkit
    from lstmkit.errors import LstmkitError

    with pytest.raises(lstmkit.boundary.ArgumentError, match="valid is empty"):
        lstmkit.train("classify", [("a good film", "pos"), ("a bad film", "neg")] * 5, valid=[], run_dir=tmp_path / "v")
    with pytest.raises(LstmkitError, match="is a file, not a run directory"):
        lstmkit.load(Path(__file__))
    with pytest.raises(LstmkitError, match="a short text is read as a name"):
        lstmkit.train("lm", "hello there", run_dir=tmp_path / "t", epochs=1)
    image = lstmkit.load(Path(__file__).parent / "fixtures" / "runs_format2" / "image")
    rows = [[0.0] * 28 for _ in range(28)]
    assert len(image.predict(rows)) == 1                                 # 28 rows of 28: one image
    assert len(image.predict(np.zeros((3, 28, 28)))) == 3                # a stack: three
    with pytest.raises(lstmkit.boundary.ArgumentError, match="is bytes; give a file path or a 28x28 array"):
        image.predict([b"\x89PNG"])


def test_errors_about_data_in_memory_name_the_argument(tmp_path):
    """Found by a tester: train("forecast", columns, target="z") named the scratch train.csv."""
    import lstmkit
    from lstmkit.errors import DataError

    columns = {"a": [float(i) for i in range(120)], "b": [float(i % 7) for i in range(120)]}
    with pytest.raises(DataError, match=r"^data \(in memory\) has no column\(s\) 'z'") as info:
        lstmkit.train("forecast", columns, target="z", run_dir=tmp_path / "f", epochs=1)
    assert "train.csv" not in str(info.value) and not (tmp_path / "f").exists()


def test_an_array_is_shown_by_shape_not_by_its_many_line_repr():
    """Found by a tester: an ndarray given as texts put numpy's 30-line repr in the message."""
    import numpy as np

    from lstmkit import boundary

    with pytest.raises(boundary.ArgumentError) as err:
        boundary.texts("texts", np.zeros((100, 100)))
    assert "\n" not in str(err.value) and "ndarray of shape (100,)" in str(err.value), str(err.value)


def test_labels_mixing_booleans_and_numbers_are_warned_of(caplog):
    from lstmkit import boundary

    rows = boundary.labelled_rows("data", [("a", 1), ("b", False)])
    assert rows == [("a", "1"), ("b", "false")] and "mix boolean and number" in caplog.text


def test_ragged_rows_are_named_where_they_break():
    """Found by a tester: an image of 27 rows of 28 and one of 29 was refused without saying which row."""
    from lstmkit.boundary import ragged

    assert ragged("images[0]", [[0] * 28] * 27 + [[0] * 29]) == "images[0][27] has 29 items, images[0][0] has 28"
    assert ragged("x", [[1, 2], 3]) == "x[1] is int 3, where x[0] is a list: every row must be a list"
    assert ragged("x", [[[1], [2, 3]]]) == "x[0][1] has 2 items, x[0][0] has 1"
    assert ragged("x", [[1, 2], [3, 4]]) is None and ragged("x", "text") is None
