"""lstmkit serve against script injection: runs whose directory names, labels, tags, vocabulary
and generated text are script payloads, driven through the page in a real headless Chromium
(load, predict, inspect, generate) with no script of theirs running; the Content-Security-Policy
and nosniff headers on every response; /docs from the package only, working under the policy."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from test_serve import runs  # noqa: E402,F401 - the tiny runs of every task, trained once per session

STATIC = Path(__file__).resolve().parents[1] / "src" / "lstmkit" / "serve" / "static"

# Each sets a window flag or opens a dialog if it ever runs.
MARKUP = ["<img src=x onerror=window.__pwned=1>", "\"><svg onload=window.__pwned=2>",
          "</script><script>window.__pwned=3</script>", "javascript:window.__pwned=4",
          "'><img src=x onerror=alert(5)>"]
TOKENS = ["<img/src=x/onerror=window.__pwned=6>", "\"><svg/onload=window.__pwned=7>",   # no spaces: one token each
          "</script><script>window.__pwned=8</script>", "javascript:alert(9)"]
DIR_NAMES = {"classify": MARKUP[0], "tag": MARKUP[1], "lm": MARKUP[3]}   # directory names cannot hold "/"


def _train(argv: list[str]) -> None:
    from lstmkit.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--epochs", "1", "--no-progress", "-q", "--set", "model.hidden_size=8",
                     "--set", "model.embedding_dim=8"]) == 0, argv


@pytest.fixture(scope="module")
def payload_runs(tmp_path_factory) -> dict[str, Path]:
    """A classifier whose labels, a tagger whose tags, and a word-level LM whose vocabulary are
    payloads, each in a run directory named by a payload."""
    root = tmp_path_factory.mktemp("payloads")
    table = root / "table.csv"
    with table.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(40):
            w.writerow([f"the film was {'great' if i % 2 else 'dull'} {TOKENS[i % 4]}", MARKUP[2 + i % 2]])
    tags = root / "tags.tsv"
    tags.write_text("".join(f"the\t{MARKUP[1]}\n{TOKENS[i % 4]}\t{MARKUP[4]}\nruns\t{MARKUP[2]}\n\n" for i in range(20)),
                    encoding="utf-8")
    text = root / "lm.txt"
    text.write_text(" ".join(f"the {TOKENS[i % 4]} runs {MARKUP[3]}" for i in range(60)), encoding="utf-8")
    runs = {task: root / name for task, name in DIR_NAMES.items()}
    _train(["train", "classify", "--data", str(table), "--run-dir", str(runs["classify"]), "--set", "data.min_freq=1",
            "--set", "data.tokenizer=whitespace", "--set", "train.batch_size=8"])
    _train(["train", "tag", "--data", str(tags), "--run-dir", str(runs["tag"]), "--set", "train.batch_size=8"])
    _train(["train", "lm", "--data", str(text), "--run-dir", str(runs["lm"]), "--set", "lm.level=word",
            "--set", "data.tokenizer=whitespace", "--set", "lm.num_steps=8", "--set", "train.batch_size=4"])
    return runs


@contextlib.contextmanager
def live_server(app, header_timeout_s: float = 10.0):
    """``app`` under uvicorn on a free loopback port, in a thread, configured as ``lstmkit serve``
    configures it; yields the base URL."""
    import uvicorn

    from lstmkit.serve.app import listen_socket
    from lstmkit.serve.connections import server_config

    sock = listen_socket("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app, "127.0.0.1", 0, 1000, header_timeout_s))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _browser(p):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (sh install.sh --test installs it where apt-get can run)")
    return p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])


# Collects Content-Security-Policy violations: each one is markup that got into the page.
WATCH = ("window.__violations = []; document.addEventListener('securitypolicyviolation', "
         "(e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));")

# What injected markup would leave: elements the page never makes, or event-handler attributes.
INJECTED = """() => [...document.querySelectorAll('img, svg, iframe, object, embed, a, script:not([src])')]
    .map((e) => e.outerHTML).concat([...document.querySelectorAll('*')].flatMap((e) =>
    [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => e.tagName + ' ' + a.name)))"""


def drive_page(page, base: str) -> dict:
    """Load the page, then predict and inspect with the classifier and the tagger, generate and
    inspect with the LM; returns what the page showed and any sign of script that ran."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(WATCH)
    page.goto(base + "/")
    page.wait_for_function("() => document.querySelectorAll('#model option').length === 3")
    shown = {"options": page.eval_on_selector_all("#model option", "os => os.map((o) => o.textContent)")}

    def step(model: str, text: str, button: str, done: str) -> str:
        page.select_option("#model", model)
        page.fill("#text", text)
        page.click(button)
        page.wait_for_function(done)
        return page.text_content("#result")

    result_ready = "() => !['', '...'].includes(document.querySelector('#result').textContent)"
    heat_ready = "() => document.querySelector('canvas.heat[data-quantity=\"f\"]') !== null"
    shown["classify"] = step(DIR_NAMES["classify"], f"the film was great {TOKENS[0]}", "#run", result_ready)
    page.click("#inspect")
    page.wait_for_function(heat_ready)
    shown["classify tokens"] = page.text_content("#tokens")
    shown["tag"] = step(DIR_NAMES["tag"], f"the {TOKENS[1]} runs", "#run", result_ready)
    page.evaluate("() => document.querySelector('#heatmaps').replaceChildren()")
    page.click("#inspect")
    page.wait_for_function(heat_ready)
    shown["tag titles"] = page.eval_on_selector_all("#tokens span", "ss => ss.map((s) => s.title)")
    page.select_option("#model", DIR_NAMES["lm"])
    page.fill("#length", "40")
    page.fill("#temperature", "2")
    shown["lm"] = step(DIR_NAMES["lm"], "the", "#run", "() => document.querySelector('#result').textContent.length > 60")
    page.evaluate("() => document.querySelector('#heatmaps').replaceChildren()")
    page.click("#inspect")
    page.wait_for_function(heat_ready)
    page.hover("canvas.heat[data-quantity='h']")                       # the tooltip names a token
    shown["pwned"] = page.evaluate("() => window.__pwned")
    shown["violations"] = page.evaluate("() => window.__violations")
    shown["injected"] = page.evaluate(INJECTED)
    shown["dialogs"] = dialogs
    return shown


def test_payloads_in_names_labels_tags_and_text_never_run(payload_runs):
    from lstmkit.serve.app import create_app

    sync_api = pytest.importorskip("playwright.sync_api")
    app = create_app([payload_runs[t] for t in ("classify", "tag", "lm")])
    with live_server(app) as base, sync_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.set_default_timeout(15_000)                                  # bounded: each step or the test fails
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        shown = drive_page(page, base)
        browser.close()
    assert shown["pwned"] is None and shown["dialogs"] == [], shown
    assert shown["injected"] == [] and shown["violations"] == [], shown
    assert not errors, errors
    # the payloads reached the page, as text
    assert f"{MARKUP[0]} (classify)" in shown["options"] and f"{MARKUP[1]} (tag)" in shown["options"]
    assert any(label in shown["classify"] for label in MARKUP[2:4])
    assert TOKENS[0] in shown["classify tokens"]
    assert any(tag in shown["tag"] for tag in (MARKUP[1], MARKUP[2], MARKUP[4]))
    assert set(shown["tag titles"]) <= {MARKUP[1], MARKUP[2], MARKUP[4]} and shown["tag titles"]
    assert any(token in shown["lm"] for token in [*TOKENS, MARKUP[3]])


def test_the_page_puts_data_in_as_text_only():
    """No markup built from strings anywhere in the page's script, no inline script or style."""
    script = (STATIC / "page.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setAttribute(\"on", "javascript:"):
        assert sink not in script, sink
    code = re.sub(r"(^|\s)//.*$", "", script, flags=re.M)                   # comments may name markup
    literals = re.findall(r"`[^`]*`", code) + re.findall(r"\"[^\"\n]*\"|'[^'\n]*'", code)
    assert not [s for s in literals if re.search(r"<[a-zA-Z/!]", s)], "a string or template literal with markup"
    for name in ("index.html", "docs.html"):
        html = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script in {name}"
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), f"inline style or handler in {name}"


def test_every_response_has_the_security_headers(runs):
    from lstmkit.serve.app import create_app
    from lstmkit.serve.page import CONTENT_SECURITY_POLICY

    with TestClient(create_app([runs["classify"]], max_body_bytes=1000)) as client:
        answers = [client.get("/"), client.get("/health"), client.get("/static/page.js"), client.get("/docs"),
                   client.get("/nope"), client.post("/predict", json={"texts": [""]}),
                   client.post("/predict", content=b"x" * 2000), client.get("/openapi.json"),
                   client.get("/docs-assets/swagger-ui.css")]
    for r in answers:
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, r.url
        assert r.headers["x-content-type-options"] == "nosniff", r.url
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert answers[2].headers["content-type"].startswith("text/javascript")


def test_docs_load_from_this_server_only(runs):
    """/docs references same-origin URLs only, and Swagger UI renders under the policy offline."""
    from lstmkit.serve.app import create_app

    app = create_app([runs["classify"]])
    with TestClient(app) as client:
        html = client.get("/docs").text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
        assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
        assert all(client.get(u).status_code == 200 for u in urls), urls
    sync_api = pytest.importorskip("playwright.sync_api")
    with live_server(app) as base, sync_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.add_init_script(WATCH)
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock-summary-path >> text=/predict")
        violations = page.evaluate("() => window.__violations")
        browser.close()
    assert violations == [], violations
    assert requested and all(u.startswith(base + "/") or u.startswith("data:") for u in requested), requested


def test_the_page_says_what_is_wrong_with_a_file_or_a_number(runs):
    """Odd input at the page ends in a message in the result box, never a script error: no file
    chosen, a PNG or a text given to a forecaster, a .npy given to the image model; a quoted CSV is
    read as CSV, and an empty temperature means the server's default."""
    from lstmkit.serve.app import create_app

    sync_api = pytest.importorskip("playwright.sync_api")
    rows = ['"date","OT","x"'] + [f'"2020-01-01 {i:02d}:00:00","{0.1 * i}","{0.2 * i}"' for i in range(20)]
    png = bytes.fromhex("89504e470d0a1a0a") + b"\0" * 40
    app = create_app([runs[t] for t in ("forecast", "image", "lm")])
    with live_server(app) as base, sync_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.wait_for_function("() => document.querySelectorAll('#model option').length === 3")

        def result(files=None) -> tuple[str, str]:
            page.evaluate("() => { document.querySelector('#result').textContent = ''; }")
            if files is not None:
                page.set_input_files("#file", files)
            page.click("#run")
            page.wait_for_function("() => !['', '...'].includes(document.querySelector('#result').textContent)")
            return page.text_content("#result"), page.get_attribute("#result", "class")

        page.select_option("#model", "forecast")
        shown = {"none": result(),
                 "png": result({"name": "plot.png", "mimeType": "image/png", "buffer": png}),
                 "ragged": result({"name": "r.csv", "mimeType": "text/csv", "buffer": b"date,OT,x\n1,2\n"}),
                 "quoted": result({"name": "q.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()})}
        hexed = "date,OT,x\n" + "".join(f"2020-01-01 {i:02d}:00:00,0x10,1\n" for i in range(20))
        shown["hex"] = result({"name": "h.csv", "mimeType": "text/csv", "buffer": hexed.encode()})
        named = "toString,OT,x\n" + "".join(f"a,{0.1 * i},1\n" for i in range(20))
        shown["toString"] = result({"name": "t.csv", "mimeType": "text/csv", "buffer": named.encode()})
        page.select_option("#model", "image")
        one = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                            "1f15c4890000000d49444154789c63f8cfc0f01f0005000201c4e3a1e50000000049454e44ae426082")
        shown["1x1"] = result({"name": "dot.png", "mimeType": "image/png", "buffer": one})
        shown["npy"] = result({"name": "digit.npy", "mimeType": "application/octet-stream", "buffer": b"\x93NUMPY"})
        shown["bad png"] = result({"name": "digit.png", "mimeType": "image/png", "buffer": png})
        page.select_option("#model", "lm")
        page.fill("#text", "the ")
        page.fill("#temperature", "")
        page.fill("#length", "20")
        shown["empty temperature"] = result()
        browser.close()
    assert not errors, errors
    assert shown["none"] == ("choose a CSV file first (with the columns the model was trained on)", "error")
    assert "plot.png is not a CSV file" in shown["png"][0] and shown["png"][1] == "error"
    assert "r.csv: row 2 has 2 fields where the header has 3" == shown["ragged"][0]
    assert shown["quoted"][1] != "error" and '"step":1' in shown["quoted"][0], shown["quoted"]
    assert "0x10" in shown["hex"][0] and shown["hex"][1] == "error", shown["hex"]     # as the CLI: not 16
    assert "twice" not in shown["toString"][0], shown["toString"]
    assert shown["1x1"] == ("dot.png is 1x1; the model reads a square image of a digit, 28x28 or larger: crop it",
                            "error")
    assert "digit.npy" in shown["npy"][0] and "lstmkit predict" in shown["npy"][0], shown["npy"]
    assert "digit.png is not an image this browser can read" in shown["bad png"][0]
    assert shown["empty temperature"][1] != "error" and shown["empty temperature"][0].startswith("the ")
