"""The HTTP JSON API of ``lstmkit serve``: trained runs behind /predict, /generate, /inspect.

    lstmkit serve runs/classify-... runs/lm-... --host 127.0.0.1 --port 8000

Endpoints (OpenAPI page at ``/docs``):

- ``GET /health``: ``{"status": "ok", "models": N}``.
- ``GET /models``: each model's name (its run directory's name), task and what it takes.
- ``POST /predict``: ``{"model": NAME, "texts": [...]}`` for classify and tag runs;
  ``{"model": NAME, "data": {column: [values]}}`` for forecasters; ``{"model": NAME,
  "images": [28x28 grey values]}`` for image runs. ``model`` may be left out when one model
  is served.
- ``POST /generate``: ``{"model", "prefix", "length", "temperature", "top_k", "top_p",
  "seed"}``; the text is streamed as it is produced (``text/plain``). Every argument is checked
  before the stream starts (a bad one is a JSON 400). A stream that reaches the time limit is not
  refused up front (how fast a model writes depends on the machine and the load): it stops just
  before the limit and ends with one message line, ``[lstmkit: stopped after N of M tokens ...]``,
  saying how to go on; an error inside the stream ends it the same way, ``[lstmkit: error: ...]``.
- ``POST /inspect``: per token, layer and direction, the hidden and cell states and the gates
  of a text model (see :mod:`lstmkit.serve.inspect`).
- ``GET /runs/{name}/metrics``: the run's per-epoch metrics (for the training curves).
- ``GET /``: the web page (see :mod:`lstmkit.serve.page`).

Classify and tag requests arriving together are answered by one model call
(:class:`~lstmkit.serve.batching.MicroBatcher`). Every error, whatever raised it, is JSON
``{"error": message}`` with the CLI's clear message: 400 for bad input, 404 for an unknown model
or path, 405 for a wrong method (HEAD is answered as GET without the body), 408 for headers that
do not arrive in time (:mod:`lstmkit.serve.connections`), 413 for a body over the size limit
(however it is sent), 422 for a malformed request, a body that is not JSON or one that gives a key
twice, 500 (logged, no traceback in the answer) for a
bug, 503 (with Retry-After) when every model-call slot is taken, 504 past the time limit; the
server keeps running. A model call whose request got 504 runs on in its thread (Python cannot
stop one), and holds its slot until it returns: :class:`~lstmkit.serve.calls.ModelCalls`
bounds them, so slow requests cannot queue up minutes of work. Every response carries a
Content-Security-Policy (:data:`lstmkit.serve.page.SECURITY_HEADERS`).
"""

from __future__ import annotations

from pathlib import Path

from lstmkit.boundary import shown
from lstmkit.errors import LstmkitError
from lstmkit.serve.calls import ModelCalls
from lstmkit.serve.handlers import UnknownModel
from lstmkit.serve.limits import (
    DEADLINE_KEY, MAX_TIMEOUT_S, MIN_TIMEOUT_S, Limits, check_limits, listen_socket, loopback_hosts,
)
from lstmkit.serve.routes import MAX_TEXT_CHARS, MAX_TEXTS
from lstmkit.serve.schema import MAX_TOP_K

MODEL_CALLS = 4                # forecast, image and inspect calls running at once (see serve/calls.py)


def create_app(run_dirs: list[str | Path], max_body_bytes: int = 1_000_000, timeout_s: float = 30.0,
               hosts: frozenset[str] | None = None):
    """The FastAPI application serving ``run_dirs``: the routes (:mod:`lstmkit.serve.routes`),
    the error answers (:mod:`lstmkit.serve.handlers`), the limits (:mod:`lstmkit.serve.limits`)
    and the pages (:mod:`lstmkit.serve.page`).

    ``hosts``: the Host header values answered (without port); None answers any. ``lstmkit
    serve`` on a loopback address passes the loopback names (see :func:`loopback_hosts`).

    Raises:
        LstmkitError: for limits under which no request could be answered (:func:`check_limits`).
        RunDirError: if a directory is not a run (before the server starts).
    """
    from fastapi import FastAPI

    from lstmkit import __version__
    from lstmkit.serve.handlers import ApiJSON, add_error_handlers
    from lstmkit.serve.page import add_pages
    from lstmkit.serve.routes import add_routes, load_runs
    from lstmkit.serve.schema import ERROR_RESPONSES

    check_limits(max_body_bytes, timeout_s)
    if not run_dirs:
        raise LstmkitError("give at least one run directory to serve")
    served = load_runs(run_dirs)
    app = FastAPI(title="lstmkit", version=__version__, default_response_class=ApiJSON, responses=ERROR_RESPONSES,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  description="Trained lstmkit runs: predict, generate, look inside the gates.")
    app.router.redirect_slashes = False     # POST /predict/ is answered 404 naming /predict, not an empty 307
    add_error_handlers(app)
    app.add_middleware(Limits, max_body_bytes=max_body_bytes, timeout_s=timeout_s, hosts=hosts)
    add_pages(app)
    add_routes(app)
    app.state.served, app.state.calls, app.state.timeout_s = served, ModelCalls(MODEL_CALLS), timeout_s
    return app


__all__ = ["DEADLINE_KEY", "MAX_TEXTS", "MAX_TEXT_CHARS", "MAX_TIMEOUT_S", "MAX_TOP_K", "MIN_TIMEOUT_S", "MODEL_CALLS",
           "Limits", "UnknownModel", "check_limits", "create_app", "listen_socket", "loopback_hosts", "shown"]
