"""The ``lstmkit`` command. Only this module configures logging or prints.

    lstmkit train lm                         # char LM on the shipped Time Machine
    lstmkit train lm --data book.txt --epochs 20
    lstmkit train classify --data imdb --vectors glove.6B.50d.txt.gz --embedding-dim 50
    lstmkit train tag --resume --run-dir runs/tag-...   # go on after a kill or Ctrl-C
    lstmkit eval RUN_DIR [--data ...]        # any task's run
    lstmkit predict RUN_DIR "a wonderful, moving film"
    lstmkit generate RUN_DIR --prefix "the time" --length 200 --top-p 0.9 --seed 1
    lstmkit config TASK                      # every setting of a task, its default and meaning
    lstmkit export RUN_DIR --format onnx     # or pt2; the LM's state as explicit inputs and outputs
    lstmkit serve RUN_DIR [RUN_DIR ...]      # HTTP JSON API and the web page with the gate inspector

Every ``train`` subcommand is built from the task registry (:mod:`lstmkit.tasks`): its flags,
their defaults and the training itself (:mod:`lstmkit.training.recipe`) are the task's.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import gc
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lstmkit.boundary import parse_json, printable
from lstmkit import __version__
from lstmkit.errors import LstmkitError
from lstmkit.nn import cells                 # the cell registry alone: no torch

if TYPE_CHECKING:
    from lstmkit.training.task import Option

logger = logging.getLogger("lstmkit")

# Flags every train subcommand has: (flag, config key, choices).
COMMON_FLAGS = (("--epochs", "train.epochs", None), ("--lr", "train.lr", None),
                ("--batch-size", "train.batch_size", None), ("--hidden-size", "model.hidden_size", None),
                ("--num-layers", "model.num_layers", None), ("--cell", "model.cell", cells.names()),
                ("--backend", "model.backend", ("native", "reference")), ("--device", "train.device", None),
                ("--bf16", "train.bf16", None), ("--seed", "train.seed", None),
                ("--max-minutes", "train.max_minutes", None))


def _quiet(p: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a subcommand from resetting a -q given before it.
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings and results")


def _add_train_parser(tasks: argparse._SubParsersAction, name: str) -> None:
    from lstmkit.config import describe
    from lstmkit.tasks import get_task

    spec = get_task(name)
    meaning = {key: (default, text) for key, default, text in describe(name)}
    defaults = spec.defaults.to_dict()
    p = tasks.add_parser(name, help=spec.help, description=f"{spec.help}. Every setting: `lstmkit config {name}`.",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", metavar=spec.data_help.upper().replace("|", "|"),
                   help=f"data.path: {meaning['data.path'][1]} (default: {defaults['data']['path'] or 'see above'})")
    flags = [(f.flag, f.key, f.choices) for f in spec.flags] + list(COMMON_FLAGS)
    seen = set()
    for flag, key, choices in flags:
        if flag in seen or key not in meaning:
            continue
        seen.add(flag)
        section, field = key.split(".")
        default = defaults[section][field]
        text = f"{key}: {meaning[key][1]} (default: {default!r})"
        dest = "flag__" + key.replace(".", "__")
        if isinstance(default, bool):
            p.add_argument(flag, dest=dest, action="store_const", const="true", help=text.replace("%", "%%"))
        else:
            p.add_argument(flag, dest=dest, choices=choices, metavar=None if choices else field.upper(),
                           help=text.replace("%", "%%"))
    p.add_argument("--config", metavar="TOML", help=f"a TOML file with [model], [data], [train], [{name}] tables")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override one config value, e.g. --set train.lr=0.002 (repeatable)")
    p.add_argument("--run-dir", type=Path, help=f"where to save the run (default runs/{name}-<time>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the lstmkit run in --run-dir: its files are removed only after the new run's "
                        "config and data are read, and files lstmkit did not write stay")
    p.add_argument("--resume", action="store_true",
                   help="go on from the last epoch saved in --run-dir (after a kill or Ctrl-C), with its config; "
                        "--epochs may extend it")
    p.add_argument("--download", action="store_true", help="download a named dataset (checksum verified) if missing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (off anyway when stderr is not a terminal)")
    for option in spec.options:                               # the task's own: what to do after training
        if option.type is None:
            p.add_argument(option.flag, action="store_true", help=option.help)
        else:
            p.add_argument(option.flag, type=option.type, default=option.default, help=option.help)
    _quiet(p)


def _build_parser() -> argparse.ArgumentParser:
    from lstmkit.registry import task_class
    from lstmkit.tasks import names as task_names

    parser = argparse.ArgumentParser(prog="lstmkit", description="LSTM and GRU sequence learning on PyTorch.")
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and results")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model")
    tasks = train.add_subparsers(dest="task", required=True)
    specs = {}
    for name in task_names():
        try:                                   # a broken plugin task is left out, not the command line
            specs[name] = task_class(name)
            _add_train_parser(tasks, name)
        except LstmkitError as err:
            logging.getLogger("lstmkit").warning("task %r is left out: %s", name, err)
    _add_eval_parser(commands, specs)
    _add_predict_parser(commands, specs)
    _add_generate_parser(commands)
    _add_export_parser(commands)
    _add_serve_parser(commands)
    cf = commands.add_parser("config", help="every setting of a task: section.field, default, meaning")
    cf.add_argument("task", choices=list(specs))
    _quiet(cf)
    return parser


def _add_task_flags(p: argparse.ArgumentParser, specs: dict[str, type], kind: str) -> None:
    """The flags the tasks declare for ``lstmkit predict`` or ``eval`` (``predict_flags``,
    ``eval_flags``), each once, its help saying which tasks read it."""
    declared: dict[str, tuple[Option, list[str]]] = {}
    for name, spec in specs.items():
        for option in getattr(spec, f"{kind}_flags"):
            declared.setdefault(option.flag, (option, []))[1].append(name)
    for flag, (option, readers) in declared.items():
        text = f"{', '.join(readers)}: {option.help}".replace("%", "%%")
        if option.type is None:
            p.add_argument(flag, action="store_true", help=text)
        else:
            p.add_argument(flag, type=option.type, default=option.default, choices=option.choices, help=text)


def _task_flag_values(args: argparse.Namespace, kind: str) -> dict[str, object]:
    from lstmkit.registry import names, task_class

    return {o.dest: getattr(args, o.dest, None) for name in names() for o in getattr(task_class(name), f"{kind}_flags")}


def _add_eval_parser(commands: argparse._SubParsersAction, specs: dict[str, type]) -> None:
    ev = commands.add_parser("eval", help="evaluate a trained model (any task)")
    ev.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    data = "; ".join(f"{name}: {spec.eval_data_help}" for name, spec in specs.items() if spec.eval_data_help)
    ev.add_argument("--data", metavar="NAME|PATH", help=f"what to score: {data}".replace("%", "%%"))
    ev.add_argument("--encoding", help="encoding of --data (default: the training data's)")
    ev.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    ev.add_argument("--download", action="store_true")
    _add_task_flags(ev, specs, "eval")
    _quiet(ev)


def _add_predict_parser(commands: argparse._SubParsersAction, specs: dict[str, type]) -> None:
    pr = commands.add_parser("predict", help="label texts, tag them, forecast from a CSV or read digits")
    pr.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    pr.add_argument("texts", nargs="*", help="texts to label or tag, or image files (PNG, .npy, .txt) for an image model")
    pr.add_argument("--file", type=Path, help="a file with one text per line (runs that read texts)")
    pr.add_argument("--encoding", help="encoding of --file (default utf-8)")
    pr.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    _add_task_flags(pr, specs, "predict")
    _quiet(pr)


def _add_generate_parser(commands: argparse._SubParsersAction) -> None:
    gen = commands.add_parser("generate", help="generate text from a trained language model (streamed)")
    gen.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    gen.add_argument("--prefix", required=True, help="text to warm the state up on")
    gen.add_argument("--length", type=int, default=200, help="tokens to generate (default 200)")
    gen.add_argument("--temperature", type=float, default=None,
                     help="sampling temperature > 0 (no sampling option = greedy decoding)")
    gen.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = all)")
    gen.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: the likeliest tokens "
                                                               "holding this much probability, in (0, 1]")
    gen.add_argument("--seed", type=int, default=None, help="seed for sampling")
    gen.add_argument("--device", default="cpu")
    _quiet(gen)


def _add_export_parser(commands: argparse._SubParsersAction) -> None:
    ex = commands.add_parser("export", help="export a run's model to ONNX or a torch.export program (.pt2)")
    ex.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    ex.add_argument("--format", choices=["onnx", "pt2"], default="onnx", help="onnx (any batch and length; "
                    "onnxruntime) or pt2 (torch.export.load; any batch, the exported length) (default onnx)")
    ex.add_argument("--output", help="where to write it (default RUN_DIR/model.onnx or model.pt2)")
    ex.add_argument("--force", action="store_true", help="replace an existing --output file")
    ex.add_argument("--length", type=int, help="time length T of a graph that takes one (a classifier's: default "
                    "classify.max_len, else 256 tokens; a tagger's: 64 words; a language model's pt2 graph: "
                    "lm.num_steps); the exporters unroll T steps, so a smaller T exports faster")
    _quiet(ex)


def _add_serve_parser(commands: argparse._SubParsersAction) -> None:
    sv = commands.add_parser("serve", help="serve runs over HTTP: JSON API, web page with the gate inspector")
    sv.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    sv.add_argument("--max-body", type=int, default=1_000_000,
                    help="largest request body in bytes, >= 1, however it is sent (default 1000000)")
    sv.add_argument("--timeout", type=float, default=30.0,
                    help="seconds a request may take, in [0.1, 86400]; a stream ends there with a message line (default 30)")
    sv.add_argument("--threads", type=int, default=1, help="torch threads per model call (default 1: small "
                    "batches run fastest on one core, the HTTP work takes the others)")
    _quiet(sv)


# --- train ----------------------------------------------------------------------------------

def _train_config(args: argparse.Namespace):
    from lstmkit.config import load_config
    from lstmkit.tasks import get_task

    spec = get_task(args.task)
    flags = [f"{dest[len('flag__'):].replace('__', '.')}={value}" for dest, value in sorted(vars(args).items())
             if dest.startswith("flag__") and value is not None]
    if args.data is not None:
        flags.append(f"data.path={args.data}")
    if args.flag__model__cell is not None and args.flag__model__backend is None:
        if cells.default_backend(args.flag__model__cell) != "native":   # a cell no fused kernel runs
            flags.append(f"model.backend={cells.default_backend(args.flag__model__cell)}")
    cfg = load_config(args.config, flags + args.overrides, base=spec.defaults)
    # Paths that exist are stored absolute, so `lstmkit eval` works from any folder.
    data = replace(cfg.data, **{k: _absolute(getattr(cfg.data, k)) for k in ("path", "valid_path", "test_path")})
    return replace(cfg, data=data, vectors=replace(cfg.vectors, path=_absolute(cfg.vectors.path)))


RESUMABLE = ("train.epochs", "train.max_minutes")     # what --resume may change: how long the run goes on


def _resume_config(args: argparse.Namespace):
    """The run's own config for ``--resume``, with the command's --epochs (and train.max_minutes).
    The command may repeat the run's settings (re-running the same command, as with Keras or
    Lightning, resumes); a setting that differs from the run's is refused by name."""
    import tomllib

    from lstmkit.training import recipe

    run_cfg = recipe.resume_config(args.run_dir)
    keys = {f.split("=", 1)[0].strip() for f in args.overrides}
    keys |= {dest[len("flag__"):].replace("__", ".") for dest, v in vars(args).items()
             if dest.startswith("flag__") and v is not None}
    if args.data is not None:
        keys.add("data.path")
    if args.config:
        try:
            table = tomllib.loads(Path(args.config).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError, RecursionError):
            table = {}                                      # said by _train_config below
        keys |= {f"{section}.{name}" for section, values in table.items() if isinstance(values, dict)
                 for name in values}
    if not keys:
        return run_cfg
    def flat(cfg) -> dict[str, object]:                     # section.field -> value
        return {f"{section}.{name}": value for section, values in cfg.to_dict().items() if isinstance(values, dict)
                for name, value in values.items()}

    ours, theirs = flat(_train_config(args)), flat(run_cfg)  # the command's values checked as a new run's
    for key in sorted(keys - set(RESUMABLE)):
        if key in theirs and ours.get(key) != theirs[key]:
            raise LstmkitError(f"--resume goes on with the run's own config, and {key} differs: the run has "
                               f"{theirs[key]!r}, this command {ours.get(key)!r}; only --epochs and "
                               "train.max_minutes may change (drop the setting, or train a new run)")
    train = {k.split(".", 1)[1]: ours[k] for k in RESUMABLE if k in keys}
    return replace(run_cfg, train=replace(run_cfg.train, **train))


def _absolute(value: str) -> str:
    """A path that exists, made absolute; names (imdb, ptb, word2vec) and empty values stay."""
    from lstmkit.config import dataset_name

    if dataset_name(value):
        return value
    return str(Path(value).resolve()) if value and Path(value).exists() else value


def _train(args: argparse.Namespace) -> int:
    from lstmkit.tasks import get_task
    from lstmkit.training import recipe

    spec = get_task(args.task)
    if args.resume:
        if args.overwrite:
            raise LstmkitError("--resume goes on with the run in --run-dir and --overwrite deletes it; pass one of "
                               "them (--resume to continue, --overwrite to start again from scratch)")
        if args.run_dir is None:
            raise LstmkitError("--resume needs --run-dir, the run to go on with")
        from lstmkit.training.checkpoint import read_run_config

        try:
            task_of_run = read_run_config(args.run_dir).task
        except (LstmkitError, OSError):
            task_of_run = args.task                           # said below, by resume_config
        if task_of_run != args.task:                          # the wrong task first: it is the real mistake
            raise LstmkitError(f"{str(args.run_dir)!r} holds a {task_of_run} run; use `lstmkit train {task_of_run} --resume`")
        cfg = _resume_config(args)
        if cfg.task != args.task:
            raise LstmkitError(f"{str(args.run_dir)!r} holds a {cfg.task} run; use `lstmkit train {cfg.task} --resume`")
        run_dir = args.run_dir
    else:
        cfg = _train_config(args)
        from lstmkit.training.rundir import default_run_dir

        run_dir = args.run_dir or default_run_dir(args.task)
    spec.check_options(Path(run_dir), cfg, _task_options(spec, args))
    logger.info("training %s on %s -> %s", args.task, printable(cfg.data.path or "the shipped Time Machine"),
                printable(run_dir))                           # paths escaped whole: a newline in one is no new line
    progress = not args.no_progress and sys.stderr.isatty()
    # The run directory is claimed (locked) inside fit; --overwrite clears the old run only once
    # the new one's data are read, and a failed new run leaves nothing behind (training/rundir.py).
    fitted = recipe.fit(cfg, run_dir, resume=args.resume, overwrite=args.overwrite, progress=progress,
                        download=args.download)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0                                              # under torchrun, rank 0 reports for all
    _say(fitted.summary())
    for line in spec.report(fitted, _task_options(spec, args)):
        _say(line)
    _say(f"run directory: {printable(run_dir)}")
    return 0


def _task_options(spec, args: argparse.Namespace) -> dict[str, object]:
    """The values of the task's own train flags (``Task.options``), by dest."""
    return {option.dest: getattr(args, option.dest, option.default) for option in spec.options}


# --- eval, predict, generate, config ----------------------------------------------------------

def _refuse_unused(args: argparse.Namespace, allowed: frozenset[str], options: dict[str, object], what: str) -> None:
    for name, value in options.items():
        if value not in (None, False, [], ()) and name not in allowed:
            flag = "texts" if name == "texts" else "--" + name.replace("_", "-")
            raise LstmkitError(f"{flag} is not used by `lstmkit {what}` on a run of task {args.task_of_run}; drop it")


def _load_run(args: argparse.Namespace):
    from lstmkit.api import load
    from lstmkit.training.build import device_of
    from lstmkit.training.checkpoint import read_run_config

    device_of(args.device)                                    # a clear error for a device that is not there
    args.task_of_run = read_run_config(args.run_dir).task
    return load(args.run_dir, args.device)


class _PrintableFormatter(logging.Formatter):
    """Log lines with control characters escaped, as :func:`_say` prints."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep="\n\t")


def _say(text: str, file=None) -> None:
    """Print ``text`` with its control characters escaped (boundary.printable): a text, label
    or path from outside cannot move the cursor, recolour the terminal or forge a line."""
    print(printable(text, keep="\n\t"), file=file if file is not None else sys.stdout, flush=True)


def _eval(args: argparse.Namespace) -> int:
    run = _load_run(args)
    options = {"data": args.data, "download": args.download, "encoding": args.encoding,
               **_task_flag_values(args, "eval")}
    run.check_eval_data(args.data)                          # the run's own words: needed, or not taken
    _refuse_unused(args, run.eval_options | {"download"}, options, "eval")
    kwargs = {k: v for k, v in options.items() if k in run.eval_options}
    _say(run.evaluate(**kwargs).text)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from lstmkit.data.text import read_text

    run = _load_run(args)
    if not run.predict_options:
        run.predict_lines([])                                 # a run that predicts nothing says what it does
    options = {"texts": args.texts, "file": args.file, **_task_flag_values(args, "predict")}
    _refuse_unused(args, run.predict_options, options, "predict")
    inputs = list(args.texts)
    if args.file is not None:
        inputs += [line for line in read_text(args.file, args.encoding or "utf-8", "one text per line to predict")
                   .splitlines() if line.strip()]
    if "texts" in run.predict_options and "invert" not in run.predict_options and not inputs:
        raise LstmkitError("nothing to predict; pass texts as arguments or --file with one text per line")
    kwargs = {k: v for k, v in options.items() if k in run.predict_options and k not in ("texts", "file")}
    for line in run.predict_lines(inputs, **kwargs):
        _say(line)
    return 0


def _generate(args: argparse.Namespace) -> int:
    run = _load_run(args)
    if not run.generates:
        raise LstmkitError(f"{str(args.run_dir)!r} holds a {run.task} run; generate needs a language model "
                           "(use `lstmkit predict` for it)")
    for piece in run.stream(args.prefix, args.length, args.temperature, args.top_k, args.top_p, args.seed):
        sys.stdout.write(printable(piece, keep="\n\t"))
        sys.stdout.flush()                                    # stream the text as it is produced
    sys.stdout.write("\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    from lstmkit.export import export_run

    path = export_run(args.run_dir, args.format, args.output, force=args.force, length=args.length)
    _say(f"exported to {printable(path)} (inputs and outputs: {printable(path)}.json)")
    try:
        sidecar = parse_json(Path(f"{path}.json").read_text(encoding="utf-8"))
        notes = [sidecar.get(key) for key in ("max_len_note", "tokens_note")]
    except (OSError, ValueError, AttributeError):
        notes = []
    for note in filter(None, notes):
        _say(f"note: {note}")                               # warned of as the export began; again where it is seen
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from lstmkit.serve.app import check_limits, create_app, listen_socket, loopback_hosts
    except ImportError:
        raise LstmkitError("serving needs fastapi and uvicorn: pip install 'lstmkit[serve]'") from None
    if not 0 < args.port < 65536:
        raise LstmkitError(f"--port must be in 1-65535, got {args.port}")
    cores = os.cpu_count() or 1
    if not 1 <= args.threads <= 4 * cores:
        raise LstmkitError(f"--threads must be in 1..{4 * cores} (four per core of this machine), got {args.threads:,}; "
                           "the default 1 suits small models")
    check_limits(args.max_body, args.timeout)            # before loading models: fail fast (create_app checks too)
    sock = listen_socket(args.host, args.port)           # a busy port is said here, not after "serving ..."
    try:
        import torch

        torch.set_num_threads(args.threads)
        app = create_app(args.run_dirs, args.max_body, args.timeout, hosts=loopback_hosts(args.host))
        gc.collect()
        gc.freeze()                          # the loaded models never need collecting: shorter GC pauses
        host = f"[{args.host}]" if ":" in args.host else args.host         # an IPv6 address in a URL
        print(f"serving {len(app.state.served)} model(s) on http://{host}:{args.port}/ (API docs at /docs)",
              flush=True)
        for name, served in app.state.served.items():
            _say(f"  {printable(name)}: {served.run.task} run {printable(served.run.run_dir)}")
        # Connections beyond the limit get 503 at once (slow clients holding half-sent headers
        # cannot use up the process's file descriptors).
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        limit = max(16, min(1000, (soft if soft > 0 else 1024) // 2))
        from lstmkit.serve.connections import server_config

        server = uvicorn.Server(server_config(app, args.host, args.port, limit))
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _config(args: argparse.Namespace) -> int:
    from lstmkit.config import describe

    rows = describe(args.task)
    width = max(len(key) for key, _, _ in rows)
    print(f"settings of task {args.task} (--set section.field=value, or tables in --config TOML):")
    for key, default, meaning in rows:
        print(f"  {key:<{width}}  {default!r:<14}  {meaning}")
    return 0


COMMANDS = {"train": _train, "eval": _eval, "predict": _predict, "generate": _generate, "export": _export,
            "serve": _serve, "config": _config}


def _in_flag_terms(message: str, parser: argparse.ArgumentParser, command: str) -> str:
    """A message about a value (``length must be >= 1``) in the words of the command line that
    gave it (``--length must be >= 1``): the API names its arguments, the CLI its flags."""
    name, _, rest = message.partition(" ")
    if not rest.startswith("must "):                    # only a rule about the value itself
        return message
    for action in parser._subparsers._group_actions[0].choices[command]._actions:    # type: ignore[union-attr]
        if action.dest == name and action.option_strings:
            return action.option_strings[-1] + message[len(name):]
    return message


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lstmkit`` command; returns the exit status."""
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "predict" and not any(e.startswith("-") for e in extra):
        args.texts = [*args.texts, *extra]                     # texts after options: `predict RUN --tokenizer x "text"`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    quiet = getattr(args, "quiet", False) or int(os.environ.get("RANK", "0")) != 0
    # lstmkit's own lines at INFO; other libraries' (the ONNX exporter's optimizer says
    # "Replaced initializer ..." a hundred times) only when they warn, so ours are not buried.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_PrintableFormatter("%(message)s"))
    logging.getLogger("lstmkit").setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        return COMMANDS[args.command](args)
    except (LstmkitError, ValueError) as err:
        _say(f"lstmkit: error: {_in_flag_terms(str(err), parser, args.command)}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        _say(f"lstmkit: error: {err.strerror or err}{where}; check the path and its permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstmkit: interrupted; the last finished epoch is saved (`--resume` goes on from it)", file=sys.stderr)
        return 130



if __name__ == "__main__":
    raise SystemExit(main())
