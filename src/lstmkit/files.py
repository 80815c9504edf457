"""One way to write a file, and one rule for which files may be replaced.

Every file lstmkit writes goes through :func:`write_file` (bytes, text or a writer callback)
or :func:`writing` (for libraries that insist on a path). Both write a temporary file in the
target's folder, flush and fsync it, give it the mode a new file gets under the umask, and
rename it over the target: a kill or a full disk leaves the old file whole. Where Linux has
``O_TMPFILE`` the temporary has no name until it is complete, so a ``kill -9`` while writing
leaves nothing behind; a named temporary (``.NAME.PID-XXXX.lstmkit-tmp``) left by a killed
process is removed by the next write into that folder.

:func:`check_output` is the rule for paths a user names as an output: never one of a run's own
files, never an input of the same command, and never an existing file unless asked (``--force``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from lstmkit.errors import LstmkitError

TMP_MARK = ".lstmkit-tmp"


class OutputError(LstmkitError):
    """An output path that lstmkit will not write: it would damage a file it did not make."""


def _new_file_mode() -> int:
    """What ``open()`` gives a new file under the current umask (0644 with umask 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(target: Path) -> Path:
    # The target's suffix stays last: np.save, savefig and others look at it. A name near the
    # file system's 255-byte limit is shortened in the temporary (never in the target).
    tag = f".{os.getpid()}-{secrets.token_hex(4)}{TMP_MARK}{target.suffix}"
    stem = target.name
    while len(f".{stem}{tag}".encode("utf-8", "surrogateescape")) > 255 and stem:
        stem = stem[: max(0, len(stem) - 16)]
    return target.with_name(f".{stem}{tag}")


def sweep_temporaries(directory: str | Path) -> None:
    """Remove named temporaries in ``directory`` whose writing process is gone."""
    directory = Path(directory)
    try:
        entries = list(directory.glob(f".*{TMP_MARK}*"))
    except OSError:
        return
    for entry in entries:
        try:
            pid = int(entry.name.rsplit(TMP_MARK, 1)[0].rsplit(".", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                entry.unlink()
        except PermissionError:
            pass


def _check_target(path: Path) -> None:
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist; create it "
                          "first or choose another path")
    if path.is_dir() and not path.is_symlink():
        raise OutputError(f"cannot write {str(path)!r}: it is a directory; give a file name")


def _publish(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)                   # a symlink at `path` is replaced, never the file it points to
    _fsync_dir(path.parent)


def write_file(path: str | Path, content: bytes | str | Callable[[BinaryIO], None], *,
               encoding: str = "utf-8") -> Path:
    """Write ``content`` (bytes, text, or a function that writes to a binary file) to ``path``
    atomically: after a kill or an error (a full disk) ``path`` is its old self or absent.

    Raises:
        OutputError: if the folder does not exist or ``path`` is a directory.
        OSError: if writing fails (the old file is left as it was).
    """
    path = Path(path)
    _check_target(path)
    sweep_temporaries(path.parent)
    if isinstance(content, str):
        data: bytes | None = content.encode(encoding)
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        data = None

    def fill(f: BinaryIO) -> None:
        if data is not None:
            f.write(data)
        else:
            content(f)                                      # type: ignore[operator]
        f.flush()
        os.fsync(f.fileno())
        os.fchmod(f.fileno(), _new_file_mode())

    tmp = _temp_name(path)
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o600)   # nameless until complete
    except (AttributeError, OSError):
        fd = None
    try:
        if fd is not None:
            with os.fdopen(fd, "wb") as f:
                fill(f)
                try:
                    # linkat(..., AT_SYMLINK_FOLLOW): CPython calls plain link() (which links the
                    # /proc symlink itself and fails with EXDEV) unless a dir fd is given
                    root = os.open("/", os.O_RDONLY)
                    try:
                        os.link(f"/proc/self/fd/{f.fileno()}", tmp, src_dir_fd=root, follow_symlinks=True)
                    finally:
                        os.close(root)
                except OSError as err:
                    if err.errno == errno.ENOSPC:
                        raise
                    fd = None                                # no /proc: write a named temporary instead
        if fd is None:
            with open(tmp, "xb") as f:
                fill(f)
        _publish(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, OSError) and err.filename == str(tmp) and err.errno is not None:
            raise OSError(err.errno, err.strerror, str(path)) from None     # name the user's file, not ours
        raise
    return path


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a library that writes only to a path; on leaving
    the block it is fsynced and renamed over ``path`` (on an error it is removed).

        with writing(out) as tmp:
            onnx_program.save(str(tmp))
    """
    path = Path(path)
    _check_target(path)
    sweep_temporaries(path.parent)
    tmp = _temp_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode())
        _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def stage(path: str | Path, content: bytes | str | Callable[[Path], None], *, encoding: str = "utf-8") -> Path:
    """Write ``content`` (bytes, text, or a function that writes to the path it is given) to a
    named temporary beside ``path``, fsynced; :func:`publish` then renames it over ``path``.
    For saving several files together (a run's files and their manifest)."""
    path = Path(path)
    _check_target(path)
    tmp = _temp_name(path)
    try:
        if callable(content):
            content(tmp)
        else:
            with open(tmp, "xb") as f:
                f.write(content.encode(encoding) if isinstance(content, str) else bytes(content))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def publish(tmp: Path, path: str | Path) -> None:
    """Move a file made by :func:`stage` over ``path`` (atomically)."""
    _publish(tmp, Path(path))


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b) or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(path: str | Path, *, flag: str = "--output", protected: Iterable[str | Path] = (),
                 inputs: Iterable[str | Path] = (), force: bool = False, replaceable: bool = False,
                 example: str = "out") -> Path:
    """Refuse an output path that would damage a file lstmkit did not make for this purpose.
    (Commands call :func:`lstmkit.training.rundir.check_output`, which also protects every
    other run's files: the layout of a run lives with the runs, above this module.)

    Args:
        protected: files the output must never replace (a run's own files).
        inputs: files this command reads.
        force: the user asked to replace an existing file (``--force``).
        replaceable: ``path`` is lstmkit's own default output, which it may replace.
        example: a file name to suggest (``model.onnx``) where ``path`` is a folder or empty.

    Raises:
        OutputError: naming the path, what it is and the fix.
    """
    path = output_name(path, flag, example)
    for own in protected:
        if same_file(path, Path(own)):
            raise OutputError(f"{flag} {str(path)!r} is the run's own file {Path(own).name}; writing it would "
                              "damage the run; choose another name")
    for source in inputs:
        if same_file(path, Path(source)):
            raise OutputError(f"{flag} {str(path)!r} is an input of this command; choose another name for the output")
    if path.exists() or path.is_symlink():
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if stat.S_ISDIR(mode):
            raise OutputError(f"{flag} {str(path)!r} is a directory; give a file name, e.g. {str(path / example)!r}")
        if not stat.S_ISREG(mode):
            raise OutputError(f"{flag} {str(path)!r} exists and is not a regular file; choose another name")
        if not (force or replaceable):
            raise OutputError(f"{flag} {str(path)!r} already exists; pass --force to replace it, or choose another name")
    if not path.parent.is_dir():
        raise OutputError(f"{flag} {str(path)!r}: the folder {str(path.parent)!r} does not exist; create it first")
    problem = _cannot_create_in(path.parent)
    if problem is not None:                     # said now, not after minutes of work
        raise OutputError(f"{flag} {str(path)!r}: cannot write files in the folder {str(path.parent)!r} "
                          f"({problem}); choose another {flag}")
    return path


def _why(err: OSError) -> str:
    # /proc answers "No such file or directory" for a folder that is there: it takes no new files
    return "it takes no new files" if err.errno == errno.ENOENT else (err.strerror or str(err))


def output_name(path: str | Path, flag: str = "--output", example: str = "out") -> Path:
    """``path`` as a :class:`Path`, refused when it names no file at all: empty, or ``-``."""
    if str(path) == "-":                   # the Unix "standard output": lstmkit writes files, atomically
        raise OutputError(f"{flag} '-' would be a file named '-', not the standard output: lstmkit writes its "
                          f"outputs as files (whole or not at all); give a file name such as {example}")
    if not str(path).strip():
        raise OutputError(f"{flag} is empty ({str(path)!r}); give a file name such as {example}")
    text = os.fspath(path)
    if isinstance(text, str) and text.endswith(os.sep) and not os.path.isdir(text):    # Path() drops the slash
        raise OutputError(f"{flag} {text!r} ends in {os.sep!r}, naming a folder, and there is none; give a file "
                          f"name such as {os.path.join(text, example)!r} (create the folder first)")
    return Path(path)


def _cannot_create_in(folder: Path) -> str | None:
    """Why a new file cannot be made in ``folder`` (tried: a nameless file where Linux has
    ``O_TMPFILE``, else a named temporary, removed at once), or None. Permission bits alone do
    not say it: root passes them, a read-only mount or /proc does not."""
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return None
    except AttributeError:
        pass
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return _why(err)
    probe = folder / f".probe.{os.getpid()}-{secrets.token_hex(4)}{TMP_MARK}"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as err:
        return _why(err)
    with contextlib.suppress(OSError):
        probe.unlink()
    return None


__all__ = ["OutputError", "check_output", "output_name", "same_file", "publish", "stage", "sweep_temporaries", "write_file", "writing"]
