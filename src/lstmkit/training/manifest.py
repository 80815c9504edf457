"""One manifest that ties a run's files together.

``manifest.json`` names the run (a random identity, also stored in the weights' metadata) and
holds the SHA-256 of every file the run needs: weights, config, vocabularies, labels, scaler,
and the training state that ``--resume`` reads. It is the mark that lstmkit made the directory,
and it is checked on every load, so a ``labels.json`` or ``vocab.json`` reordered by hand, or a
``model.safetensors`` copied in from another run of the same size, is refused by name.

Files are saved through :func:`commit`, which keeps the manifest true at every moment, even
under ``kill -9``: it first lists each file's old and new checksums, then replaces the files
(each atomically), then lists the new checksums alone. A file is therefore always one of the
versions the manifest allows.
"""

from __future__ import annotations

import copy
import contextlib
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from lstmkit.boundary import parse_json
from lstmkit.errors import RunDirError
from lstmkit.files import publish, stage, sweep_temporaries, write_file

MANIFEST = "manifest.json"
LOCK = ".lock"                         # a training's claim on the folder (lstmkit.training.rundir), holding its pid
FORMAT = 1
ABSENT = ""                            # in a file's list of allowed checksums: the file may be missing

_verified: dict[tuple, str] = {}       # stat signature of a run's files -> run id, for repeated loads
_read: dict[tuple, dict] = {}          # (path, stat signature) of a manifest -> its checked contents


def new_run_id() -> str:
    return secrets.token_hex(16)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(run_dir: str | Path) -> dict | None:
    """The manifest of ``run_dir``, or None for a run saved before manifests (config format <= 2).

    Raises:
        RunDirError: if the manifest exists but is damaged.
    """
    path = Path(run_dir) / MANIFEST
    signature = _stat(path)
    if signature is None and not path.exists():
        return None
    key = (str(path.resolve()), signature)
    if signature is not None and key in _read:              # one load asks several times: read once
        return copy.deepcopy(_read[key])
    raw = _parse(path)
    if signature is not None:
        if len(_read) >= 64:
            _read.pop(next(iter(_read)))
        _read[key] = copy.deepcopy(raw)
    return raw


def _parse(path: Path) -> dict:
    fix = "the run directory is damaged; train again or restore it from a copy"
    try:
        raw = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunDirError(f"{str(path)!r} cannot be read ({err}); {fix}") from None
    files = raw.get("files") if isinstance(raw, dict) else None
    if not (isinstance(raw, dict) and raw.get("format") == FORMAT and isinstance(raw.get("run_id"), str)
            and isinstance(files, dict)
            and all(isinstance(v, list) and v and all(isinstance(h, str) for h in v) for v in files.values())):
        raise RunDirError(f"{str(path)!r} is not an lstmkit manifest of format {FORMAT}; {fix}")
    for name in files:
        if Path(name).name != name or name in ("", ".", ".."):
            raise RunDirError(f"{str(path)!r} names a file outside the run ({name!r}); {fix}")
    return raw


def _write(run_dir: Path, run_id: str, files: dict[str, list[str]]) -> None:
    body = {"format": FORMAT, "run_id": run_id, "files": dict(sorted(files.items()))}
    write_file(run_dir / MANIFEST, json.dumps(body, indent=2) + "\n")


def commit(run_dir: str | Path, contents: dict[str, bytes | str | Callable[[Path], None]],
           adopt: tuple[str, ...] = (), run_id: str | None = None) -> str:
    """Write ``contents`` (file name -> bytes, text, or a function writing to a given path) into
    ``run_dir`` and record them in the manifest; returns the run's identity. See the module
    docstring for why a kill never breaks the run.

    ``adopt``: files a run saved before manifests already has (resumed by this lstmkit); they
    are listed with their present checksums when the manifest is first written.
    """
    run_dir = Path(run_dir)
    current = read_manifest(run_dir)
    ident = current["run_id"] if current is not None else (run_id or new_run_id())
    files: dict[str, list[str]] = dict(current["files"]) if current is not None else {}
    if current is None:
        files.update({n: [sha256_file(run_dir / n)] for n in adopt if (run_dir / n).is_file()})
    sweep_temporaries(run_dir)
    staged: dict[str, Path] = {}
    try:
        for name, content in contents.items():
            staged[name] = stage(run_dir / name, content)
        new = {name: sha256_file(tmp) for name, tmp in staged.items()}
        pending = dict(files)
        for name, digest in new.items():
            before = files[name][-1:] if name in files else [ABSENT]
            pending[name] = [*before, digest] if before != [digest] else [digest]
        _write(run_dir, ident, pending)
        for name, tmp in staged.items():
            publish(tmp, run_dir / name)
    except BaseException:
        for tmp in staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    _write(run_dir, ident, {**files, **{name: [digest] for name, digest in new.items()}})
    return ident


def run_id_of(run_dir: str | Path) -> str | None:
    manifest = read_manifest(run_dir)
    return None if manifest is None else manifest["run_id"]


def verify(run_dir: str | Path, required: tuple[str, ...] = ()) -> str | None:
    """Check every file the manifest lists against its checksum, and that each of ``required``
    is listed; returns the run's identity (None for a run without a manifest).

    Raises:
        RunDirError: naming the file that does not belong to this run, and what to do.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        return None
    files = manifest["files"]
    fix = ("it was changed or copied in from another run after training; restore this run's own file "
           "(or train again)")
    signature = [str(run_dir.resolve()), _stat(run_dir / MANIFEST)] + [(n, _stat(run_dir / n)) for n in sorted(files)]
    key = tuple(signature)
    if key not in _verified:
        for name, allowed in files.items():
            path = run_dir / name
            problem = file_problem(path)
            if problem == "missing" and ABSENT in allowed:
                continue
            if problem is not None:
                raise RunDirError(f"{str(path)!r} is {problem}: the run's manifest lists it as a file; restore it "
                                  "from a copy or train again")
            if sha256_file(path) not in allowed:
                raise RunDirError(f"{str(path)!r} does not match the run's manifest ({MANIFEST}): {fix}")
        _verified[key] = manifest["run_id"]
    for name in required:
        if name not in files and (run_dir / name).exists():
            raise RunDirError(f"{str(run_dir / name)!r} is not listed in the run's manifest ({MANIFEST}): it was "
                              "added after training; remove it, restore the run from a copy, or train again")
    return manifest["run_id"]


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def file_problem(path: Path) -> str | None:
    """None for a regular file (a link to one included), else what the path is: "missing",
    "a broken link", "a character device", ... (a run file that a link replaced by /dev/zero is
    not "missing", and is never opened to find out)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a broken link" if os.path.islink(path) else "missing"
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


__all__ = ["ABSENT", "MANIFEST", "commit", "file_problem", "new_run_id", "read_manifest", "run_id_of", "sha256_bytes", "verify"]
