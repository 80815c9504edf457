"""The one way lstmkit writes a file (lstmkit.files): atomic under errors, a full disk and
kill -9, and the rule for which output paths may be written."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstmkit.files import OutputError, TMP_MARK, check_output, write_file, writing


def _strays(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TMP_MARK in p.name)


def test_write_replaces_whole_and_leaves_no_temporary(tmp_path) -> None:
    target = tmp_path / "out.txt"
    write_file(target, "old")
    write_file(target, b"new")
    write_file(target, lambda f: f.write(b"newer"))
    assert target.read_text() == "newer" and _strays(tmp_path) == []
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_error_while_writing_keeps_the_old_file(tmp_path) -> None:
    target = tmp_path / "out.onnx"
    write_file(target, "old")

    def fail(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        write_file(target, fail)
    with pytest.raises(RuntimeError):
        with writing(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("the exporter failed")
    assert target.read_text() == "old" and _strays(tmp_path) == []


def test_a_symlink_target_is_replaced_never_the_file_it_points_to(tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "link").symlink_to(victim)
    write_file(tmp_path / "link", "new")
    assert victim.read_text() == "precious" and (tmp_path / "link").read_text() == "new"


@pytest.fixture()
def small_disk(tmp_path):
    """A 1 MiB tmpfs where one can be mounted (root on Linux), else skip."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()[:80]}); "
                    "test_an_error_while_writing_keeps_the_old_file simulates ENOSPC instead")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_keeps_the_old_export_whole(small_disk) -> None:
    target = small_disk / "model.onnx"
    write_file(target, b"v" * 300_000)
    with pytest.raises(OSError) as caught:
        write_file(target, b"w" * 900_000)                  # old + new do not fit in 1 MiB
    assert caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"v" * 300_000 and _strays(small_disk) == []
    with pytest.raises(OSError):
        with writing(target) as tmp:
            tmp.write_bytes(b"w" * 900_000)
    assert target.read_bytes() == b"v" * 300_000 and _strays(small_disk) == []


KILLED_WRITER = """
import sys, time
from lstmkit.files import write_file, writing
target, how = sys.argv[1], sys.argv[2]
for i in range(10**6):
    data = (b"%d|" % i) * 200_000
    if how == "bytes":
        write_file(target, data)
    else:
        with writing(target) as tmp:
            open(tmp, "wb").write(data)
"""


@pytest.mark.parametrize("how", ["bytes", "path"])
def test_kill_9_while_writing_leaves_an_old_or_new_file_never_a_partial_one(tmp_path, how) -> None:
    import random

    target = tmp_path / "export.onnx"
    rng = random.Random(how)
    for trial in range(6):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target), how])
        time.sleep(rng.uniform(0.3, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        pieces = data.split(b"|")[:-1]
        assert pieces and len(set(pieces)) == 1 and len(pieces) == 200_000, f"trial {trial}: a partial file"
    write_file(tmp_path / "other.txt", "x")                 # the next write sweeps what the kills left
    assert _strays(tmp_path) == []


def test_outputs_that_would_damage_a_file_are_refused(tmp_path) -> None:
    own, source, existing = tmp_path / "config.json", tmp_path / "mine.csv", tmp_path / "victim.onnx"
    for path in (own, source, existing):
        path.write_text("keep")
    with pytest.raises(OutputError, match="run's own file config.json"):
        check_output(own, protected=[own])
    with pytest.raises(OutputError, match="input of this command"):
        check_output(source, inputs=[source])
    with pytest.raises(OutputError, match="--force"):
        check_output(existing)
    (tmp_path / "alias").symlink_to(own)
    with pytest.raises(OutputError, match="own file"):
        check_output(tmp_path / "alias", protected=[own])
    with pytest.raises(OutputError, match="directory"):
        check_output(tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "nowhere" / "x.onnx")
    assert check_output(existing, force=True) == existing
    assert check_output(tmp_path / "new.onnx") == tmp_path / "new.onnx"
    with pytest.raises(OutputError, match="not a regular file"):
        check_output("/dev/null", force=True)
    with pytest.raises(OutputError, match="'-' would be a file named '-', not the standard output"):
        check_output("-", force=True)                        # found by a tester: export --output - wrote "-"


def test_the_temporary_has_no_name_while_it_is_written(tmp_path) -> None:
    """Found by a tester: os.link() of /proc/self/fd/N is link(), not linkat(AT_SYMLINK_FOLLOW),
    so O_TMPFILE always failed with EXDEV and every write fell back to a named temporary (and
    ran its writer twice). Where O_TMPFILE works, nothing named appears until the file is whole."""
    if not hasattr(os, "O_TMPFILE"):
        pytest.skip("no O_TMPFILE on this platform")
    seen: list[list[str]] = []

    def content(f) -> None:
        seen.append(sorted(os.listdir(tmp_path)))
        f.write(b"whole")

    write_file(tmp_path / "out.bin", content)
    assert (tmp_path / "out.bin").read_bytes() == b"whole"
    assert seen == [[]]                                   # called once, with no temporary in the folder


def test_force_never_replaces_another_runs_file(tmp_path) -> None:
    """Found by a tester: `predict RUN_A --output RUN_B/model.safetensors --force` replaced run B's
    weights with a CSV; any lstmkit run's own files are protected, --force or not."""
    import shutil

    from lstmkit.files import OutputError
    from lstmkit.training.rundir import check_output

    run = tmp_path / "other"
    shutil.copytree(Path(__file__).parent / "fixtures" / "runs_format2" / "classify", run)
    for name in ("model.safetensors", "vocab.json", "config.json"):
        with pytest.raises(OutputError, match="lstmkit run"):
            check_output(run / name, force=True)
    (tmp_path / "link.csv").symlink_to(run / "model.safetensors")
    with pytest.raises(OutputError, match="lstmkit run"):
        check_output(tmp_path / "link.csv", force=True)
    check_output(run / "my-notes.csv", force=True)          # a new file of the user's beside the run: fine


def test_a_name_near_the_limit_is_written_and_errors_name_the_target(tmp_path, monkeypatch) -> None:
    """Found by a tester: the temporary's name (about 30 more bytes) was over 255 bytes for a
    valid long name; and an error named the temporary, not the user's file."""
    import lstmkit.files as files

    long = tmp_path / ("z" * 250 + ".csv")
    write_file(long, b"rows\n")
    assert long.read_bytes() == b"rows\n" and [p.name for p in tmp_path.iterdir()] == [long.name]

    def read_only(tmp: Path, path: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(tmp))

    monkeypatch.setattr(files, "_publish", read_only)
    with pytest.raises(OSError) as caught:
        write_file(tmp_path / "x.csv", b"a")
    assert caught.value.filename == str(tmp_path / "x.csv") and caught.value.errno == errno.EROFS
    assert not [p for p in tmp_path.iterdir() if TMP_MARK in p.name]


def test_an_output_naming_no_file_or_a_folder_that_takes_none_is_refused_before_any_work(tmp_path) -> None:
    """Found by a tester: ``--output ''`` failed after the export with "Is a directory", and
    ``--output /proc/self/x.onnx`` after minutes of tracing. The folder is tried, not its mode
    bits: root passes those, a read-only mount or /proc does not."""
    for empty in ("", "   "):
        with pytest.raises(OutputError, match=r"--output is empty .*give a file name such as model.onnx"):
            check_output(empty, example="model.onnx")
    with pytest.raises(OutputError, match=r"is a directory; give a file name, e.g. '.*/model.onnx'"):
        check_output(tmp_path, example="model.onnx")
    with pytest.raises(OutputError, match=r"cannot write files in the folder '/proc/self' \(.+\); choose another --output"):
        check_output("/proc/self/x.onnx")
    with pytest.raises(OutputError, match="cannot write files in the folder '/sys'"):   # a case nobody listed
        check_output("/sys/m.pt2", flag="--save-vectors")
    assert check_output(tmp_path / "fine.onnx") == tmp_path / "fine.onnx"
    assert list(tmp_path.iterdir()) == []                    # the probe of the folder left nothing behind
