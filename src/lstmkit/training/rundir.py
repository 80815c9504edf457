"""One way to claim, and to clear, a run directory.

A training claims its run directory before it creates or removes anything in it:
:class:`RunDirectory` makes the folder (or finds it), takes the lock (``.lock``, holding the
pid; a lock whose process is gone is cleared), and only then looks at what the folder holds.
A folder holding a run is trained into only with ``resume`` or ``overwrite``; a folder holding
anything else is never trained into. ``overwrite`` clears the old run only when the new run's
config and data have been read and checked (:meth:`RunDirectory.clear_previous`), and removes
only files lstmkit writes into runs, never an input of the new run and never anything else.
If the training fails before its first epoch is saved, a folder this claim created is removed;
a folder it did not create keeps everything but what this claim wrote.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from lstmkit.errors import RunDirError
from lstmkit import files
from lstmkit.files import TMP_MARK, OutputError, same_file
from lstmkit.training import manifest

LOCK = manifest.LOCK
# What lstmkit writes into a run directory (besides the files its manifest lists).
RECORDS = ("metrics.json", "eval.json", "eval.txt", "loss.png", "accuracy.png", "perplexity.png", "confusion.png",
           "forecast.png", "forecast.csv", "model.onnx", "model.onnx.json", "model.pt2", "model.pt2.json",
           "config.json", "model.safetensors", "vocab.json", "labels.json", "chars.json", "tags.json", "scaler.json",
           "last.safetensors", "train_state.safetensors")
SUBFOLDERS = {"data": ("train.txt", "valid.txt", "test.txt", "train.jsonl", "valid.jsonl", "test.jsonl", "train.tsv",
                       "valid.tsv", "test.tsv", "train.csv", "valid.csv", "test.csv"),
              "vectors": ("vectors.npy", "vectors.vocab.json", "vectors.txt")}


def default_run_dir(task: str, root: str | Path = "runs") -> Path:
    """Where a training goes without ``--run-dir`` (``run_dir=``): ``runs/TASK-YYYYmmdd-HHMMSS``,
    with ``-2``, ``-3``, ... when a run started in the same second has that name."""
    import datetime as dt

    base = Path(root) / f"{task}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, number = base, 2
    while path.exists():
        path, number = base.with_name(f"{base.name}-{number}"), number + 1
    return path


class DirectoryLock:
    """One training at a time per run directory (``.lock`` created exclusively, holding the
    pid); a lock whose process is gone (killed with -9) is removed first."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK

    def _busy(self) -> RunDirError:
        return RunDirError(f"{str(self.path.parent)!r} is being trained by another process (pid in "
                           f"{self.path.name}); wait for it, or delete {str(self.path)!r} if that process is gone")

    def _clear_stale(self) -> None:
        try:
            pid = int(self.path.read_text() or "0")
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.path.unlink(missing_ok=True)
        except PermissionError:
            pass

    def check_free(self) -> None:
        """Raise now, without taking the lock, if another live process holds it."""
        self._clear_stale()
        if self.path.exists():
            raise self._busy()

    def __enter__(self) -> DirectoryLock:
        self._clear_stale()
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise self._busy() from None
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def holds_run(folder: str | Path) -> bool:
    """Whether lstmkit made ``folder`` as a run: it has lstmkit's manifest, or (runs saved
    before manifests) a config.json that lstmkit reads beside model.safetensors."""
    folder = Path(folder)
    if (folder / manifest.MANIFEST).is_file():
        try:
            return manifest.read_manifest(folder) is not None
        except RunDirError:
            return False
    if not ((folder / "config.json").is_file() and (folder / "model.safetensors").is_file()):
        return False
    from lstmkit.training.checkpoint import read_run_config

    try:
        read_run_config(folder)
    except RunDirError:
        return False
    return True


def _entries(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if p.name != LOCK)
    except OSError:
        return []


def own_files(run_dir: str | Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """The files of the run in ``run_dir`` that no output of a command may replace: every file
    its manifest lists and every file lstmkit writes into runs, but ``exclude``."""
    run_dir = Path(run_dir)
    names = set(RECORDS) | {manifest.MANIFEST, LOCK}
    with contextlib.suppress(RunDirError):
        found = manifest.read_manifest(run_dir)
        names |= set(found["files"]) if found else set()
    paths = [run_dir / n for n in sorted(names - set(exclude))]
    paths += [run_dir / folder / n for folder, files in SUBFOLDERS.items() for n in files]
    return paths


def _check_not_dangling(path: Path) -> None:
    if path.is_symlink() and not path.exists():
        raise RunDirError(f"--run-dir {str(path)!r} is a link to {os.readlink(path)!r}, which does not exist; create "
                          "that folder, or choose another --run-dir")


def check_output(path: str | Path, *, flag: str = "--output", protected: Iterable[str | Path] = (),
                 inputs: Iterable[str | Path] = (), force: bool = False, replaceable: bool = False,
                 example: str = "out") -> Path:
    """:func:`lstmkit.files.check_output`, and any lstmkit run's own files protected too, not
    only the running command's: ``--force`` replaces a user's file, never another run's weights
    (through a link neither). The one output check every command's ``--output`` passes.

    Raises:
        OutputError: naming the path, what it is and the fix.
    """
    path = files.output_name(path, flag, example)
    if not replaceable:                     # lstmkit's own default output in its own run
        for folder in {path.parent, Path(os.path.realpath(path)).parent}:
            if folder.is_dir() and holds_run(folder):
                for own in own_files(folder):
                    if same_file(path, own):
                        raise OutputError(f"{flag} {str(path)!r} is the file {own.name} of the lstmkit run in "
                                          f"{str(folder)!r}; writing it would damage that run, --force or not; "
                                          "choose another name")
    return files.check_output(path, flag=flag, protected=protected, inputs=inputs, force=force,
                              replaceable=replaceable, example=example)


class RunDirectory:
    """The claim of one training on its run directory (see the module docstring)."""

    def __init__(self, path: str | Path, *, overwrite: bool = False, resume: bool = False) -> None:
        self.path = Path(path)
        self.overwrite, self.resume = overwrite, resume
        self.created = False
        self.had_run = False
        self._lock: DirectoryLock | None = None

    def __enter__(self) -> RunDirectory:
        path = self.path
        _check_not_dangling(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"--run-dir {str(path)!r} is a file; choose a directory")
        if self.resume and not path.is_dir():
            raise RunDirError(f"run directory {str(path)!r} does not exist; --resume goes on with a run that was "
                              "trained before")
        missing = [a for a in path.absolute().parents if not a.exists()]      # made here: removed if we fail
        path.parent.mkdir(parents=True, exist_ok=True)
        self._made_parents = missing
        try:
            os.mkdir(path)
            self.created = True
        except FileExistsError:
            pass
        lock = DirectoryLock(path)
        try:
            lock.__enter__()
        except BaseException:
            if self.created:
                with contextlib.suppress(OSError):
                    os.rmdir(path)                          # only if still empty: never another's run
            raise
        self._lock = lock
        try:
            self._check_contents()
        except BaseException:
            self._release(failed=True)
            raise
        return self

    def precheck(self) -> None:
        """The refusals of :meth:`__enter__` that need no lock, creating nothing (every
        process of a data-parallel training runs this, only the first claims)."""
        path = self.path
        _check_not_dangling(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"--run-dir {str(path)!r} is a file; choose a directory")
        if path.is_dir():
            DirectoryLock(path).check_free()
            self._check_contents()

    def _check_contents(self) -> None:
        path = self.path
        self.had_run = holds_run(path)
        others = _entries(path)
        if self.resume:
            if not self.had_run:
                raise RunDirError(f"{str(path)!r} holds no lstmkit run to resume")
            return
        if self.had_run and not self.overwrite:
            if not (path / "model.safetensors").exists():       # marked, but stopped before its first epoch
                raise RunDirError(f"{str(path)!r} holds a run that was stopped before it saved its first epoch "
                                  "(nothing to resume); pass --overwrite to train it again, or choose another "
                                  "--run-dir")
            raise RunDirError(f"{str(path)!r} already holds a run; choose another --run-dir, pass --overwrite, "
                              "or --resume to go on with it")
        if not self.had_run and others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise RunDirError(f"{str(path)!r} is not empty ({shown}) and is not a run lstmkit made; lstmkit trains "
                              "only into a new or empty folder or its own run; choose another --run-dir")

    def clear_previous(self, keep: Iterable[str | Path] = ()) -> None:
        """With ``overwrite``, remove the old run's files (call once the new run's data are
        ready). Files in ``keep`` (the new run's inputs) and files lstmkit did not write stay."""
        if not (self.overwrite and self.had_run):
            return
        kept = tuple(os.path.realpath(p) for p in keep if p)

        def remove(file: Path) -> None:
            real = os.path.realpath(file)
            if any(real == k or real.startswith(k.rstrip(os.sep) + os.sep) for k in kept):
                return                                      # an input of the new run
            if not (file.is_file() or file.is_symlink()):
                return
            with contextlib.suppress(FileNotFoundError):
                file.unlink()

        for name in RECORDS:                                # only names lstmkit writes, whatever a manifest says
            remove(self.path / name)
        folders = [(f, names) for base, names in SUBFOLDERS.items()
                   for f in [self.path / base, *sorted(self.path.glob(f"{base}-[0-9]*"))]]
        for folder, names in folders:
            if folder.is_symlink() or not folder.is_dir():  # a link to the user's folder: never through it
                continue
            for name in names:
                remove(folder / name)
            with contextlib.suppress(OSError):
                folder.rmdir()                              # only when nothing else is in it
        for stray in self.path.glob(f".*{TMP_MARK}*"):
            remove(stray)
        remove(self.path / manifest.MANIFEST)               # last: the folder stays marked until the end
        self.had_run = False

    def _release(self, failed: bool) -> None:
        if failed and self.created and not (self.path / "model.safetensors").exists():
            shutil.rmtree(self.path, ignore_errors=True)    # ours alone (we made it and held the lock)
            for parent in getattr(self, "_made_parents", []):              # deepest first; only if empty
                with contextlib.suppress(OSError):
                    parent.rmdir()
        elif self._lock is not None:
            self._lock.__exit__(None, None, None)
        self._lock = None

    def __exit__(self, kind, value, tb) -> None:
        self._release(failed=kind is not None)


__all__ = ["DirectoryLock", "default_run_dir", "RECORDS", "RunDirectory", "holds_run", "own_files"]
