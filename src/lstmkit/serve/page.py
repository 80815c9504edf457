"""The web page of ``lstmkit serve`` (``static/index.html``): pick a model, type a text (or
upload an image or a CSV), see the prediction or the generated text as it streams; the
inspector's heatmaps of the hidden state, cell state and each gate per token (from
``/inspect``), the top neurons and a neuron's trace across the text; the run's training curves
(from ``/runs/NAME/metrics``). Plain HTML, canvas and JavaScript: nothing is fetched from the
internet.

The page's script and style are files of the package (``static/page.js``, ``static/page.css``),
served at ``/static/``; the script puts data from the server into the page only as text, never as
markup. Every response carries :data:`SECURITY_HEADERS` (added by
:class:`lstmkit.serve.app.Limits`): a Content-Security-Policy that allows only same-origin script
and style and no inline script, so even markup that got in could not run. ``/docs`` is Swagger UI 5
(which reads FastAPI's OpenAPI 3.1 schema) from the ``fastapi-offline`` package's files, served
from ``/docs-assets/``: it works offline and under the same policy. (``swagger-ui-bundle`` vendors
Swagger UI 4, which refuses OpenAPI 3.1.)
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

_STATIC = files("lstmkit.serve").joinpath("static")
PAGE = _STATIC.joinpath("index.html").read_text(encoding="utf-8")
DOCS_PAGE = _STATIC.joinpath("docs.html").read_text(encoding="utf-8")

# img-src: blob: for the uploaded digit the page reads, data: for Swagger UI's icons.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def add_pages(app: Any) -> None:
    """Route ``/`` (the page), ``/static/`` (its script and style), ``/docs`` and ``/docs-assets/``
    (Swagger UI) on the FastAPI ``app``; none of them is part of the API's schema."""
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(packages=[("lstmkit.serve", "static")]), name="static")

    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    try:
        import fastapi_offline  # noqa: F401 - only its static files (Swagger UI) are used
    except ImportError:
        async def docs() -> Any:
            return JSONResponse({"error": "the API page /docs needs the fastapi-offline package (Swagger UI): pip "
                                          "install 'lstmkit[serve]'; the API's schema is at /openapi.json"},
                                status_code=404)
    else:
        app.mount("/docs-assets", StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

        async def docs() -> Any:
            return HTMLResponse(DOCS_PAGE)

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


__all__ = ["CONTENT_SECURITY_POLICY", "DOCS_PAGE", "PAGE", "SECURITY_HEADERS", "add_pages"]
