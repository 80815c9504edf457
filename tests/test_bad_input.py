"""Every bad input gets one clear line: a table of cases across all subcommands and damaged run
directories. Each case must end with exit status 2, exactly one ``lstmkit: error:`` line that
names the offending value (``expect``), no traceback, and no half-written run directory.

The table (:data:`CASES`) is also run by ``benchmarks/bench_reliability.py``, which counts the
verdicts into ``benchmarks/results/reliability.json``. Tiny runs of every task are trained once
per session (:func:`workspace`) and copied for the cases that damage them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lstmkit.cli import main

from workspace import TASKS, TRAIN_FLAGS, Workspace, build_workspace  # noqa: E402,F401 - shared with other tests


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("bad-input"))


# --- the cases -------------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    argv: list[str]                     # placeholders: {data:TASK} {run:TASK} {copy} {new} {tmp}
    expect: str                         # what the error line must contain (the offending value)
    setup: Callable[[Path], None] | None = None          # writes files into {tmp}
    damage: Callable[[Path], None] | None = None         # damages {copy}, a copy of {copy_of}'s run
    copy_of: str = ""


CASES: list[Case] = []


def case(id: str, argv: list[str], expect: str, setup=None, damage=None, copy_of: str = "") -> None:
    CASES.append(Case(id, argv, expect, setup, damage, copy_of))


# 1. config values given with --set, for every task (types, ranges, non-finite numbers, names)
SET_CASES = [
    ("model.hidden_size=abc", "'abc'"), ("model.hidden_size=16.5", "16.5"), ("model.hidden_size=0", "hidden_size"),
    ("model.hidden_size=-3", "-3"), ("model.hidden_size=1000000000", "1000000000"),
    ("model.num_layers=0", "num_layers"), ("model.num_layers=100000", "100000"),
    ("model.dropout=1.5", "1.5"), ("model.dropout=nan", "nan"), ("model.dropout=-0.1", "-0.1"),
    ("model.cell=transformer", "transformer"), ("model.backend=cuda", "'cuda'"),
    ("model.bidirectional=maybe", "maybe"),
    ("train.lr=inf", "inf"), ("train.lr=nan", "nan"), ("train.lr=-1", "-1"), ("train.lr=0", "train.lr"),
    ("train.lr=fast", "fast"), ("train.weight_decay=inf", "inf"), ("train.clip_norm=nan", "nan"),
    ("train.clip_norm=-1", "-1"), ("train.max_minutes=nan", "nan"), ("train.max_minutes=-5", "-5"),
    ("train.epochs=true", "true"), ("train.epochs=0", "train.epochs"), ("train.epochs=2.5", "2.5"),
    ("train.batch_size=0", "batch_size"), ("train.seed=abc", "abc"), ("train.device=tpu", "tpu"),
    ("train.device=meta", "meta"), ("train.device=mps", "mps"), ("train.device=5", "'5'"),
    ("train.optimizer=rmsprop", "rmsprop"), ("train.lr_schedule=exp", "exp"), ("train.patience=-1", "-1"),
    ("train.lr_decay=2", "lr_decay"), ("train.diverge_factor=nan", "nan"),
    ("data.encoding=nope", "nope"), ("data.valid_fraction=0.9", "0.9"), ("data.min_freq=0", "min_freq"),
    ("nosection.x=1", "nosection"), ("train.nofield=1", "nofield"), ("model.hidden_size", "model.hidden_size"),
]
for _task in TASKS:
    for _value, _expect in SET_CASES:
        case(f"set-{_task}-{_value}", ["train", _task, "--data", "{data:%s}" % _task, "--run-dir", "{new}",
                                        "--set", _value], _expect)

# values of another task's section are refused by name
for _task, _other in (("lm", "tag.crf=true"), ("classify", "lm.level=word"), ("tag", "classify.pooling=max"),
                      ("forecast", "image.mode=pixels"), ("image", "forecast.horizon=3")):
    case(f"unused-{_task}-{_other}", ["train", _task, "--data", "{data:%s}" % _task, "--run-dir", "{new}",
                                      "--set", _other], _other.split("=")[0])


# 2. TOML config files
def _toml(text: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / "c.toml").write_text(text, encoding="utf-8")


for _id, _text, _expect in [
    ("toml-hidden-str", '[model]\nhidden_size = "abc"\n', "abc"),
    ("toml-hidden-float", "[model]\nhidden_size = 16.5\n", "16.5"),
    ("toml-path-list", '[data]\npath = ["a", "b"]\n', "data.path"),
    ("toml-device-int", "[train]\ndevice = 5\n", "train.device"),
    ("toml-epochs-bool", "[train]\nepochs = true\n", "train.epochs"),
    ("toml-syntax", "[model\nhidden_size = 1\n", "c.toml"),
    ("toml-unknown-table", "[optimizer]\nlr = 1\n", "optimizer"),
    ("toml-not-table", "model = 3\n", "model"),
    ("toml-lr-inf", "[train]\nlr = inf\n", "inf"),
    ("toml-utf16", None, "c.toml"),
]:
    setup = _toml(_text) if _text is not None else (
        lambda tmp: (tmp / "c.toml").write_bytes("[model]\nhidden_size = 8\n".encode("utf-16")))
    case(_id, ["train", "lm", "--data", "{data:lm}", "--run-dir", "{new}", "--config", "{tmp}/c.toml"], _expect,
         setup=setup)
case("toml-missing", ["train", "lm", "--run-dir", "{new}", "--config", "{tmp}/none.toml"], "none.toml")
case("toml-directory", ["train", "lm", "--run-dir", "{new}", "--config", "{tmp}"], "{tmp}")


# 3. training data files
def _file(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_bytes(content)


for _task, _name, _content, _expect in [
    ("lm", "empty.txt", b"", "empty"),
    ("lm", "bad.txt", b"\xff\xfe\x00bad text", "utf-8"),
    ("lm", "one.txt", b"aaaaaaaaaaaaaaaaaaaa", "one.txt"),
    ("classify", "empty.csv", b"", "empty.csv"),
    ("classify", "header.csv", b"text,label\n", "header.csv"),
    ("classify", "nolabel.csv", b"text,stars\ngood,1\nbad,0\n", "label"),
    ("classify", "onelabel.csv", b"text,label\n" + b"a film,pos\n" * 30, "pos"),
    ("classify", "emptylabel.csv", b"text,label\ngood film,pos\nbad film,\n" + b"ok film,neg\n" * 30,
     "emptylabel.csv:3"),
    ("classify", "quote.csv", b'text,label\n"an unclosed quote,pos\n' + b"x,neg\n" * 3, "quote.csv"),
    ("classify", "bad.jsonl", b'{"text": "a", "label": "x"}\n{broken\n', "bad.jsonl:2"),
    ("classify", "binary.csv", b"\x00\x01\x02\xff\xfe", "binary.csv"),
    ("tag", "empty.txt", b"", "empty"),
    ("tag", "bad.conllu", b"1\tok\t_\tADJ\t_\t_\t_\t_\t_\t_\n2\tbroken line\n", "bad.conllu:2"),
    ("tag", "three.tsv", b"the\tDET\textra\n\n", "three.tsv"),
    ("tag", "notags.txt", b"just words without tags\n", "notags.txt"),
    ("forecast", "empty.csv", b"", "empty.csv"),
    ("forecast", "text.csv", b"date,OT\n2020-01-01,1\n2020-01-02,oops\n", "oops"),
    ("forecast", "short.csv", b"date,OT,x\n2020-01-01,1,2\n2020-01-02,2,3\n", "has 2 rows"),
    ("forecast", "nan.csv", b"date,OT,x\n" + b"".join(b"2020-01-01,nan,1\n" for _ in range(50)), "nan"),
    ("forecast", "notarget.csv", b"date,y\n" + b"".join(b"2020-01-01,1\n" for _ in range(50)), "OT"),
]:
    extra = TRAIN_FLAGS[_task] if _task == "forecast" else []
    case(f"data-{_task}-{_name}", ["train", _task, "--data", "{tmp}/" + _name, "--run-dir", "{new}", *extra],
         _expect, setup=_file(_name, _content))
for _task in TASKS:
    case(f"data-{_task}-missing", ["train", _task, "--data", "{tmp}/missing.file", "--run-dir", "{new}"], "missing.file")
    case(f"data-{_task}-directory", ["train", _task, "--data", "{tmp}", "--run-dir", "{new}"], "{tmp}")
case("data-imdb-misspelled", ["train", "classify", "--data", "imbd", "--run-dir", "{new}"], "imbd")
case("data-lm-misspelled", ["train", "lm", "--data", "tinyshakespear", "--run-dir", "{new}"], "tinyshakespear")
case("data-tag-misspelled", ["train", "tag", "--data", "ud-en-ewtt", "--run-dir", "{new}"], "did you mean 'ud-en-ewt'")
case("data-forecast-misspelled", ["train", "forecast", "--data", "ett-h2x", "--run-dir", "{new}"], "ett-h2x")


def _mnist_with_label(tmp: Path) -> None:
    import torch

    from conftest import fake_mnist, write_idx

    folder = fake_mnist(tmp / "m42", n_train=20, n_test=5)
    write_idx(folder / "train-labels-idx1-ubyte.gz", torch.full((20,), 42), 2049)


def _mnist_truncated(tmp: Path) -> None:
    from conftest import fake_mnist

    folder = fake_mnist(tmp / "mtrunc", n_train=20, n_test=5)
    import gzip

    raw = gzip.decompress((folder / "train-images-idx3-ubyte.gz").read_bytes())
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:1000]))


case("data-image-label-42", ["train", "image", "--data", "{tmp}/m42", "--run-dir", "{new}", "--set",
                            "image.valid_size=5"], "42",
     setup=_mnist_with_label)
case("data-image-truncated", ["train", "image", "--data", "{tmp}/mtrunc", "--run-dir", "{new}"], "train-images",
     setup=_mnist_truncated)

# vectors
for _name, _content, _expect in [
    ("nanvec.txt", b"the nan nan nan nan nan nan nan nan\nfilm nan nan nan nan nan nan nan nan\n", "nan"),
    ("ragged.txt", b"the 0.1 0.2 0.3\nfilm 0.1 0.2\n", "ragged.txt:2"),
    ("empty.vec", b"", "empty.vec"),
]:
    case(f"vectors-{_name}", ["train", "classify", "--data", "{data:classify}", "--run-dir", "{new}",
                              "--vectors", "{tmp}/" + _name, "--embedding-dim", "8"], _expect,
         setup=_file(_name, _content))
case("vectors-missing", ["train", "classify", "--data", "{data:classify}", "--run-dir", "{new}",
                         "--vectors", "{tmp}/none.txt"], "none.txt")
case("freeze-without-vectors", ["train", "classify", "--data", "{data:classify}", "--run-dir", "{new}", "--freeze"],
     "--vectors")

# flags of the wrong task
case("stateful-on-csv", ["train", "forecast", "--data", "{data:forecast}", "--run-dir", "{new}", "--stateful",
                         "--target", "OT"], "stateful")

# 4. run directories at training time
case("run-dir-is-file", ["train", "lm", "--data", "{data:lm}", "--run-dir", "{tmp}/f"], "{tmp}/f",
     setup=_file("f", b"x"))
case("run-dir-proc", ["train", "lm", "--data", "{data:lm}", "--run-dir", "/proc/lstmkit-run", "--epochs", "1"],
     "/proc/lstmkit-run")
for _task in TASKS:
    case(f"run-dir-exists-{_task}", ["train", _task, "--data", "{data:%s}" % _task, "--run-dir", "{run:%s}" % _task],
         "already holds a run")
    case(f"resume-no-run-dir-{_task}", ["train", _task, "--resume"], "--run-dir")
    case(f"resume-not-a-run-{_task}", ["train", _task, "--resume", "--run-dir", "{tmp}"], "{tmp}")
def _locked(tmp: Path) -> None:
    (tmp / "locked").mkdir()
    (tmp / "locked" / ".lock").write_text(str(os.getpid()))     # a live process holds it


for _task in TASKS:
    case(f"run-dir-locked-{_task}", ["train", _task, "--data", "{data:%s}" % _task, "--run-dir", "{tmp}/locked"],
         "being trained by another process", setup=_locked)
case("overwrite-locked-run", ["train", "lm", "--data", "{data:lm}", "--run-dir", "{copy}", "--overwrite"],
     "being trained by another process", copy_of="lm",
     damage=lambda r: (r / ".lock").write_text(str(os.getpid())))
case("resume-other-task", ["train", "tag", "--resume", "--run-dir", "{run:lm}"], "lm")
case("resume-other-settings", ["train", "lm", "--resume", "--run-dir", "{run:lm}", "--set", "train.lr=0.1"],
     "train.lr differs")

# 5. eval / predict / generate
for _task in TASKS:
    case(f"device-tpu-{_task}", ["eval", "{run:%s}" % _task, "--device", "tpu"], "tpu")
    case(f"device-meta-{_task}", ["eval", "{run:%s}" % _task, "--device", "meta"], "meta")
    case(f"device-mps-{_task}", ["eval", "{run:%s}" % _task, "--device", "mps"], "mps")
    case(f"eval-not-a-run-{_task}", ["eval", "{tmp}"], "not a run directory")
    case(f"predict-missing-run-{_task}", ["predict", "{tmp}/nothing", "x"], "does not exist")
case("eval-classify-no-data", ["eval", "{run:classify}"], "--data")
case("eval-lm-with-data", ["eval", "{run:lm}", "--data", "{data:lm}"], "--data")
case("eval-classify-missing-data", ["eval", "{run:classify}", "--data", "{tmp}/none.csv"], "none.csv")
case("eval-classify-unknown-encoding", ["eval", "{run:classify}", "--data", "{data:classify}", "--encoding", "nope"],
     "nope")
case("eval-classify-unseen-label", ["eval", "{run:classify}", "--data", "{tmp}/u.csv"], "maybe",
     setup=_file("u.csv", b"text,label\nthe film was great,maybe\n"))
case("eval-tag-jieba-english", ["eval", "{run:forecast}", "--jieba"], "--jieba")
case("predict-lm", ["predict", "{run:lm}", "some text"], "generate")
case("predict-classify-nothing", ["predict", "{run:classify}"], "nothing to predict")
case("predict-classify-invert", ["predict", "{run:classify}", "--invert", "a film"], "--invert")
case("predict-classify-tokenizer", ["predict", "{run:classify}", "--tokenizer", "jieba", "a film"], "--tokenizer")
case("predict-classify-data", ["predict", "{run:classify}", "--data", "{data:forecast}", "a film"], "--data")
case("predict-classify-file-missing", ["predict", "{run:classify}", "--file", "{tmp}/none.txt"], "none.txt")
case("predict-classify-file-dir", ["predict", "{run:classify}", "--file", "{tmp}"], "{tmp}")
case("predict-classify-file-binary", ["predict", "{run:classify}", "--file", "{tmp}/b.txt"], "b.txt",
     setup=_file("b.txt", b"\xff\xfe\xfa\x00"))
case("predict-tag-blank", ["predict", "{run:tag}", "   "], "no words to tag")
case("predict-tag-invert", ["predict", "{run:tag}", "--invert", "the dog"], "--invert")
case("predict-forecast-texts", ["predict", "{run:forecast}", "some text", "--data", "{data:forecast}"], "texts")
case("predict-forecast-no-data", ["predict", "{run:forecast}"], "--data")
case("predict-forecast-output-missing-dir", ["predict", "{run:forecast}", "--data", "{data:forecast}",
                                             "--output", "{tmp}/no/such/f.csv"], "{tmp}/no/such")
case("predict-forecast-output-dir", ["predict", "{run:forecast}", "--data", "{data:forecast}", "--output", "{tmp}"],
     "{tmp}")
case("predict-forecast-short", ["predict", "{run:forecast}", "--data", "{tmp}/s.csv"], "s.csv",
     setup=_file("s.csv", b"date,OT,x\n2020-01-01,1,2\n"))
case("predict-forecast-missing-column", ["predict", "{run:forecast}", "--data", "{tmp}/c.csv"], "OT",
     setup=_file("c.csv", b"date,x\n" + b"".join(b"2020-01-01,1\n" for _ in range(20))))
case("predict-image-nothing", ["predict", "{run:image}"], "image files")
case("predict-image-tokenizer", ["predict", "{run:image}", "x.png", "--tokenizer", "jieba"], "--tokenizer")


def _npy(name: str, make) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        import numpy as np

        np.save(tmp / name, make(np))
    return setup


for _name, _make, _expect in [
    ("wrong.npy", lambda np: np.zeros((32, 32)), "32x32"),
    ("three.npy", lambda np: np.zeros((2, 28, 28)), "(2, 28, 28)"),
    ("nan.npy", lambda np: np.full((28, 28), np.nan), "nan.npy"),
    ("huge.npy", lambda np: np.full((28, 28), 1e6), "1e+06"),
    ("str.npy", lambda np: np.array([["a"] * 28] * 28), "str.npy"),
]:
    case(f"predict-image-{_name}", ["predict", "{run:image}", "{tmp}/" + _name], _expect, setup=_npy(_name, _make))
case("predict-image-text-file", ["predict", "{run:image}", "{tmp}/t.png"], "t.png", setup=_file("t.png", b"not a png"))
case("predict-image-missing", ["predict", "{run:image}", "{tmp}/none.png"], "none.png")
for _opt, _expect in [(["--temperature", "0"], "temperature"), (["--temperature", "1e-40"], "1e-40"),
                      (["--temperature", "-1"], "-1"), (["--temperature", "nan"], "nan"),
                      (["--top-k", "-1"], "-1"), (["--top-p", "0"], "--top-p"), (["--top-p", "1.5"], "1.5"),
                      (["--length", "0"], "length"), (["--length", "-5"], "-5"),
                      (["--length", "1000000000"], "1000000000")]:
    case(f"generate-{'-'.join(_opt)}", ["generate", "{run:lm}", "--prefix", "the", *_opt], _expect)
case("generate-unknown-chars", ["generate", "{run:lm}", "--prefix", "the 42"], "42")
case("generate-empty-prefix", ["generate", "{run:lm}", "--prefix", ""], "prefix")
case("generate-on-classifier", ["generate", "{run:classify}", "--prefix", "a"], "language model")
case("generate-on-image", ["generate", "{run:image}", "--prefix", "a"], "language model")


# 6. damaged run directories: every task's run, damaged each way, then loaded by predict/eval
def _weights(run: Path) -> Path:
    return run / "model.safetensors"


def _truncate(run: Path) -> None:
    raw = _weights(run).read_bytes()
    _weights(run).write_bytes(raw[: len(raw) // 2])


def _tiny(run: Path) -> None:
    _weights(run).write_bytes(b"\x01\x02")


def _header_flip(run: Path) -> None:
    raw = bytearray(_weights(run).read_bytes())
    raw[10] ^= 0xFF
    _weights(run).write_bytes(bytes(raw))


def _header_huge(run: Path) -> None:
    raw = _weights(run).read_bytes()
    _weights(run).write_bytes(struct.pack("<Q", 2**62) + raw[8:])


def _header_edit(run: Path, edit) -> None:
    raw = _weights(run).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    _weights(run).write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])


def _shapes_1000x(run: Path) -> None:
    def edit(header):
        for name, info in header.items():
            if name != "__metadata__":
                info["shape"] = [d * 1000 for d in info["shape"]]
    _header_edit(run, edit)


def _rename_tensor(run: Path) -> None:
    def edit(header):
        name = next(k for k in header if k != "__metadata__")
        header["renamed." + name] = header.pop(name)
    _header_edit(run, edit)


def _dtype_f16(run: Path) -> None:
    def edit(header):
        for name, info in header.items():
            if name != "__metadata__" and info["dtype"] == "F32":
                info["dtype"] = "F16"
                info["shape"] = info["shape"] + [2] if info["shape"] else [2]
                break
    _header_edit(run, edit)


def _data_bytes(run: Path, pattern: bytes) -> None:
    raw = bytearray(_weights(run).read_bytes())
    n = struct.unpack("<Q", raw[:8])[0]
    start = 8 + n
    raw[start : start + len(pattern)] = pattern
    _weights(run).write_bytes(bytes(raw))


def _symlink_passwd(run: Path) -> None:
    _weights(run).unlink()
    _weights(run).symlink_to("/etc/passwd")


def _pickle(run: Path) -> None:
    import pickle

    _weights(run).write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))


def _config_edit(run: Path, edit) -> None:
    cfg = json.loads((run / "config.json").read_text())
    edit(cfg)
    (run / "config.json").write_text(json.dumps(cfg))


DAMAGES: list[tuple[str, Callable[[Path], None], str]] = [
    ("weights-truncated", _truncate, "model.safetensors"),
    ("weights-two-bytes", _tiny, "truncated"),
    ("weights-header-flipped", _header_flip, "model.safetensors"),
    ("weights-header-2^62", _header_huge, "4,611,686,018,427,387,904"),
    ("weights-shapes-1000x", _shapes_1000x, "model.safetensors"),
    ("weights-renamed-tensor", _rename_tensor, "renamed."),
    ("weights-dtype", _dtype_f16, "F16"),
    ("weights-nan", lambda r: _data_bytes(r, b"\x00\x00\xc0\x7f" * 4), "model.safetensors"),
    ("weights-bytes-flipped", lambda r: _data_bytes(r, b"\x12\x34\x56\x78"), "checksum"),
    ("weights-symlink-passwd", _symlink_passwd, "/etc/passwd"),
    ("weights-pickle", _pickle, "model.safetensors"),
    ("weights-missing", lambda r: _weights(r).unlink(), "model.safetensors"),
    ("config-missing", lambda r: (r / "config.json").unlink(), "config.json"),
    ("config-not-json", lambda r: (r / "config.json").write_text("{oops"), "config.json"),
    ("config-format-99", lambda r: _config_edit(r, lambda c: c.update(format_version=99)), "99"),
    ("config-task-unknown", lambda r: _config_edit(r, lambda c: c.update(task="translate")), "translate"),
    ("config-hidden-1e9", lambda r: _config_edit(r, lambda c: c["model"].update(hidden_size=10**9)), "1000000000"),
    ("config-hidden-12000", lambda r: _config_edit(r, lambda c: c["model"].update(hidden_size=12000)), "12000"),
    ("config-hidden-str", lambda r: _config_edit(r, lambda c: c["model"].update(hidden_size="abc")), "abc"),
    ("config-list", lambda r: (r / "config.json").write_text("[1, 2]"), "config.json"),
]
def reseal(run: Path) -> None:
    """Rewrite the run's manifest to the files as they are now: a damage the manifest would
    catch first, made so that the checks behind it are tested too."""
    from lstmkit.training.manifest import MANIFEST, sha256_file

    path = run / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"] = {n: [sha256_file(run / n)] for n in manifest["files"] if (run / n).is_file()}
    path.write_text(json.dumps(manifest))


def _resealed(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda run: (damage(run), reseal(run))


for _task in TASKS:
    _cmd = {"lm": ["generate", "{copy}", "--prefix", "the", "--length", "5"],
            "classify": ["predict", "{copy}", "a film"], "tag": ["predict", "{copy}", "the dog"],
            "forecast": ["predict", "{copy}", "--data", "{data:forecast}", "--output", "{tmp}/f.csv"],
            "image": ["eval", "{copy}", "--data", "{data:image}"]}[_task]
    for _id, _damage, _expect in DAMAGES:
        case(f"damaged-{_task}-{_id}", _cmd, _expect, damage=_resealed(_damage), copy_of=_task)

# the task's own run files
case("damaged-vocab-not-json", ["predict", "{copy}", "a film"], "vocab.json", copy_of="classify",
     damage=_resealed(lambda r: (r / "vocab.json").write_text("{oops")))
case("damaged-vocab-dupes", ["predict", "{copy}", "a film"], "vocab.json", copy_of="classify",
     damage=_resealed(lambda r: (r / "vocab.json").write_text('{"tokens": ["a", "a"], "specials": []}')))
case("damaged-vocab-numbers", ["generate", "{copy}", "--prefix", "t"], "vocab.json", copy_of="lm",
     damage=_resealed(lambda r: (r / "vocab.json").write_text('{"tokens": [1, 2, 3]}')))
case("damaged-labels", ["predict", "{copy}", "a film"], "labels.json", copy_of="classify",
     damage=_resealed(lambda r: (r / "labels.json").write_text('["pos"]')))
case("damaged-labels-missing", ["predict", "{copy}", "a film"], "labels", copy_of="classify",
     damage=_resealed(lambda r: (r / "labels.json").unlink()))
case("damaged-scaler", ["predict", "{copy}", "--data", "{data:forecast}"], "scaler.json", copy_of="forecast",
     damage=_resealed(lambda r: (r / "scaler.json").write_text('{"inputs": ["OT"]}')))
case("damaged-scaler-zero-std", ["predict", "{copy}", "--data", "{data:forecast}"], "scaler.json",
     copy_of="forecast", damage=_resealed(lambda r: _config_edit_file(r / "scaler.json", lambda m: m.update(
         std=[0.0] * len(m["std"])))))
case("damaged-tag-vocab-missing", ["predict", "{copy}", "the dog"], "vocab", copy_of="tag",
     damage=_resealed(lambda r: next(r.glob("*vocab*.json")).unlink()))


# 7. a run's files tied together by its manifest: swapped, reordered or copied-in files (each
# passed every check of the file alone) are refused by name
def _reorder_json_list(path: Path, key: str | None = None) -> None:
    value = json.loads(path.read_text())
    items = value[key] if key else value
    items.reverse()
    path.write_text(json.dumps(value))


def _weights_of_another_run(run: Path) -> None:
    """Same task, same sizes, another seed: a file that fits the config exactly."""
    other = run.parent / "other-run"
    shutil.copytree(run, other)
    from safetensors.torch import load_file, save_file

    tensors = {k: v + 0.01 for k, v in load_file(str(other / "model.safetensors")).items()}
    save_file(tensors, str(run / "model.safetensors"))


_LOADS = {"lm": ["generate", "{copy}", "--prefix", "the", "--length", "5"],
          "classify": ["predict", "{copy}", "a film"], "tag": ["predict", "{copy}", "the dog"],
          "forecast": ["predict", "{copy}", "--data", "{data:forecast}", "--output", "{tmp}/f.csv"],
          "image": ["eval", "{copy}", "--data", "{data:image}"]}
for _task in TASKS:
    case(f"manifest-{_task}-weights-from-another-run", _LOADS[_task], "model.safetensors",
         damage=_weights_of_another_run, copy_of=_task)
    case(f"manifest-{_task}-config-edited", _LOADS[_task], "config.json", copy_of=_task,
         damage=lambda r: _config_edit(r, lambda c: c["train"].update(seed=c["train"]["seed"] + 1)))
    case(f"manifest-{_task}-manifest-removed", _LOADS[_task], "manifest.json", copy_of=_task,
         damage=lambda r: (r / "manifest.json").unlink())
    case(f"manifest-{_task}-manifest-not-json", _LOADS[_task], "manifest.json", copy_of=_task,
         damage=lambda r: (r / "manifest.json").write_text("{oops"))
case("manifest-labels-reordered", _LOADS["classify"], "labels.json", copy_of="classify",
     damage=lambda r: _reorder_json_list(r / "labels.json"))
case("manifest-vocab-reordered", _LOADS["classify"], "vocab.json", copy_of="classify",
     damage=lambda r: _reorder_json_list(r / "vocab.json", "tokens"))
case("manifest-lm-vocab-reordered", _LOADS["lm"], "vocab.json", copy_of="lm",
     damage=lambda r: _reorder_json_list(r / "vocab.json", "tokens"))
case("manifest-tag-tags-reordered", _LOADS["tag"], "tags.json", copy_of="tag",
     damage=lambda r: _reorder_json_list(r / "tags.json", "tokens"))
case("manifest-scaler-edited", _LOADS["forecast"], "scaler.json", copy_of="forecast",
     damage=lambda r: _config_edit_file(r / "scaler.json", lambda m: m.update(mean=[v + 1 for v in m["mean"]])))
case("manifest-file-outside-run", _LOADS["classify"], "outside", copy_of="classify",
     damage=lambda r: _config_edit_file(r / "manifest.json", lambda m: m["files"].update({"../x": ["0"]})))


def _config_edit_file(path: Path, edit) -> None:
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


# --- running a case --------------------------------------------------------------------------

@dataclass
class Outcome:
    code: int
    out: str
    err: str
    command: list[str]
    new_dir: Path


def fill(text: str, ws: Workspace, tmp: Path, copy: Path) -> str:
    for task in TASKS:
        text = text.replace("{data:%s}" % task, str(ws.data[task])).replace("{run:%s}" % task, str(ws.runs[task]))
    return text.replace("{copy}", str(copy)).replace("{new}", str(tmp / "new-run")).replace("{tmp}", str(tmp))


def run_case(c: Case, ws: Workspace, tmp: Path) -> Outcome:
    """Prepare and run one case in ``tmp``; returns what the command did."""
    copy = tmp / "run-copy"
    if c.setup is not None:
        c.setup(tmp)
    if c.copy_of:
        shutil.copytree(ws.runs[c.copy_of], copy, symlinks=True)
        if c.damage is not None:
            c.damage(copy)
    argv = [fill(a, ws, tmp, copy) for a in c.argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:                           # argparse's own errors
            code = stop.code if isinstance(stop.code, int) else 2
        except BaseException as exc:                         # noqa: BLE001 - a traceback is a verdict
            import traceback

            code = -1
            err.write("Traceback (most recent call last):\n" + "".join(traceback.format_exception(exc)))
    return Outcome(code, out.getvalue(), err.getvalue(), argv, tmp / "new-run")


def verdict(c: Case, o: Outcome, ws: Workspace, tmp: Path) -> str:
    """clean | unclear (exit 2, but the message misses the value) | traceback | silent (exit 0)
    | half-written (an error that left a run directory behind)."""
    if "Traceback" in o.err or o.code not in (0, 2):
        return "traceback"
    if o.code == 0:
        return "silent"
    if o.new_dir.exists() and any(o.new_dir.iterdir()):
        return "half-written"
    lines = [line for line in o.err.splitlines() if line.startswith("lstmkit: error: ")]
    expect = fill(c.expect, ws, tmp, tmp / "run-copy")
    if len(lines) != 1 or expect.lower() not in lines[0].lower():
        return "unclear"
    return "clean"


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_clear_line(c: Case, workspace: Workspace, tmp_path: Path) -> None:
    outcome = run_case(c, workspace, tmp_path)
    result = verdict(c, outcome, workspace, tmp_path)
    assert result == "clean", f"{result}: {' '.join(outcome.command)}\nexit {outcome.code}\n{outcome.err[-2000:]}"


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 200 and len({c.id for c in CASES}) == len(CASES)


def test_trained_runs_are_untouched_by_the_cases(workspace: Workspace) -> None:
    for task, run in workspace.runs.items():
        assert (run / "model.safetensors").is_file(), task
        mode = os.stat(run / "model.safetensors").st_mode & 0o777
        assert mode == os.stat(run / "config.json").st_mode & 0o777      # one file mode for the whole run


# --- valid but odd input: read right, with a warning where the result is a guess ------------

def test_odd_tables_are_read_right(tmp_path: Path) -> None:
    from lstmkit.data.datasets.table import read_table

    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftext,label\na good film,1\na bad film,1.0\nmeh,0\n".encode("utf-8"))
    rows = read_table(bom)
    assert [r.label for r in rows] == ["1", "1", "0"]              # 1 and 1.0 are one class; no BOM in the header
    semicolon = tmp_path / "semi.csv"
    semicolon.write_text("text;label\ngood, really;pos\nbad;neg\n")
    assert [(r.text, r.label) for r in read_table(semicolon)] == [("good, really", "pos"), ("bad", "neg")]
    big = tmp_path / "big.csv"
    big.write_text("text,label\n" + "word " * 40_000 + ",pos\nok,neg\n")
    assert len(read_table(big)[0].text) == 200_000                 # over csv's default field limit of 131,072


def test_a_byte_order_mark_is_not_text(tmp_path: Path) -> None:
    from lstmkit.data.text import read_text

    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffthe time machine".encode("utf-8"))
    assert read_text(path) == "the time machine"


def test_long_lines_are_tagged_in_windows_that_agree_with_one_pass(workspace: Workspace) -> None:
    from lstmkit.tasks.tag import model as tag

    model, vocabs, _ = tag.load_tagger(workspace.runs["tag"])
    words = ("the cat runs a dog sees the bird " * 120).split()          # 960 words: 4 windows
    long = tag.tag_texts(model, vocabs, [" ".join(words)], "whitespace")[0]
    assert [w for w, _ in long] == words
    one_pass = [vocabs.tags.itos[i] for i in model.predict(tag.encode_batch(
        [tag.TaggedSentence(tuple(words), ("X",) * len(words))], vocabs))[0]]
    agree = sum(a == b for (_, a), b in zip(long, one_pass)) / len(words)
    assert agree > 0.97, agree


def test_all_unknown_words_get_a_warning(workspace: Workspace, caplog) -> None:
    import lstmkit

    with caplog.at_level("WARNING"):
        lstmkit.load(workspace.runs["classify"]).predict(["zzz qqq xxx"])
    assert "has no word the model knows" in caplog.text


def test_a_run_directory_that_cannot_be_written_is_named(workspace: Workspace, tmp_path: Path, monkeypatch,
                                                         capsys) -> None:
    """Root ignores file modes, so the write failure is simulated where eval.json is written."""
    run = tmp_path / "run"
    shutil.copytree(workspace.runs["forecast"], run)
    from lstmkit.training import checkpoint

    real = checkpoint.write_file

    def refuse(path, *args, **kwargs):
        if Path(path).name == "eval.json":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "write_file", refuse)
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "eval.json" in err and "writable" in err, err


def test_a_stale_lock_does_not_block_overwrite(workspace: Workspace, tmp_path: Path, capsys) -> None:
    """A lock left by a process killed with -9 is cleared, for --overwrite as for training."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "run"
    shutil.copytree(workspace.runs["lm"], run)
    (run / ".lock").write_text(str(dead.pid))
    argv = ["train", "lm", "--data", str(workspace.data["lm"]), "--run-dir", str(run), "--overwrite", "--epochs", "1",
            "-q", "--no-progress", "--set", "model.hidden_size=8", *TRAIN_FLAGS["lm"]]
    assert main(argv) == 0, capsys.readouterr().err
    assert not (run / ".lock").exists() and (run / "model.safetensors").is_file()
