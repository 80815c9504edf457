"""Reliability: the bad-input table, kill -9 trials and the memory of a 10 MB input, counted.

1. Runs every case of ``tests/test_bad_input.py`` (bad flags, config values, data files,
   damaged run directories, for all subcommands) and counts the verdicts: clean (exit 2, one
   ``lstmkit: error:`` line naming the value), unclear, traceback, silent (exit 0),
   half-written.
2. Kills training of every task with SIGKILL at random moments (``--kills`` per task) and
   checks that the run directory is either absent or loads and resumes.
3. Tags one 10 MB line with a tagger run in a child process and records its peak RSS.
4. Kills ``export``, ``eval``, ``predict`` and ``save_vectors`` with SIGKILL at random moments
   (``--output-kills`` each) and checks that every file they write is whole (old or new).
5. Fills a 1 MiB tmpfs (where one can be mounted) while replacing a file, ``--disk-trials``
   times, and checks the old file is whole and no temporary is left.
6. Runs the fuzzing tests (hypothesis over the file readers, the Python API's signatures and
   the HTTP API's OpenAPI schema) with ``--fuzz-examples`` examples each and counts them.

Writes ``benchmarks/results/reliability.json``.

    python benchmarks/bench_reliability.py --kills 3 --output-kills 5 --disk-trials 20 --fuzz-examples 300
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
from common import write_result  # noqa: E402

import test_bad_input as table  # noqa: E402


def run_table(ws: table.Workspace, scratch: Path) -> dict:
    counts: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    not_clean = []
    for i, c in enumerate(table.CASES):
        tmp = scratch / f"case-{i}"
        tmp.mkdir()
        outcome = table.run_case(c, ws, tmp)
        result = table.verdict(c, outcome, ws, tmp)
        counts[result] += 1
        by_kind[c.id.split("-")[0]][result] += 1
        if result != "clean":
            not_clean.append({"case": c.id, "verdict": result, "exit": outcome.code, "stderr": outcome.err[-400:]})
    return {"cases": len(table.CASES), "verdicts": dict(counts), "by_kind": {k: dict(v) for k, v in by_kind.items()},
            "not_clean": not_clean}


def kill_trials(ws: table.Workspace, scratch: Path, kills: int, seed: int) -> dict:
    rng = random.Random(seed)
    trials = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for task in table.TASKS:
        for k in range(kills):
            run = scratch / f"kill-{task}-{k}"
            args = [sys.executable, "-m", "lstmkit.cli", "-q", "train", task, "--data", str(ws.data[task]),
                    "--run-dir", str(run), "--epochs", "30", "--no-progress", "--set", "model.hidden_size=8",
                    *table.TRAIN_FLAGS[task]]
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.5, 6.0)                    # start-up, data, first epochs or a save
            time.sleep(delay)
            finished = proc.poll() is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            trial = {"task": task, "kill_after_s": round(delay, 2), "finished_before_kill": finished}
            if not run.exists() or not (run / "config.json").exists():
                trial["state"] = "no run yet" if not run.exists() or not any(run.iterdir()) else "partial directory"
                trial["ok"] = not run.exists() or not (run / "model.safetensors").exists()
            else:
                loads = subprocess.run([sys.executable, "-c", f"import lstmkit; lstmkit.load({str(run)!r})"],
                                       env=env, capture_output=True, text=True)
                resumed = subprocess.run([sys.executable, "-m", "lstmkit.cli", "-q", "train", task, "--resume",
                                          "--run-dir", str(run), "--epochs", "31", "--no-progress"],
                                         env=env, capture_output=True, text=True)
                trial.update(state="run", loads=loads.returncode == 0, resumes=resumed.returncode == 0,
                             errors=(loads.stderr + resumed.stderr)[-300:])
                trial["ok"] = trial["loads"] and trial["resumes"]
            trials.append(trial)
            print(trial)
    return {"trials": trials, "ok": sum(t["ok"] for t in trials), "total": len(trials)}


def memory_of_long_line(ws: table.Workspace, scratch: Path, megabytes: int) -> dict:
    words = ["the", "cat", "runs", "a", "dog", "sees", "bird"]
    rng = random.Random(0)
    path = scratch / "long.txt"
    with path.open("w") as f:
        size = 0
        while size < megabytes * 2**20:
            chunk = " ".join(rng.choice(words) for _ in range(10_000)) + " "
            f.write(chunk)
            size += len(chunk)
        f.write("\n")
    code = ("import resource, subprocess, sys; r = subprocess.run([sys.executable, '-m', 'lstmkit.cli', 'predict', "
            f"{str(ws.runs['tag'])!r}, '--file', {str(path)!r}, '--tokenizer', 'whitespace'], "
            "stdout=subprocess.DEVNULL); "
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {"input_bytes": path.stat().st_size, "exit": int(out[0]), "peak_rss_mib": int(out[1]) / 1024,
            "seconds": time.perf_counter() - start}


def output_kills(trials: int, seed: int, scratch: Path) -> dict:
    """kill -9 during commands that write outputs; each written file must be whole afterwards."""
    import shutil

    import test_kill_outputs as k

    rng = random.Random(seed)
    root = scratch / "outputs"
    root.mkdir()
    for task in ("classify", "forecast", "image"):
        shutil.copytree(k.FIXTURES / task, root / task)
    k.fake_mnist(root / "mnist", n_train=40, n_test=300)
    out = {}
    commands = {
        "export": (["export", str(root / "classify"), "--format", "pt2", "--output", str(root / "m.pt2"), "--force"],
                   8.0, lambda: __import__("torch").export.load(str(root / "m.pt2"))),
        "eval": (["eval", str(root / "image"), "--data", str(root / "mnist")], 7.0,
                 lambda: (k._whole_json(root / "image" / "eval.json"), k._whole_png(root / "image" / "confusion.png"))),
        "predict": (["predict", str(root / "forecast"), "--data", str(k.FIXTURES / "recent.csv"), "--output",
                     str(root / "f.csv"), "--force"], 6.0, lambda: (root / "f.csv").read_text().count("\n") > 1),
    }
    for name, (argv, longest, check) in commands.items():
        k._complete(argv)
        whole = 0
        for _ in range(trials):
            k._kill_at_random(argv, rng, longest)
            try:
                check()
                whole += 1
            except Exception as err:                            # noqa: BLE001 - any failure to read is a verdict
                print(name, "partial:", err)
        out[name] = {"trials": trials, "whole_after_kill": whole}
    return out


def full_disk(trials: int, scratch: Path) -> dict:
    import errno

    from lstmkit.files import TMP_MARK, write_file

    mount = scratch / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        return {"skipped": f"cannot mount a tmpfs: {done.stderr.decode().strip()[:100]}"}
    kept = 0
    try:
        for i in range(trials):
            old = bytes([i % 256]) * 200_000
            write_file(mount / "model.onnx", old)
            try:
                write_file(mount / "model.onnx", b"n" * (900_000 + 1000 * i))
            except OSError as err:
                assert err.errno == errno.ENOSPC
            strays = [p for p in mount.iterdir() if TMP_MARK in p.name]
            kept += (mount / "model.onnx").read_bytes() == old and not strays
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    return {"trials": trials, "old_file_whole_no_temporary": kept}


def fuzzing(examples: int) -> dict:
    files = ["tests/test_fuzz_readers.py", "tests/test_api_boundary.py", "tests/test_serve_fuzz.py"]
    out = {}
    for name in files:
        if not (ROOT / name).exists():
            continue
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", name,
                               "--hypothesis-show-statistics", "--hypothesis-seed=0"], cwd=ROOT, capture_output=True,
                              text=True,
                              env={**os.environ, "LSTMKIT_FUZZ_EXAMPLES": str(examples)})
        import re

        passing = sum(int(n) for n in re.findall(r"(\d+) passing(?: examples)?,", done.stdout))
        passing += sum(int(n) for n in re.findall(r"fuzzed (\d+) requests of ", done.stdout))  # schemathesis
        failing = sum(int(n) for n in re.findall(r"(\d+) failing(?: examples)?,", done.stdout))
        out[name] = {"exit": done.returncode, "passing_examples": passing, "failing_examples": failing,
                     "tests": len(re.findall(r"^tests/\S+::\S+:$", done.stdout, re.M))
                     + len(re.findall(r"fuzzed \d+ requests of ", done.stdout)),
                     "seconds": round(time.perf_counter() - start, 1)}
        print(name, out[name])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3, help="kill -9 trials per task")
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-kills", type=int, default=5, help="kill -9 trials per output-writing command")
    parser.add_argument("--disk-trials", type=int, default=20)
    parser.add_argument("--fuzz-examples", type=int, default=300, help="hypothesis examples per fuzzing test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        ws = table.build_workspace(scratch / "ws")
        cases = run_table(ws, scratch)
        print("bad-input table:", cases["verdicts"])
        memory = memory_of_long_line(ws, scratch, args.megabytes)
        print("10 MB line:", memory)
        kills = kill_trials(ws, scratch, args.kills, args.seed)
        print(f"kill -9: {kills['ok']} of {kills['total']} runs absent or loadable and resumable")
        outputs = output_kills(args.output_kills, args.seed, scratch)
        print("kill -9 of output writers:", outputs)
        disk = full_disk(args.disk_trials, scratch)
        print("full disk:", disk)
    fuzz = fuzzing(args.fuzz_examples)
    path = write_result("reliability", {"bad_input": cases, "kill_9": kills, "kill_9_outputs": outputs,
                                        "full_disk": disk, "fuzzing": fuzz, "long_line_tagging": memory,
                                        "peak_rss_of_this_process_mib": resource.getrusage(
                                            resource.RUSAGE_SELF).ru_maxrss / 1024})
    print(f"written {path}")


if __name__ == "__main__":
    main()
