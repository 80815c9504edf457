"""Schema fuzzing of the lstmkit serve API from its own OpenAPI schema (schemathesis' pytest
integration against the ASGI app, no network): valid and invalid requests to every operation.
Each 4xx/5xx answer must be JSON ``{"error": message}``, no answer may be a 500, and the server
goes on answering /health. Bounded: a few examples per operation, a per-example deadline, and a
short server time limit so that no generation or inspection runs long."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from test_serve import runs  # noqa: E402,F401 - the tiny runs of every task, trained once per session

TASKS = ("classify", "tag", "lm", "forecast", "image")    # one served model of each; each named by its task
TIMEOUT_S = 1.0                   # the server's limit per request: a long /generate stops there
# per operation and mode: 360 requests, about 15 s on one core (LSTMKIT_FUZZ_EXAMPLES: more, for
# benchmarks/bench_reliability.py)
MAX_EXAMPLES = int(os.environ.get("LSTMKIT_FUZZ_EXAMPLES") or 40)


@pytest.fixture(scope="module")
def fuzzed_app(runs):  # noqa: F811
    from lstmkit.serve.app import create_app

    return create_app([runs[t] for t in TASKS], max_body_bytes=200_000,
                      timeout_s=TIMEOUT_S)


@pytest.fixture(scope="module")
def api_schema(fuzzed_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


# Every operation of the schema (test_the_list_is_every_operation keeps this in step), fuzzed with
# requests that fit the schema and with requests that do not.
OPERATIONS = [("GET", "/health"), ("GET", "/models"), ("POST", "/predict"), ("POST", "/generate"),
              ("POST", "/inspect"), ("GET", "/runs/{name}/metrics")]


def test_the_list_is_every_operation(api_schema):
    found = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


def _check(case) -> None:
    response = case.call()
    status, what = response.status_code, f"{case.method} {case.formatted_path} {case.body!r:.300}"
    assert status != 500, f"{what} -> 500: {response.content[:500]!r}"
    assert b"Traceback" not in response.content, what
    if status >= 400:
        assert response.headers["content-type"][0].startswith("application/json"), (what, status, response.headers)
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str), (what, body)
    assert response.headers["content-security-policy"], what


# (schemathesis' own pytest integration, schema.parametrize(), does not run under pytest 9 yet: it
# sets Function._nodeid, which pytest 9 no longer has; its strategies are driven with hypothesis here.)
@pytest.mark.parametrize("method,path,mode", [(m, p, "positive") for m, p in OPERATIONS] + [
    (m, p, "negative") for m, p in OPERATIONS if m == "POST"])     # a GET has nothing a schema forbids
def test_every_answer_from_the_schema_is_json_and_no_500(api_schema, method, path, mode):
    from hypothesis import given
    from hypothesis import strategies as st

    from schemathesis import GenerationMode

    strategy = api_schema[path][method].as_strategy(generation_mode=GenerationMode(mode))

    # Most requests name a served model (a random name only meets the 404), so the fuzzed texts,
    # images, columns and sampling options reach the models themselves.
    @given(case=strategy, model=st.sampled_from([*TASKS, None]))
    @settings(max_examples=MAX_EXAMPLES, deadline=timedelta(seconds=3 * TIMEOUT_S), database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case, model: str | None) -> None:
        ran.append(1)
        if model is not None and isinstance(case.body, dict):
            case.body["model"] = model
        elif model is not None and "{name}" in path:
            case.path_parameters = {"name": model}
        _check(case)

    ran: list[int] = []
    fuzz()
    print(f"fuzzed {len(ran)} requests of {method} {path} ({mode})")   # counted by bench_reliability (-s)
    assert ran


def test_the_server_still_answers_after_the_fuzzing(fuzzed_app):
    from fastapi.testclient import TestClient

    with TestClient(fuzzed_app) as client:
        assert client.get("/health").json() == {"status": "ok", "models": 5}
        ok = client.post("/predict", json={"model": "classify", "texts": ["the film was great"]})
        assert ok.status_code == 200, ok.text
