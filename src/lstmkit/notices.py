"""One channel for warnings: what lstmkit warns of, handed to the caller whose input caused it.

lstmkit warns through the ``lstmkit`` logger (a forecast's duplicate dates, an outlier, a file's
stray NULs). At the command line those lines reach the user on stderr; behind the server they
would reach only the server's log, and the client that sent the data would never hear of them.
:func:`collected` gathers the warnings logged in the current thread while a block runs, so the
server can put them in the response (``"warnings": [...]``) as well as in its log.

Data given in memory is read through a scratch file; :func:`in_caller_terms` makes every error
raised and every warning logged about that file name it as the caller did (``data row 3``, not
``'/tmp/tmpab12/input.csv':4``).

    >>> import logging
    >>> with collected() as notes:
    ...     logging.getLogger("lstmkit.demo").warning("column %r is constant", "OT")
    >>> notes
    ["column 'OT' is constant"]
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
MAX_NOTES = 50                       # a file with thousands of bad rows still gives a bounded list


class _ThreadNotes(logging.Handler):
    """Keeps the messages of WARNING and above logged by one thread."""

    def __init__(self, thread: int) -> None:
        super().__init__(logging.WARNING)
        self.thread, self.messages = thread, []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and len(self.messages) < MAX_NOTES:
            try:
                self.messages.append(record.getMessage())
            except (TypeError, ValueError):              # a malformed call: its raw text
                self.messages.append(str(record.msg))


@contextmanager
def collected() -> Iterator[list[str]]:
    """The warnings lstmkit logs in this thread while the block runs (at most ``MAX_NOTES``).

    They still reach every other handler (the server's log, the CLI's stderr)."""
    logger = logging.getLogger("lstmkit")
    handler = _ThreadNotes(threading.get_ident())
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


@contextmanager
def quieted(logger_name: str) -> Iterator[None]:
    """A library's logger at ERROR while the block runs (its notes are not the user's business)."""
    quiet = logging.getLogger(logger_name)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        yield
    finally:
        quiet.setLevel(level)


def noted(fn: Callable[..., T], *args: Any) -> tuple[T, list[str]]:
    """``fn(*args)`` and the warnings it logged: for calls run on another thread."""
    with collected() as notes:
        result = fn(*args)
    return result, notes


def caller_terms(message: str, scratch: str, arg: str = "data", rows: bool = True) -> str:
    """A message about the scratch file of data given in memory, in the caller's terms: the
    file is ``arg``, and with ``rows`` (a CSV of columns) its line N (line 1 is the header) is
    row N - 1 of the columns.

        >>> caller_terms("'/tmp/x/input.csv':3: column 'y' holds 'abc'", "/tmp/x/input.csv")
        "data row 2: column 'y' holds 'abc'"
    """
    for name in (repr(scratch), scratch):
        if rows:
            message = re.sub(re.escape(name) + r":(\d+)", lambda m: f"{arg} row {int(m.group(1)) - 1}", message)
        message = message.replace(name, arg)
    return message


_local = threading.local()
_factory_lock = threading.Lock()
_installed = False


def _rename(message: str) -> str:
    for scratch, (arg, rows) in getattr(_local, "names", {}).items():
        message = caller_terms(message, scratch, arg, rows)
    return message


def _install_factory() -> None:
    """Once per process: log records made while a thread is inside :func:`in_caller_terms` get
    their message rewritten (the factory before it is kept and called first)."""
    global _installed
    with _factory_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if getattr(_local, "names", None) and record.name.startswith("lstmkit"):
                try:
                    record.msg, record.args = _rename(record.getMessage()), ()
                except (TypeError, ValueError):
                    pass
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


@contextmanager
def in_caller_terms(names: Mapping[str, str], rows: bool = True) -> Iterator[None]:
    """Inside the block, errors (:class:`~lstmkit.errors.LstmkitError`) raised and warnings
    logged in this thread that name one of the scratch files in ``names`` name what the caller
    gave instead (``{scratch path: "data"}``; with ``rows``, a line of the file is a row)."""
    from lstmkit.errors import LstmkitError

    _install_factory()
    before = getattr(_local, "names", {})
    _local.names = {**before, **{str(k): (v, rows) for k, v in names.items()}}
    try:
        yield
    except LstmkitError as err:
        message = _rename(str(err))
        if message == str(err):
            raise
        raise type(err)(message) from None
    finally:
        _local.names = before
