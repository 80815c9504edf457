"""A redesign keeps behaviour: the quick jobs give the same numbers on the old code and the new.

Runs, one after another, for an old checkout's ``src`` and for this tree's:

- the README's main job: ``lstmkit train lm --epochs 5`` (The Time Machine, shipped);
- ``lstmkit train tag --data ud-en-ewt --epochs 1`` (the full treebank);
- ``lstmkit train classify --epochs 1 --seed 0`` on an IMDB slice (3,000 training and 1,000
  test reviews drawn with seed 0 from the full set);

and writes each run's per-epoch metrics and test scores, and whether old and new agree, to
``benchmarks/results/same_numbers.json``.

    git worktree add /tmp/old bbb8c38
    python benchmarks/bench_same_numbers.py --old-src /tmp/old/src --data ../shared/data
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

ENTRY = "import sys; from lstmkit.cli import main; sys.exit(main(sys.argv[1:]))"
HERE_SRC = Path(__file__).resolve().parents[1] / "src"


def imdb_slice(data: Path, folder: Path) -> tuple[Path, Path]:
    def rows(name: str, n: int) -> list[dict]:
        with gzip.open(data / "imdb" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            all_rows = [json.loads(line) for line in f]
        random.Random(0).shuffle(all_rows)
        return [{"text": r["text"], "label": r["label"]} for r in all_rows[:n]]

    paths = folder / "imdb_train.jsonl", folder / "imdb_test.jsonl"
    for path, (name, n) in zip(paths, (("train", 3000), ("test", 1000))):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows(name, n)), encoding="utf-8")
    return paths


def run_jobs(src: Path, folder: Path, data: Path, imdb: tuple[Path, Path]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "LSTMKIT_DATA": str(data.resolve())}
    jobs = {"lm_main_5_epochs": ["train", "lm", "--epochs", "5"],
            "tag_ewt_1_epoch": ["train", "tag", "--data", "ud-en-ewt", "--epochs", "1"],
            "classify_imdb_slice_1_epoch": ["train", "classify", "--data", str(imdb[0]), "--test-data", str(imdb[1]),
                                            "--epochs", "1", "--seed", "0"]}
    out = {}
    for name, argv in jobs.items():
        run = folder / name
        done = subprocess.run([sys.executable, "-c", ENTRY, *argv, "--run-dir", str(run), "--no-progress", "-q"],
                              env=env, cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{src}: {name} failed: {done.stderr[-2000:]}")
        history = json.loads((run / "metrics.json").read_text())
        scores = json.loads((run / "eval.json").read_text()) if (run / "eval.json").is_file() else {}
        keep = ("train_loss", "train_ppl", "valid_loss", "valid_ppl", "valid_acc")
        out[name] = {"epochs": [{k: e[k] for k in keep if k in e} for e in history],
                     "test": {k: v for k, v in scores.items() if isinstance(v, float)}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-src", type=Path, required=True, help="the src folder of the old checkout")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        imdb = imdb_slice(args.data, folder)
        results = {}
        for side, src in (("old", args.old_src.resolve()), ("new", HERE_SRC)):
            (folder / side).mkdir()
            results[side] = run_jobs(src, folder / side, args.data, imdb)
            print(side, json.dumps({k: v["test"] or v["epochs"][-1] for k, v in results[side].items()}))
    same = {name: results["old"][name] == results["new"][name] for name in results["new"]}
    old = subprocess.run(["git", "-C", str(args.old_src), "rev-parse", "HEAD"], capture_output=True, text=True)
    write_result("same_numbers", {"old_src": str(args.old_src), "old_commit": old.stdout.strip() or None,
                                  "results": results, "same": same})
    print("same:", same)


if __name__ == "__main__":
    main()
