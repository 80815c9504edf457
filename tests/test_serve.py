"""lstmkit serve: the JSON API for every task, clear JSON errors, micro-batching, and the web
page with the gate inspector in a real headless Chromium (loopback only)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "inspector.png"


_TRAINED: dict[str, dict[str, Path]] = {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny run per task, trained once per session: the other test_serve_*.py files import
    this fixture (runs are never modified)."""
    from workspace import build_workspace

    if "runs" not in _TRAINED:
        _TRAINED["runs"] = build_workspace(tmp_path_factory.mktemp("serve")).runs
    return _TRAINED["runs"]


@pytest.fixture(scope="module")
def client(runs):
    from lstmkit.serve.app import create_app

    app = create_app([runs[t] for t in ("classify", "tag", "lm", "forecast", "image")], max_body_bytes=200_000)
    with TestClient(app) as c:
        yield c


def test_health_models_and_openapi(client):
    assert client.get("/health").json() == {"status": "ok", "models": 5}
    tasks = {m["name"]: m["task"] for m in client.get("/models").json()}
    assert tasks == {"classify": "classify", "tag": "tag", "lm": "lm", "forecast": "forecast", "image": "image"}
    assert "/predict" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_predict_for_every_task(client):
    import lstmkit

    out = client.post("/predict", json={"model": "classify", "texts": ["the film was great 1", "dull"]}).json()
    assert [r["text"] for r in out["results"]] == ["the film was great 1", "dull"]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in out["results"])
    tagged = client.post("/predict", json={"model": "tag", "texts": ["the cat runs"]}).json()["results"][0]
    assert [p["word"] for p in tagged] == ["the", "cat", "runs"]
    rows = client.post("/predict", json={"model": "forecast", "data": {"OT": [0.1 * i for i in range(20)]}}).json()
    assert [r["step"] for r in rows["results"]] == [1, 2]
    digit = client.post("/predict", json={"model": "image", "images": [[[0.0] * 28] * 28]}).json()["results"][0]
    assert 0 <= digit["label"] <= 9
    text = client.post("/generate", json={"model": "lm", "prefix": "the ", "length": 30, "seed": 0}).text
    assert text.startswith("the ") and len(text) == 34
    assert text == lstmkit.load(client.app.state.served["lm"].run.run_dir).generate("the ", 30, 0.8, 0, 1.0, 0)


@pytest.mark.parametrize("path,body,status,message", [
    ("/predict", {"model": "nope", "texts": ["a"]}, 404, "no model named 'nope'"),
    ("/predict", {"model": "lm", "texts": ["a"]}, 400, "use /generate"),
    ("/predict", {"model": "classify", "texts": [""]}, 400, "text 1 is empty"),
    ("/predict", {"model": "classify", "texts": "not a list"}, 422, "texts"),
    ("/predict", {"model": "classify"}, 400, "give \"texts\""),
    ("/predict", {"texts": ["a"]}, 400, "several models are served"),
    ("/predict", {"model": "classify", "texts": ["a"] * 300}, 400, "at most 256"),
    ("/predict", {"model": "image", "images": [[[1.0] * 32] * 32]}, 400, "32x32"),
    ("/predict", {"model": "forecast", "data": {"x": [1.0] * 20}}, 400, "OT"),
    ("/generate", {"model": "lm", "prefix": "the", "length": 0}, 400, "length must be >= 1"),
    ("/generate", {"model": "lm", "prefix": "the", "temperature": 1e-40}, 400, "temperature"),
    ("/generate", {"model": "lm", "prefix": "the 42"}, 400, "42"),
    ("/generate", {"model": "classify", "prefix": "a"}, 400, "is a classify run"),
    ("/inspect", {"model": "image", "text": "a"}, 400, "inspected on \"images\""),
    ("/inspect", {"model": "forecast"}, 400, "\"data\""),
])
def test_bad_requests_get_json_errors_and_the_server_goes_on(client, path, body, status, message):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert client.get("/health").status_code == 200


def test_oversized_and_malformed_bodies(client):
    r = client.post("/predict", content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit of 200,000" in r.json()["error"]
    r = client.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "malformed request" in r.json()["error"]
    nan_image = '{"model": "image", "images": [[' + ",".join(["[" + ",".join(["NaN"] * 28) + "]"] * 28) + "]]}"
    r = client.post("/predict", content=nan_image.encode(), headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and "error" in r.json()


def test_concurrent_requests_share_model_calls(runs):
    from lstmkit.serve.batching import MicroBatcher

    calls = []

    def model(items):
        calls.append(len(items))
        time.sleep(0.01)
        return [item * 2 for item in items]

    async def main():
        batcher = MicroBatcher(model, max_items=64, max_wait_s=0.005)
        results = await asyncio.gather(*(batcher.submit([i, i + 100]) for i in range(40)))
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert results == [([2 * i, 2 * (i + 100)], []) for i in range(40)]    # each gets its own answers
    assert sum(calls) == 80 and len(calls) < 40                              # in fewer calls than requests


def test_one_bad_request_in_a_batch_fails_alone():
    from lstmkit.serve.batching import MicroBatcher

    def model(items):
        if "bad" in items:
            raise ValueError("bad item")
        return [x.upper() for x in items]

    async def main():
        batcher = MicroBatcher(model, max_wait_s=0.01)
        return await asyncio.gather(batcher.submit(["a"]), batcher.submit(["bad"]), batcher.submit(["c"]),
                                    return_exceptions=True)

    good_a, bad, good_c = asyncio.run(main())
    assert good_a == (["A"], []) and good_c == (["C"], []) and isinstance(bad, ValueError)


def test_a_request_that_timed_out_neither_stops_the_batcher_nor_costs_a_model_call():
    """Found by a tester: a queued request that timed out (its future cancelled) and then failed
    in the model made the worker raise InvalidStateError and die; every later request hung."""
    from lstmkit.serve.batching import MicroBatcher

    seen = []

    def model(items):
        seen.append(list(items))
        time.sleep(0.3)
        if "bad" in items:
            raise ValueError("bad item")
        return items

    async def main():
        batcher = MicroBatcher(model)
        slow = asyncio.create_task(batcher.submit(["slow"]))
        await asyncio.sleep(0.05)
        for doomed in (["bad"], ["bad", "x"]):                  # time out while queued behind "slow"
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(batcher.submit(doomed), 0.1)
        assert await slow == (["slow"], [])
        good = await asyncio.wait_for(batcher.submit(["good"]), 5)
        assert not batcher.worker.done()
        await batcher.close()
        return good

    assert asyncio.run(main()) == (["good"], [])
    assert ["bad"] not in seen and ["bad", "x"] not in seen     # answered already: never computed


def test_each_request_of_a_batch_hears_its_own_warnings_in_its_own_numbers():
    """Found by a tester: a classify text with no known word was answered without the warning
    the server's log had; in a batch, "text 3" would name another client's text."""
    import logging

    from lstmkit.serve.batching import MicroBatcher

    log = logging.getLogger("lstmkit.test")

    def model(items):
        time.sleep(0.02)
        for number, item in enumerate(items, 1):
            if item == "?":
                log.warning("text %d has no word the model knows", number)
        return [item * 2 for item in items]

    async def main():
        batcher = MicroBatcher(model, max_wait_s=0.01)
        return await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["c", "?"]), batcher.submit(["?"]))

    first, second, third = asyncio.run(main())
    assert first == (["aa", "bb"], [])
    assert second == (["cc", "??"], ["text 2 has no word the model knows"])
    assert third == (["??"], ["text 1 has no word the model knows"])


def test_inspect_returns_gates_per_token(client):
    out = client.post("/inspect", json={"model": "classify", "text": "the film was great"}).json()
    assert out["tokens"] == ["the", "film", "was", "great"] and out["cell"] == "lstm"
    forward = out["layers"][0]
    assert forward["direction"] == "forward" and set(forward["gates"]) == {"i", "f", "g", "o"}
    assert len(forward["h"]) == 4 and len(forward["f"][0]) == len(forward["h"][0])
    assert all(0 <= v <= 1 for row in forward["f"] for v in row)
    assert out["prediction"]["label"] in ("pos", "neg")
    lm = client.post("/inspect", json={"model": "lm", "text": "the quick"}).json()
    assert "".join(lm["tokens"]) == "the quick"
    digit = client.post("/inspect", json={"model": "image", "images": [[[0.0] * 28] * 28]}).json()
    assert len(digit["tokens"]) == 28 and len(digit["layers"][0]["h"]) == 28 and "prediction" in digit
    window = client.post("/inspect", json={"model": "forecast", "data": {"OT": [0.1 * i for i in range(20)]}}).json()
    assert window["tokens"][-1] == "t-1" and set(window["layers"][0]["gates"]) == {"i", "f", "g", "o"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(runs):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", "serve", str(runs["classify"]), str(runs["lm"]),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_the_page_in_a_headless_browser(server):
    """Load the page, submit a text, see the prediction and a drawn heatmap; save a screenshot."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (sh install.sh --test installs it where apt-get can run)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/")
        page.wait_for_function("() => document.querySelectorAll('#model option').length === 2")
        page.select_option("#model", "classify")
        page.fill("#text", "the film was great 1")
        page.click("#run")
        page.wait_for_function("() => /(pos|neg)  \\(/.test(document.querySelector('#result').textContent)")
        page.click("#inspect")
        page.wait_for_selector("canvas.heat[data-quantity='f']")
        heat = page.eval_on_selector("canvas.heat[data-quantity='f']", "c => [c.width, c.height]")
        assert heat[0] == 5 * 14 and heat[1] > 0                           # 5 tokens wide
        painted = page.eval_on_selector("canvas.heat[data-quantity='h']", """c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let coloured = 0; for (let i = 0; i < d.length; i += 4) if (d[i] !== d[i + 2]) coloured++;
            return coloured; }""")
        assert painted > 0                                                  # not a blank canvas
        assert page.locator("#layer option").count() == 2                   # forward and backward
        page.click(".neuron >> nth=0")
        assert page.is_visible("#trace")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.select_option("#model", "lm")
        page.fill("#text", "the ")
        page.click("#run")
        page.wait_for_function("() => document.querySelector('#result').textContent.length >= 100")
        assert page.text_content("#result").startswith("the ")
        browser.close()
    assert not errors, errors


def test_calls_that_outlive_their_504_are_bounded(runs):
    """Found by a tester: a 504 does not stop the model call (Python cannot stop a thread), so
    slow requests queued up work. The calls still running are counted until their threads
    return; past the bound a request gets 503 at once, and the slots come back."""
    import threading

    import lstmkit.serve.app as serve_app
    from lstmkit.serve.app import create_app

    app = create_app([runs["image"]], timeout_s=0.2)
    served = next(iter(app.state.served.values()))
    release, started = threading.Event(), []
    real = served.run.predict

    def slow(images, *args):
        started.append(1)
        release.wait(10)
        return real(images, *args)

    served.run.predict = slow
    digit = {"images": [[[0.0] * 28] * 28]}
    try:
        with TestClient(app) as c:
            for _ in range(serve_app.MODEL_CALLS):
                assert c.post("/predict", json=digit).status_code == 504
            assert app.state.calls.running == serve_app.MODEL_CALLS          # their threads run on
            r = c.post("/predict", json=digit)
            assert r.status_code == 503 and r.headers["retry-after"] == "2"
            assert "busy" in r.json()["error"] and len(started) == serve_app.MODEL_CALLS   # never started
            release.set()
            deadline = time.monotonic() + 10
            while app.state.calls.running and time.monotonic() < deadline:
                time.sleep(0.01)
            served.run.predict = real
            assert c.post("/predict", json=digit).status_code == 200
    finally:
        release.set()
        served.run.predict = real


def test_a_request_past_the_time_limit_gets_504(runs, monkeypatch):
    import lstmkit.serve.limits as serve_limits
    from lstmkit.serve.app import create_app

    import lstmkit.serve.inspect as inspect_module

    real = inspect_module.inspect_input

    def slow_inspect(*args):                                     # a sure 504, however loaded the machine
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setattr(inspect_module, "inspect_input", slow_inspect)
    monkeypatch.setattr(serve_limits, "MIN_TIMEOUT_S", 0.0)         # below the floor a user may set
    app = create_app([runs["lm"]], timeout_s=0.001)
    with TestClient(app) as slow:
        r = slow.post("/inspect", json={"text": "the quick brown fox " * 4})
        assert r.status_code == 504 and "longer than 0.001 s" in r.json()["error"]


def test_served_names_are_unique_without_made_up_suffixes(runs, tmp_path):
    """Found by a tester: `serve a/cls b/cls cls-2` named b/cls "cls-2" and the folder cls-2
    "cls-2-2": a client asking for cls-2 got the wrong model."""
    import shutil

    from lstmkit.errors import LstmkitError
    from lstmkit.serve.app import create_app, loopback_hosts

    for folder in ("a/cls", "b/cls", "cls-2"):
        shutil.copytree(runs["classify"], tmp_path / folder)
    app = create_app([tmp_path / "a" / "cls", tmp_path / "b" / "cls", tmp_path / "cls-2"])
    assert sorted(app.state.served) == ["a:cls", "b:cls", "cls-2"]
    with pytest.raises(LstmkitError, match="more than once"):
        create_app([tmp_path / "cls-2", tmp_path / "a" / ".." / "cls-2"])
    hosts = loopback_hosts("127.0.0.1")
    with TestClient(create_app([runs["classify"]], hosts=hosts)) as c:
        assert c.get("/health", headers={"host": "127.0.0.1:8000"}).status_code == 200
        assert c.get("/health", headers={"host": "localhost"}).status_code == 200
        r = c.get("/models", headers={"host": "evil.example.com"})
        assert r.status_code == 421 and "DNS rebinding" in r.json()["error"]
    assert loopback_hosts("0.0.0.0") is None


def test_nested_request_values_are_strict(client):
    """Found by a tester: `true` in a forecast column was read as 1.0, pixels "200" as 200."""
    r = client.post("/predict", json={"model": "image", "images": [[[True] * 28] * 28]})
    assert r.status_code == 422
    r = client.post("/predict", json={"model": "image", "images": [[["200"] * 28] * 28]})
    assert r.status_code == 422


def test_serve_threads_are_bounded(runs, capsys):
    """Found by a tester: --threads 1000000 was accepted and exhausted the machine's processes."""
    from lstmkit.cli import main

    assert main(["serve", str(runs["classify"]), "--threads", "1000000", "--port", "8799"]) == 2
    assert "--threads must be in 1.." in capsys.readouterr().err


def test_messages_for_strings_as_numbers_and_gzip_bodies(client):
    import gzip

    r = client.post("/generate", json={"model": "lm", "prefix": "the", "temperature": "0.5"})
    assert r.status_code == 422 and "temperature: must be a JSON number" in r.json()["error"]
    r = client.post("/predict", content=gzip.compress(b'{"texts": ["a"]}'), headers={"content-type": "application/json"})
    assert r.status_code == 422 and "gzip-compressed" in r.json()["error"]


def test_fields_for_another_task_are_refused_not_ignored(client):
    """Found by a tester: "images" sent to a classifier were ignored."""
    r = client.post("/predict", json={"model": "classify", "texts": ["a film"], "images": [[[0.0] * 28] * 28]})
    assert r.status_code == 400 and "reads \"texts\", not 'images'" in r.json()["error"]
