"""lstmkit serve at the HTTP boundary: the body limit whatever the transfer encoding, one JSON
error shape ``{"error": message}`` for everything (unreadable bodies, out-of-range generate
options, exceptions in a handler), a generate stream that ends with a message line at the time
limit, and the start-up checks of ``lstmkit serve`` (limits, a busy port)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from test_serve import runs  # noqa: E402,F401 - the tiny runs of every task, trained once per session
from test_serve_security import live_server  # noqa: E402


@pytest.fixture(scope="module")
def app(runs):  # noqa: F811
    from lstmkit.serve.app import create_app

    return create_app([runs[t] for t in ("classify", "lm", "forecast")], max_body_bytes=1_000_000, timeout_s=10)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def _error(r, status: int) -> str:
    """The message of a JSON error answer of ``status``: exactly ``{"error": str}``, no traceback."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body
    assert "Traceback" not in r.text and 'File "' not in r.text, r.text
    return body["error"]


# --- the body limit, however the body is sent ----------------------------------------------

def _raw_exchange(base: str, request: bytes) -> tuple[int, dict]:
    """Send ``request`` as bytes on a fresh connection; the status and the JSON body of the answer."""
    host, port = base.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass                                          # the server may answer and close before it is all sent
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            if not chunk or (length and len(body) >= int(length.group(1))):
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head, "no answer"
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_chunked_body_over_the_limit_gets_413_from_uvicorn(runs):  # noqa: F811
    from lstmkit.serve.app import create_app

    app = create_app([runs["classify"]], max_body_bytes=10_000)
    chunk = b"x" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"    # 160 KB
    with live_server(app) as base:
        status, body = _raw_exchange(base, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks)
        assert status == 413 and "over the limit of 10,000 bytes" in body["error"], body
        small = b'{"texts": ["the film was great"]}'
        status, body = _raw_exchange(base, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                           + b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small))
        assert status == 200 and body["results"][0]["label"] in ("pos", "neg"), body


@pytest.mark.parametrize("declared", [None, b"10", b"abc", b"-1"])
def test_the_limit_holds_whatever_content_length_says(app, declared):
    """At the ASGI level: a body of 3 x 600 KB against a 1 MB limit, with a Content-Length that
    lies, is not a number, or is missing."""
    headers = [(b"content-type", b"application/json")] + ([(b"content-length", declared)] if declared else [])
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    parts = [b"[" + b" " * 600_000] * 3
    sent: list[dict] = []

    async def receive() -> dict:
        if parts:
            return {"type": "http.request", "body": parts.pop(), "more_body": bool(parts)}
        await asyncio.sleep(3600)                          # nothing more: the app must not wait for it
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    assert sent[0]["status"] == 413, sent[:2]
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert "over the limit of 1,000,000 bytes" in body["error"] and "--max-body" in body["error"]


# --- one JSON error shape for everything --------------------------------------------------

@pytest.mark.parametrize("body,status,message", [
    (b"[" * 100_000 + b"]" * 100_000, 422, "too deeply"),
    (b'{"model": "classify", "texts": ["\xff\xfe bad"]}', 422, "not UTF-8"),
    (b"not json at all", 422, "the body is not JSON (Expecting value at character 0)"),
    (b"", 422, "malformed request"),
    (b'{"model": "classify", "texts": ["a"]', 422, "malformed request"),
    (b'{"model": "classify", "texts": [' + b"9" * 5000 + b"]}", 422, "malformed request"),
    (b'{"model": "classify", "texts": [[[]]]}', 422, "texts"),
    (b'{"model": "\\ud800<x>", "texts": ["a"]}', 404, "\\ud800"),
], ids=["deep-nesting", "invalid-utf8", "not-json", "empty", "truncated", "huge-integer", "wrong-type",
        "lone-surrogate-name"])
def test_unreadable_bodies_get_the_error_shape(client, body, status, message):
    assert message in _error(client.post("/predict", content=body, headers={"content-type": "application/json"}),
                             status)
    assert client.get("/health").status_code == 200


def test_a_lone_surrogate_in_a_text_is_echoed_as_json(client):
    r = client.post("/predict", content=b'{"model": "classify", "texts": ["the film \\udc80 was great"]}',
                    headers={"content-type": "application/json"})
    if r.status_code == 200:                              # echoed back, as its JSON escape
        assert r.json()["results"][0]["text"] == "the film \udc80 was great"
    else:                                                 # or refused, naming it
        assert "\\udc80" in _error(r, 400)


@pytest.mark.parametrize("options,message", [
    ({"seed": 2**70}, "seed must be in 0..9223372036854775807 (2**63 - 1), got 1180591620717411303424"),
    ({"seed": 2**63}, "seed must be in 0.."),
    ({"seed": -1}, "seed"),
    ({"seed": 10**100}, "an integer of 101 digits"),
    ({"length": 10**30}, "length must be"),
    ({"length": -5}, "length must be"),
    ({"top_k": -1}, "top_k"),
    ({"top_k": 2**80}, "top_k"),
    ({"top_p": 0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"temperature": 0}, "temperature"),
    ({"temperature": 1e300}, "temperature"),
    ({"temperature": -1}, "temperature"),
    ({"prefix": "the \ud800"}, "prefix"),
    ({"prefix": "the " * 200_000}, "prefix"),
])
def test_generate_options_are_checked_before_the_stream(client, options, message):
    body = json.dumps({"model": "lm", "prefix": "the ", "length": 5, **options})     # ASCII: \\ud800 as an escape
    r = client.post("/generate", content=body.encode(), headers={"content-type": "application/json"})
    text = _error(r, 400)
    assert message in text and len(text) < 600, text


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_sampling_numbers_are_refused(client, raw):
    for field in (b"temperature", b"top_p"):
        body = b'{"model": "lm", "prefix": "the ", "%s": %s}' % (field, raw)
        assert field.decode() in _error(client.post("/generate", content=body,
                                                    headers={"content-type": "application/json"}), 400)


def test_a_long_generate_ends_with_a_message_at_the_time_limit(runs):  # noqa: F811
    from lstmkit.serve.app import create_app

    with TestClient(create_app([runs["lm"]], timeout_s=1.0)) as slow:
        start = time.monotonic()
        r = slow.post("/generate", json={"prefix": "the ", "length": 1_000_000, "seed": 0})
        took = time.monotonic() - start
    assert r.status_code == 200 and r.text.startswith("the ")
    last = r.text.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith("[lstmkit: stopped after ") and "of 1,000,000 tokens" in last, last[-300:]
    assert "time limit of 1 s" in last and "shorter length" in last
    assert took < 5, took


def test_inspecting_a_forecaster_names_the_missing_column(client):
    message = _error(client.post("/inspect", json={"model": "forecast", "data": {"x": [0.5] * 20}}), 400)
    assert "'OT'" in message and "got ['x']" in message and "/tmp" not in message, message
    uneven = _error(client.post("/inspect", json={"model": "forecast", "data": {"OT": [0.5] * 20, "x": [1.0]}}), 400)
    assert "different lengths" in uneven, uneven


def test_paths_and_methods_get_the_error_shape(client):
    assert "/docs" in _error(client.get("/nope"), 404)
    assert "GET is not allowed on '/predict'" in _error(client.get("/predict"), 405)
    assert "no model named" in _error(client.get("/runs/nope/metrics"), 404)
    assert "/docs" in _error(client.get("/static/nope.js"), 404)


def test_an_exception_in_a_handler_is_a_json_500(runs, monkeypatch):  # noqa: F811
    import lstmkit.serve.inspect
    from lstmkit.serve.app import create_app

    def broken(*args, **kwargs):
        raise RuntimeError("boom: a bug in the handler")

    app = create_app([runs["forecast"], runs["lm"]])
    monkeypatch.setattr(lstmkit.serve.inspect, "inspect_input", broken)
    monkeypatch.setattr(app.state.served["forecast"].run, "predict", broken)

    def stream(*args, **kwargs):
        yield "the "
        yield "q"
        raise RuntimeError("boom in the stream")

    monkeypatch.setattr(app.state.served["lm"].run, "stream", stream)
    with TestClient(app, raise_server_exceptions=False) as c:
        message = _error(c.post("/inspect", json={"model": "lm", "text": "the"}), 500)
        assert "RuntimeError: 'boom: a bug in the handler'" in message and "server log" in message
        assert "boom" in _error(c.post("/predict", json={"model": "forecast", "data": {"OT": [0.1] * 20}}), 500)
        r = c.post("/generate", json={"model": "lm", "prefix": "the ", "length": 5})
        assert r.status_code == 200 and r.text.startswith("the q")
        assert r.text.rstrip("\n").endswith("(RuntimeError: 'boom in the stream')]"), r.text
        assert c.get("/health").json()["status"] == "ok"


# --- lstmkit serve: refused at start ----------------------------------------------------------

@pytest.mark.parametrize("flag,value,got", [
    ("--timeout", "nan", "got nan"), ("--timeout", "0", "got 0.0"), ("--timeout", "-1", "got -1.0"),
    ("--timeout", "inf", "got inf"), ("--timeout", "1e9", "got 1000000000.0"), ("--max-body", "0", "got 0;"),
    ("--max-body", "-1", "got -1;")])
def test_serve_refuses_limits_that_answer_nothing(runs, capsys, flag, value, got):  # noqa: F811
    from lstmkit.cli import main

    assert main(["serve", str(runs["classify"]), "--port", "1", flag, value]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"lstmkit: error: {flag} ") and got in err and "for example" in err, err
    assert err.count("\n") == 1 and "serving" not in out


def test_create_app_checks_the_limits(runs):  # noqa: F811
    from lstmkit.errors import LstmkitError
    from lstmkit.serve.app import create_app

    for kwargs in ({"timeout_s": float("nan")}, {"timeout_s": 0}, {"max_body_bytes": 0}, {"max_body_bytes": 1.5}):
        with pytest.raises(LstmkitError, match="must be"):
            create_app([runs["classify"]], **kwargs)


def test_serve_says_a_busy_port_before_serving(runs, capsys):  # noqa: F811
    from lstmkit.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(runs["classify"]), "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"lstmkit: error: port {port} on 127.0.0.1 is in use; choose another --port", err
    assert "serving" not in out


# --- found by a tester after the cases above were written ------------------------------------

@pytest.mark.parametrize("body, words", [
    ({"model": "lm", "prefix": "the", "lenght": 5}, "unknown field 'lenght'"),
    ({"model": "lm", "prefix": "the", "temprature": 0.001}, "unknown field 'temprature'"),
    ({"model": "lm", "prefix": "the", "length": True}, "length"),
    ({"model": "lm", "prefix": "the", "seed": 1.0}, "seed"),
    ({"model": "lm", "prefix": "the", "top_p": "0.5"}, "top_p"),
])
def test_generate_refuses_unknown_fields_and_other_types(client, body, words):
    assert words in _error(client.post("/generate", json=body), 422)


def test_a_json_object_sent_as_text_is_asked_for_as_json(client):
    r = client.post("/predict", content=b'{"model": "classify", "texts": ["a film"]}',
                    headers={"content-type": "text/plain"})
    assert "Content-Type: application/json" in _error(r, 422)


def test_a_number_of_5000_digits_is_too_long_not_a_python_hint(client):
    r = client.post("/generate", content=b'{"model": "lm", "prefix": "the", "seed": ' + b"9" * 5000 + b"}",
                    headers={"content-type": "application/json"})
    message = _error(r, 422)
    assert "too many digits" in message and "sys.set_int_max_str_digits" not in message


def test_inspect_names_its_own_field_and_takes_one_image(client):
    lone = client.post("/inspect", content=b'{"model": "classify", "text": "a \\udc00 b"}',
                       headers={"content-type": "application/json"})
    assert _error(lone, 400).startswith("text holds a lone surrogate")
    message = _error(client.post("/inspect", json={"model": "lm", "text": "ZZZ\u2603"}), 400)
    assert message.startswith("text characters"), message
    rows = {"OT": ["abc"] + [0.1] * 59, "x": [1.0] * 60}
    assert "data row 1:" in _error(client.post("/predict", json={"model": "forecast", "data": rows}), 400)


def test_a_timeout_too_short_for_any_request_is_refused():
    from lstmkit.errors import LstmkitError
    from lstmkit.serve.app import check_limits

    for bad in (1e-300, 0.0001, 0.05):
        with pytest.raises(LstmkitError, match="--timeout"):
            check_limits(1_000_000, bad)
    check_limits(1_000_000, 0.1)


def test_a_client_that_never_finishes_its_headers_gets_408(runs):  # noqa: F811
    """Found by a tester: a connection trickling half a request's headers was held open for ever
    (enough of them take every connection slot)."""
    from lstmkit.serve.app import create_app

    app = create_app([runs["classify"]])
    with live_server(app, header_timeout_s=0.5) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            started = time.monotonic()
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"did not arrive within 0.5 s" in answer and waited < 5
        status, body = _raw_exchange(base, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 200 and body["status"] == "ok"                 # whole requests are answered
        with socket.create_connection((host, int(port)), timeout=10) as s:   # a keep-alive connection's next
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # request trickling: the same
            time.sleep(0.2)
            s.sendall(b"GET /health HTTP/1.1\r\nHo")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in answer, answer


def test_head_is_get_without_the_body(client):
    for path in ("/", "/health", "/static/page.js"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert "content-security-policy" in head.headers


@pytest.mark.parametrize("body, key", [('{"model": "classify", "texts": ["good"], "texts": ["bad"]}', "texts"),
                                       ('{"model": "lm", "prefix": "a", "length": 5, "length": 900}', "length"),
                                       ('{"model": "forecast", "data": {"OT": [1], "OT": [2]}}', "OT")])
def test_a_key_given_twice_is_refused_not_last_wins(client, body, key):
    """Found by a tester: {"texts": [...], "texts": [...]} answered for the last one, silently."""
    path = "/generate" if '"lm"' in body else "/predict"
    message = _error(client.post(path, content=body, headers={"content-type": "application/json"}), 422)
    assert message == f"malformed request: the key {key!r} appears twice in one object; send each field once"


def test_an_inverted_image_can_be_sent_with_invert(runs):  # noqa: F811
    """Found by a tester: the server said "pass --invert" and had no such option."""
    from lstmkit.serve.app import create_app

    with TestClient(create_app([runs["image"], runs["classify"]])) as c:
        light = {"model": "image", "images": [[[250.0] * 28] * 28]}
        assert '"invert": true over HTTP' in _error(c.post("/predict", json=light), 400)
        assert c.post("/predict", json={**light, "invert": True}).status_code == 200
        assert "not 'invert'" in _error(c.post("/predict", json={"model": "classify", "texts": ["a"], "invert": True}), 400)
        assert "invert: Input should be a valid boolean" in _error(c.post("/predict", json={**light, "invert": "yes"}), 422)
        assert '"invert": true over HTTP' in _error(c.post("/inspect", json=light), 400)     # /inspect takes it too
        seen = c.post("/inspect", json={**light, "invert": True})
        assert seen.status_code == 200 and seen.json()["prediction"] == c.post(
            "/predict", json={**light, "invert": True}).json()["results"][0]
        assert "for image models" in _error(c.post("/inspect", json={"model": "classify", "text": "a", "invert": True}),
                                            400)


def test_warnings_about_the_input_reach_the_client(client):
    """Found by a tester: a forecast's warnings (an outlier, far outside the training values)
    reached only the server's log; the client that sent the data heard nothing."""
    quiet = client.post("/predict", json={"model": "forecast", "data": {"OT": [0.1 * i for i in range(20)]}}).json()
    assert "warnings" not in quiet
    far = client.post("/predict", json={"model": "forecast", "data": {"OT": [0.1] * 19 + [1e30]}})
    assert far.status_code == 200, far.text
    (warning,) = far.json()["warnings"]
    assert "rows of data" in warning and "/tmp" not in warning and "input.csv" not in warning, warning
    seen = client.post("/inspect", json={"model": "forecast", "data": {"OT": [0.1] * 19 + [1e30]}}).json()
    assert seen["warnings"] and "/tmp" not in seen["warnings"][0] and seen["layers"], seen.get("warnings")


def test_inspecting_bad_forecast_data_names_the_row_not_the_scratch_file(client):
    message = _error(client.post("/inspect", json={"model": "forecast", "data": {"OT": [0.5] * 5 + ["abc"] + [0.5] * 14}}),
                     400)
    assert "data row 6" in message and "/tmp" not in message and "input.csv" not in message, message


def test_requests_the_server_cannot_read_get_an_answer_not_a_reset(runs):  # noqa: F811
    """Found by a tester: a 200 KB header got 'connection reset' (the socket was closed with the
    request unread), a body shorter than its Content-Length was '504, send less', an HTTP/1.0
    request without Host an unclear 421, and POST /predict/ an empty 307."""
    from lstmkit.serve.app import create_app

    app = create_app([runs["classify"]], timeout_s=1, hosts=frozenset({"127.0.0.1", "localhost"}))
    with live_server(app) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            try:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass                                          # the server stopped reading: the answer is there
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"].startswith("the request's line and headers are over")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                      b"content-length: 100\r\n\r\n{\"texts\": [")
            answer = s.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408") and b"Content-Length says 100 bytes, 11 came" in answer, answer
        status, body = _raw_exchange(base, b"GET /health HTTP/1.0\r\n\r\n")
        assert status == 400 and "no Host header" in body["error"], body
        status, body = _raw_exchange(base, b"POST /predict/ HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 2\r\n\r\n{}")
        assert status == 404 and "did you mean /predict (without the trailing slash)?" in body["error"], body


def test_a_forecast_past_year_9999_is_answered_with_a_warning(client):
    dates = [f"9999-12-{d:02d}" for d in range(12, 32)]
    r = client.post("/predict", json={"model": "forecast", "data": {"OT": [0.1 * i for i in range(20)], "date": dates}})
    assert r.status_code == 200, r.text
    assert "past the year 9999" in r.json()["warnings"][0] and "date" not in r.json()["results"][0]


def test_inspect_refuses_fields_its_model_does_not_read(client):
    message = _error(client.post("/inspect", json={"model": "classify", "text": "a", "data": {"OT": [1]}}), 400)
    assert "is inspected on \"text\", not 'data'" in message, message


def test_compressed_bodies_and_colour_pixels(runs):  # noqa: F811
    """Found by a tester: Content-Encoding br was ignored (a deflate body got 'not UTF-8'), and
    RGBA pixels were refused as 'not a number' although files of 1-4 channels are read."""
    from lstmkit.serve.app import create_app

    with TestClient(create_app([runs["image"]])) as c:
        r = c.post("/predict", content=b'{"images": []}', headers={"content-type": "application/json",
                                                                    "content-encoding": "br"})
        assert r.status_code == 415 and "Content-Encoding: 'br'" in r.json()["error"], r.text
        rgba = [[[0, 0, 0, 255]] * 28] * 28
        grey = [[0] * 28] * 28
        got = c.post("/predict", json={"images": [rgba]})
        assert got.status_code == 200, got.text
        assert got.json()["results"] == c.post("/predict", json={"images": [grey]}).json()["results"]


def test_the_header_limit_holds_for_a_head_that_arrives_whole_and_says_a_missing_host(runs, capfd):  # noqa: F811
    """Found by a tester: headers of 17-65 KB got 200 (h11 limits only a head that arrives in
    pieces), over 64 KB printed two tracebacks to the console, and HTTP/1.1 without Host was 'not
    valid HTTP/1.1' without saying what was missing."""
    from lstmkit.serve.app import create_app

    app = create_app([runs["classify"]], timeout_s=5)
    with live_server(app) as base:
        for head in (b"X-Big: " + b"a" * 17_000 + b"\r\n", b"".join(b"X-%d: v\r\n" % i for i in range(2_000)),
                     b"Cookie: " + b"c" * 30_000 + b"\r\n", b"X-Huge: " + b"a" * 200_000 + b"\r\n"):
            host, port = base.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=10) as s:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"Connection: close\r\n\r\n")
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
            assert "over 16,384 bytes" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
        status, body = _raw_exchange(base, b"GET /health?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 431, body
        status, body = _raw_exchange(base, b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert status == 400 and "no Host header, which HTTP/1.1 requires" in body["error"], body
        status, body = _raw_exchange(base, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ok: " + b"a" * 8_000 + b"\r\n\r\n")
        assert status == 200, body
    assert "Traceback" not in capfd.readouterr().err


def test_a_classify_text_of_unknown_words_is_answered_with_its_warning(client):
    r = client.post("/predict", json={"model": "classify", "texts": ["the film", "zzzq qqqz"]})
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == ["text 2 has no word the model knows; its label is a guess"]
