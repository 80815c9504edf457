"""Load test of ``lstmkit serve`` on loopback: requests/s and p50/p99 latency for a classifier
and a tagger at 1, 8 and 32 concurrent clients, bounded in count and time.

Models: the classify task's default BiLSTM (embedding 100, 128 per direction, max pooling),
trained one epoch on a 2,000-review IMDB slice, and the tag task's default BiLSTM with the
character encoder, trained one epoch on UD English-EWT's dev file (the sizes are what matter
for latency). The server runs in its own process (``lstmkit serve``, micro-batching on);
the clients (a minimal asyncio HTTP/1.1 client, keep-alive) share the same 2 cores. Each request carries one text: a test
review cut to its first 60 words, or one EWT test sentence. Writes
``benchmarks/results/serve.json``.

    python benchmarks/bench_serve.py --requests 3000 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import write_result  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def train_models(tmp: Path) -> dict[str, Path]:
    import lstmkit

    rng = random.Random(0)
    with gzip.open(DATA / "imdb" / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rng.shuffle(rows)
    lstmkit.train("classify", data=[(r["text"], r["label"]) for r in rows[:2000]], epochs=1,
                  classify__max_len=400, run_dir=tmp / "classify")
    lstmkit.train("tag", data=str(DATA / "ud" / "UD_English-EWT" / "en_ewt-ud-dev.conllu"), epochs=1,
                  run_dir=tmp / "tag")
    return {"classify": tmp / "classify", "tag": tmp / "tag"}


def request_texts() -> dict[str, list[str]]:
    with gzip.open(DATA / "imdb" / "test.jsonl.gz", "rt", encoding="utf-8") as f:
        reviews = [" ".join(json.loads(line)["text"].split()[:60]) for _, line in zip(range(500), f)]
    sentences = []
    for line in (DATA / "ud" / "UD_English-EWT" / "en_ewt-ud-test.conllu").read_text(encoding="utf-8").splitlines():
        if line.startswith("# text = "):
            sentences.append(line[len("# text = "):])
        if len(sentences) >= 500:
            break
    return {"classify": reviews, "tag": sentences}


class Connection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: it costs the shared CPU far less
    than a full client library, so the numbers measure the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: dict) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(payload).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(url: str, model: str, texts: list[str], clients: int, total: int, seconds: float) -> dict:
    host, port = url.rsplit("//", 1)[1].split(":")
    latencies: list[float] = []
    errors = 0
    sent = 0
    stop_at = time.perf_counter() + seconds
    connections = [Connection(host, int(port)) for _ in range(clients)]

    async def worker(conn: Connection, k: int) -> None:
        nonlocal sent, errors
        while sent < total and time.perf_counter() < stop_at:
            sent += 1
            text = texts[(sent * 7 + k) % len(texts)]
            start = time.perf_counter()
            try:
                ok = await conn.post("/predict", {"model": model, "texts": [text]}) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration):
                ok, conn.writer = False, None
            latencies.append(time.perf_counter() - start)
            errors += not ok

    for _ in range(3):                                                # warm-up: every connection opened
        await asyncio.gather(*(c.post("/predict", {"model": model, "texts": [texts[k]]})
                               for k, c in enumerate(connections)))
    start = time.perf_counter()
    await asyncio.gather(*(worker(c, k) for k, c in enumerate(connections)))
    wall = time.perf_counter() - start
    for c in connections:
        c.close()
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [latencies[0]] * 99
    return {"clients": clients, "requests": len(latencies), "errors": errors, "seconds": wall,
            "requests_per_s": len(latencies) / wall, "p50_ms": 1000 * q[49], "p99_ms": 1000 * q[98]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="at most this many per level")
    parser.add_argument("--seconds", type=float, default=20, help="at most this long per level")
    args = parser.parse_args()
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        runs = train_models(Path(tmp))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", "serve", str(runs["classify"]),
                                   str(runs["tag"]), "--port", str(port)], stdout=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            texts = request_texts()
            results: dict[str, list[dict]] = {}
            for model in ("classify", "tag"):
                results[model] = []
                for clients in (1, 8, 32):
                    before = {m["name"]: m["batched_calls"] for m in httpx.get(url + "/models").json()}[model]
                    row = asyncio.run(load(url, model, texts[model], clients, args.requests, args.seconds))
                    after = {m["name"]: m["batched_calls"] for m in httpx.get(url + "/models").json()}[model]
                    row["model_calls"] = after - before               # warm-up requests included
                    results[model].append(row)
                    print(model, row)
            batching = {m["name"]: {"model_calls": m.get("batched_calls"), "items": m.get("batched_items")}
                        for m in httpx.get(url + "/models").json()}
        finally:
            server.terminate()
            server.wait(timeout=10)
    best = max(results["classify"], key=lambda r: r["requests_per_s"])
    path = write_result("serve", {
        "what": "loopback HTTP load, one text per request; clients and server share the machine",
        "server": "lstmkit serve (defaults: --threads 1, micro-batching without waiting; uvloop and httptools)",
        "client": "minimal asyncio HTTP/1.1 keep-alive client in one process",
        "limits": {"requests_per_level": args.requests, "seconds_per_level": args.seconds},
        "results": results,
        "micro_batching": batching,
        "goal": ">= 200 req/s with p99 < 50 ms for classify, 0 errors",
        "goal_met": any(r["requests_per_s"] >= 200 and r["p99_ms"] < 50 and r["errors"] == 0
                        for r in results["classify"]),
        "best_classify": best,
    })
    print(f"written {path}")


if __name__ == "__main__":
    main()
