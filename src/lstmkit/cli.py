"""The ``lstmkit`` command. Only this module configures logging or prints.

    lstmkit train lm                         # char LM on the shipped Time Machine
    lstmkit train lm --data book.txt --epochs 20
    lstmkit train lm --data ptb --level word --config benchmarks/configs/ptb_zaremba_small.toml
    lstmkit eval RUN_DIR                     # valid/test perplexity of a language model
    lstmkit generate RUN_DIR --prefix "the time" --length 200 --top-p 0.9 --seed 1
    lstmkit train classify --data imdb --vectors glove.6B.50d.txt.gz --embedding-dim 50
    lstmkit eval RUN_DIR --data imdb
    lstmkit predict RUN_DIR "a wonderful, moving film"
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

from lstmkit import __version__
from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig, load_config
from lstmkit.errors import ConfigError, LstmkitError

logger = logging.getLogger("lstmkit")


def _default_run_dir(task: str) -> Path:
    return Path("runs") / f"{task}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="TOML", help="a TOML file with [model], [data], [train] tables")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override one config value, e.g. --set train.lr=0.002 (repeatable)")
    p.add_argument("--run-dir", type=Path, help="where to save the run (default runs/<task>-<time>)")
    p.add_argument("--overwrite", action="store_true", help="reuse a run directory that holds a run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstmkit", description="LSTM and GRU sequence learning on PyTorch.")
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and results")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model")
    tasks = train.add_subparsers(dest="task", required=True)
    lm = tasks.add_parser("lm", help="character or word language model (default: The Time Machine)")
    lm.add_argument("--data", metavar="NAME|PATH",
                    help="ptb, tinyshakespeare, zh-novel, timemachine, a UTF-8 text file or a folder of "
                         "*train*/*valid*/*test* files (default: the shipped Time Machine)")
    lm.add_argument("--level", choices=["char", "word"], help="data.level")
    lm.add_argument("--tokenizer", choices=["basic_english", "whitespace", "jieba"],
                    help="data.tokenizer for word level (ptb is always whitespace)")
    lm.add_argument("--download", action="store_true", help="download a named corpus (checksum verified) if missing")
    lm.add_argument("--epochs", type=int, help="train.epochs")
    lm.add_argument("--backend", choices=["native", "reference"], help="model.backend")
    lm.add_argument("--cell", choices=["lstm", "gru", "peephole"], help="model.cell")
    lm.add_argument("--sampling", choices=["sequential", "random"], help="train.sampling")
    lm.add_argument("--device", help="train.device (cpu, cuda)")
    lm.add_argument("--prefix", help="text to continue after training (default: 'time traveller' for the "
                                      "Time Machine, else the start of the validation text)")
    lm.add_argument("--gen-length", type=int, default=100, help="tokens to generate after training")
    _add_config_args(lm)

    cls = tasks.add_parser("classify", help="text classification (IMDB sentiment or any labelled text)")
    cls.add_argument("--data", metavar="imdb|PATH",
                     help="imdb, an aclImdb/ folder or archive, or a CSV/TSV/JSONL file")
    cls.add_argument("--test-data", metavar="PATH", help="a separate test table (for CSV/TSV/JSONL data)")
    cls.add_argument("--text-column", help="data.text_column")
    cls.add_argument("--label-column", help="data.label_column")
    cls.add_argument("--encoding", help="data.encoding")
    cls.add_argument("--vectors", metavar="PATH|word2vec", help="pretrained vectors, or word2vec to train them")
    cls.add_argument("--freeze", action="store_true", help="keep the pretrained vectors fixed")
    cls.add_argument("--embedding-dim", type=int, help="model.embedding_dim")
    cls.add_argument("--cell", choices=["lstm", "gru", "peephole"], help="model.cell")
    cls.add_argument("--backend", choices=["native", "reference"], help="model.backend")
    cls.add_argument("--pooling", choices=["last", "mean", "max"], help="model.pooling")
    cls.add_argument("--epochs", type=int, help="train.epochs")
    cls.add_argument("--device", help="train.device")
    cls.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    cls.add_argument("--download", action="store_true", help="download IMDB (MD5 checked) if not found")
    cls.add_argument("--resume", action="store_true",
                     help="go on from the last epoch saved in --run-dir (its config; --epochs may extend it)")
    cls.add_argument("--save-vectors", action="store_true",
                     help="save the fine-tuned vectors (.npy + vocabulary, word2vec text) in RUN_DIR/vectors")
    _add_config_args(cls)

    tg = tasks.add_parser("tag", help="part-of-speech tagging (UD treebanks, word/tag files, raw Chinese via jieba)")
    tg.add_argument("--data", metavar="ud-en-ewt|ud-zh|PATH",
                    help="a named UD treebank, a .conllu file, a word<TAB>tag or word/tag file, or raw "
                         "Chinese text with --format jieba")
    tg.add_argument("--test-data", metavar="PATH", help="a separate test file (for file data)")
    tg.add_argument("--format", choices=["auto", "conllu", "word-tag", "jieba"], help="data.tag_format")
    tg.add_argument("--tag-column", choices=["upos", "xpos"], help="data.tag_column (CoNLL-U)")
    tg.add_argument("--vectors", metavar="PATH", help="pretrained word vectors (GloVe/word2vec/fastText)")
    tg.add_argument("--freeze", action="store_true", help="keep the pretrained vectors fixed")
    tg.add_argument("--embedding-dim", type=int, help="model.embedding_dim")
    tg.add_argument("--crf", action="store_true", help="a linear-chain CRF instead of a softmax per word")
    tg.add_argument("--cell", choices=["lstm", "gru", "peephole"], help="model.cell")
    tg.add_argument("--epochs", type=int, help="train.epochs")
    tg.add_argument("--device", help="train.device")
    tg.add_argument("--download", action="store_true", help="download a named treebank (SHA-256 checked)")
    _add_config_args(tg)

    fc = tasks.add_parser("forecast", help="time series: sin -> cos, or forecasting from CSV (ETTh1)")
    fc.add_argument("--data", metavar="ett-h1|sine|PATH", help="ett-h1, sine, or a CSV file (or data.path in --config)")
    fc.add_argument("--target", help="forecast.target: comma-separated columns to predict (default: all inputs)")
    fc.add_argument("--inputs", help="forecast.inputs: comma-separated input columns (default: all but the date)")
    fc.add_argument("--input-len", type=int, help="forecast.input_len")
    fc.add_argument("--horizon", type=int, help="forecast.horizon")
    fc.add_argument("--decoder", choices=["direct", "autoregressive"], help="forecast.decoder")
    fc.add_argument("--stateful", action="store_true", help="sine: carry the state along one stream (the tutorial)")
    fc.add_argument("--epochs", type=int, help="train.epochs")
    fc.add_argument("--device", help="train.device")
    fc.add_argument("--download", action="store_true", help="download ETTh1 (SHA-256 checked) if missing")
    _add_config_args(fc)

    im = tasks.add_parser("image", help="MNIST read by an LSTM row by row (or pixel by pixel)")
    im.add_argument("--data", metavar="mnist|PATH", help="mnist (the default), or a folder with the four IDX files")
    im.add_argument("--mode", choices=["rows", "pixels", "permuted"], help="image.mode")
    im.add_argument("--cell", choices=["lstm", "gru", "peephole"], help="model.cell")
    im.add_argument("--epochs", type=int, help="train.epochs")
    im.add_argument("--device", help="train.device")
    im.add_argument("--download", action="store_true", help="download MNIST (MD5 checked) if missing")
    _add_config_args(im)

    ev = commands.add_parser("eval", help="evaluate a trained model")
    ev.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    ev.add_argument("--data", metavar="imdb|PATH",
                    help="classifier: imdb (its test split) or a table; tagger: a file (default: the "
                         "treebank's test part); language model: its own corpus")
    ev.add_argument("--jieba", action="store_true",
                    help="tagger: also score Chinese end to end, segmented by jieba (default for ud-zh)")
    ev.add_argument("--download", action="store_true")

    pr = commands.add_parser("predict", help="label texts with a trained classifier, or tag them with a tagger")
    pr.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    pr.add_argument("texts", nargs="*", help="texts to label, or image files (PNG, .npy, .txt) for an image model")
    pr.add_argument("--data", type=Path, help="forecaster: a CSV whose last rows to forecast from")
    pr.add_argument("--output", type=Path, help="forecaster: where to write the forecast CSV (default RUN_DIR/forecast.csv)")
    pr.add_argument("--invert", action="store_true", help="image: the digit is dark on a light background")
    pr.add_argument("--file", type=Path, help="a UTF-8 file with one text per line")
    pr.add_argument("--tokenizer", choices=["ud_english", "whitespace", "jieba"],
                    help="tagger: how texts are split into words (default: jieba for Chinese models, else ud_english)")

    gen = commands.add_parser("generate", help="generate text from a trained language model")
    gen.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    gen.add_argument("--prefix", required=True, help="text to warm the state up on")
    gen.add_argument("--length", type=int, default=200, help="tokens to generate")
    gen.add_argument("--temperature", type=float, default=None,
                     help="sampling temperature > 0 (no sampling option = greedy decoding)")
    gen.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = all)")
    gen.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: the likeliest tokens "
                                                               "holding this much probability, in (0, 1]")
    gen.add_argument("--seed", type=int, default=None, help="seed for sampling")
    gen.add_argument("--device", default="cpu")
    return parser


def _flag_overrides(args: argparse.Namespace, pairs: tuple[tuple[str, str], ...]) -> list[str]:
    """``--set`` strings for the convenience flags that were given (flag name, config key)."""
    flags = [f"{key}={getattr(args, flag)}" for flag, key in pairs if getattr(args, flag) is not None]
    if getattr(args, "cell", None) == "peephole" and getattr(args, "backend", None) is None:
        flags.append("model.backend=reference")              # the peephole cell has no fused kernel
    return flags


def _with_data(cfg: RunConfig, choices: str) -> RunConfig:
    """``cfg`` if it names its data (by --data or data.path in --config), else a clear error."""
    if not cfg.data.path:
        raise ConfigError(f"train {cfg.task} needs data: pass --data {choices}, or set path in the [data] table "
                          "of --config")
    return cfg


def _lm_config(args: argparse.Namespace) -> RunConfig:
    pairs = (("data", "data.path"), ("level", "data.level"), ("tokenizer", "data.tokenizer"),
             ("epochs", "train.epochs"), ("backend", "model.backend"), ("cell", "model.cell"),
             ("sampling", "train.sampling"), ("device", "train.device"))
    return load_config(args.config, _flag_overrides(args, pairs) + args.overrides)


CLASSIFY_BASE = RunConfig(
    task="classify",
    model=ModelConfig(embedding_dim=100, hidden_size=128, bidirectional=True, pooling="max", dropout=0.5),
    data=DataConfig(min_freq=2),
    train=TrainConfig(epochs=5, lr=0.001, batch_size=64, patience=2),
)


def _classify_config(args: argparse.Namespace) -> RunConfig:
    pairs = (("data", "data.path"), ("test_data", "data.test_path"), ("text_column", "data.text_column"),
             ("label_column", "data.label_column"), ("encoding", "data.encoding"), ("vectors", "vectors.path"),
             ("embedding_dim", "model.embedding_dim"), ("cell", "model.cell"), ("backend", "model.backend"),
             ("pooling", "model.pooling"), ("epochs", "train.epochs"), ("device", "train.device"))
    flags = _flag_overrides(args, pairs)
    flags += ["vectors.freeze=true"] if args.freeze else []
    flags += ["train.bf16=true"] if args.bf16 else []
    return _with_data(load_config(args.config, flags + args.overrides, base=CLASSIFY_BASE), "imdb|PATH")


TAG_BASE = RunConfig(
    task="tag",
    model=ModelConfig(embedding_dim=100, hidden_size=200, bidirectional=True, dropout=0.33),
    data=DataConfig(min_freq=2),
    train=TrainConfig(epochs=20, lr=0.002, batch_size=32, patience=4, clip_norm=5.0),
)


def _tag_config(args: argparse.Namespace) -> RunConfig:
    pairs = (("data", "data.path"), ("test_data", "data.test_path"), ("format", "data.tag_format"),
             ("tag_column", "data.tag_column"), ("vectors", "vectors.path"), ("embedding_dim", "model.embedding_dim"),
             ("cell", "model.cell"), ("epochs", "train.epochs"), ("device", "train.device"))
    flags = _flag_overrides(args, pairs)
    flags += ["vectors.freeze=true"] if args.freeze else []
    flags += ["model.crf=true"] if args.crf else []
    return _with_data(load_config(args.config, flags + args.overrides, base=TAG_BASE), "ud-en-ewt|ud-zh|PATH")


FORECAST_BASE = RunConfig(
    task="forecast",
    model=ModelConfig(hidden_size=64, dropout=0.1),
    train=TrainConfig(epochs=20, lr=0.001, batch_size=32, patience=3, clip_norm=1.0),
)
IMAGE_BASE = RunConfig(
    task="image",
    model=ModelConfig(hidden_size=128, num_layers=1, dropout=0.0),
    train=TrainConfig(epochs=10, lr=0.002, batch_size=128, clip_norm=1.0),
)


def _train_forecast(args: argparse.Namespace) -> int:
    from lstmkit.tasks import forecast

    pairs = (("data", "data.path"), ("target", "forecast.target"), ("inputs", "forecast.inputs"),
             ("input_len", "forecast.input_len"), ("horizon", "forecast.horizon"), ("decoder", "forecast.decoder"),
             ("epochs", "train.epochs"), ("device", "train.device"))
    flags = _flag_overrides(args, pairs) + (["forecast.stateful=true"] if args.stateful else [])
    cfg = _with_data(load_config(args.config, flags + args.overrides, base=FORECAST_BASE), "ett-h1|sine|PATH")
    run_dir = _prepare_run_dir(args, "forecast")
    result = forecast.train_forecaster(cfg, run_dir, progress=not args.no_progress, download=args.download)
    test = result.test
    print(f"trained {len(result.history)} epochs in {result.train_seconds:.1f}s; test MSE {test['mse']:.4g}, "
          f"MAE {test['mae']:.4g}" + (f" (original units: MSE {test['mse_original']:.4g}, MAE {test['mae_original']:.4g})"
                                     if "mse_original" in test else ""))
    print(f"plot: {Path(run_dir) / 'forecast.png'}; run directory: {run_dir}")
    return 0


def _train_image(args: argparse.Namespace) -> int:
    from lstmkit.tasks import image

    pairs = (("data", "data.path"), ("mode", "image.mode"), ("cell", "model.cell"), ("epochs", "train.epochs"),
             ("device", "train.device"))
    cfg = load_config(args.config, _flag_overrides(args, pairs) + args.overrides, base=IMAGE_BASE)
    run_dir = _prepare_run_dir(args, "image")
    result = image.train_image(cfg, run_dir, progress=not args.no_progress, download=args.download)
    print(f"trained {len(result.history)} epochs in {result.train_seconds / 60:.1f} min; "
          f"test accuracy {100 * result.test.accuracy:.2f}% (confusion: {Path(run_dir) / 'confusion.png'})")
    print(f"run directory: {run_dir}")
    return 0


def _is_chinese(cfg: RunConfig) -> bool:
    return cfg.data.path == "ud-zh" or cfg.data.tag_format == "jieba"


def _train_tag(args: argparse.Namespace) -> int:
    from lstmkit.tasks import tag

    cfg = _tag_config(args)
    run_dir = _prepare_run_dir(args, "tag")
    logger.info("training a BiLSTM%s tagger on %s -> %s", "-CRF" if cfg.model.crf else "", cfg.data.path, run_dir)
    result = tag.train_tagger(cfg, run_dir, progress=not args.no_progress, download=args.download)
    best = max(result.history, key=lambda m: m["valid_acc"])
    print(f"trained {len(result.history)} epochs in {result.train_seconds / 60:.1f} min "
          f"({result.history[-1]['sentences_per_s']:.0f} sentences/s); best valid accuracy "
          f"{100 * best['valid_acc']:.2f}% (epoch {best['epoch']})")
    if result.test is not None:
        print(f"test accuracy {100 * result.test.accuracy:.2f}% (report: lstmkit eval {run_dir})")
    if _is_chinese(cfg) and result.splits.test:
        scores = tag.end_to_end_chinese(result.model, result.vocabs, result.splits.test)
        print(f"end to end from raw text segmented by jieba: segmentation F1 {100 * scores.segmentation_f1:.2f}%, "
              f"tagging F1 {100 * scores.tagging_f1:.2f}%")
    print(f"run directory: {run_dir}")
    return 0


def _prepare_run_dir(args: argparse.Namespace, task: str) -> Path:
    run_dir = args.run_dir or _default_run_dir(task)
    if run_dir.exists() and not run_dir.is_dir():
        raise LstmkitError(f"--run-dir {str(run_dir)!r} is a file; choose a directory")
    if (run_dir / "config.json").exists() and not args.overwrite:
        raise LstmkitError(f"{str(run_dir)!r} already holds a run; choose another --run-dir or pass --overwrite")
    return run_dir


def _train_lm(args: argparse.Namespace) -> int:
    from lstmkit.tasks import generate, lm

    cfg = _lm_config(args)
    if args.gen_length < 1:
        raise LstmkitError(f"--gen-length must be >= 1, got {args.gen_length}")
    run_dir = _prepare_run_dir(args, "lm")
    source = cfg.data.path or "The Time Machine (shipped sample)"
    logger.info("training a %s-level %s LM (%s backend) on %s -> %s",
                cfg.data.level, cfg.model.cell, cfg.model.backend, source, run_dir)
    start = time.perf_counter()
    result = lm.train_lm(cfg, run_dir, progress=not args.no_progress, download=args.download)
    last = result.history[-1]
    unit = "bits/char" if cfg.data.level == "char" else "bits/word"
    print(f"trained {len(result.history)} epochs in {time.perf_counter() - start:.0f}s: "
          f"train perplexity {last['train_ppl']:.2f}, {last['tokens_per_s']:,.0f} tokens/s")
    for split in ("valid", "test"):
        if f"{split}_ppl" in result.scores:
            print(f"best model, {split}: perplexity {result.scores[f'{split}_ppl']:.2f}, "
                  f"loss {result.scores[f'{split}_loss']:.4f} nats, {result.scores[f'{split}_bpt']:.3f} {unit}")
    corpus = result.corpus
    assert corpus is not None
    prefix = args.prefix
    if prefix is None:
        if cfg.data.path in ("", "timemachine"):
            prefix = "time traveller"
        else:
            opening = corpus.valid_ids if corpus.valid_ids.numel() else corpus.train_ids
            count = 3 if cfg.data.level == "word" else 12
            prefix = generate.detokenize(corpus.vocab.decode(opening[:count].tolist()), corpus.tokenizer)
    text = generate.generate(result.model, corpus.vocab, prefix, args.gen_length, corpus.normalize,
                             corpus.tokenizer)
    print(f"generated: {text}")
    print(f"run directory: {run_dir}  (lstmkit generate {run_dir} --prefix \"...\" --length 200)")
    return 0


def _train_classify(args: argparse.Namespace) -> int:
    from lstmkit.tasks import classify

    if args.resume:
        from dataclasses import replace

        from lstmkit.train.checkpoint import read_run_config

        if args.run_dir is None:
            raise LstmkitError("--resume needs --run-dir, the run to go on with")
        run_dir = args.run_dir
        cfg = read_run_config(run_dir)
        if args.epochs is not None:
            cfg = replace(cfg, train=replace(cfg.train, epochs=args.epochs))
    else:
        cfg = _classify_config(args)
        run_dir = _prepare_run_dir(args, "classify")
    logger.info("training a %s%s classifier on %s -> %s", "bi" if cfg.model.bidirectional else "",
                cfg.model.cell.upper(), cfg.data.path, run_dir)
    summary = classify.train_classifier(cfg, run_dir, progress=not args.no_progress, download=args.download,
                                        save_vectors_too=args.save_vectors, resume=args.resume)
    best = min(summary["history"], key=lambda m: m["valid_loss"])
    print(f"trained {len(summary['history'])} epochs in {summary['train_seconds'] / 60:.1f} min; "
          f"best valid accuracy {100 * best['valid_acc']:.2f}% (epoch {best['epoch']})")
    if "test" in summary:
        print(f"test accuracy {100 * summary['test']['accuracy']:.2f}% (report in {run_dir / 'eval.txt'})")
    print(f"run directory: {run_dir}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from lstmkit.train.checkpoint import read_run_config

    task = read_run_config(args.run_dir).task
    if task == "tag":
        return _eval_tag(args)
    if task == "image":
        import json

        from lstmkit.data.datasets.mnist import load_mnist
        from lstmkit.tasks import image
        from lstmkit.train.classification_metrics import report
        from lstmkit.train.plots import plot_confusion

        model, cfg = image.load_image_model(args.run_dir)
        data = load_mnist(args.data if args.data not in (None, "mnist") else None, args.download)
        rep = report(data.test_labels.long(), image.predict(model, image.to_sequences(data.test_images, cfg.image)),
                     [str(d) for d in range(10)])
        print(rep.as_text())
        print(f"confusion matrix plot: {plot_confusion(rep.confusion, rep.labels, Path(args.run_dir) / 'confusion.png')}")
        (Path(args.run_dir) / image.EVAL_FILE).write_text(json.dumps(rep.to_dict(), indent=2), encoding="utf-8")
        return 0
    if task == "forecast":
        from lstmkit.tasks import forecast

        model, cfg, _ = forecast.load_forecaster(args.run_dir)
        data = forecast.prepare(args.data or cfg.data.path, cfg.forecast, args.download)
        for key, value in forecast.score(model, data, Path(args.run_dir), cfg.forecast.plot_steps).items():
            print(f"{key}\t{value:.6g}")
        return 0
    if task == "lm":
        from lstmkit.tasks import lm

        if args.data is not None:
            raise LstmkitError("a language model is scored on the corpus it was trained on; drop --data")
        for key, value in lm.evaluate_run(args.run_dir, args.download).items():
            print(f"{key}\t{value:.4f}")
        return 0
    from lstmkit.tasks import classify
    from lstmkit.train.plots import plot_confusion

    if args.data is None:
        raise LstmkitError("a classifier needs --data: imdb (its test split) or a labelled table")
    rep, nll = classify.evaluate_run(args.run_dir, str(args.data), args.download)
    print(rep.as_text())
    png = plot_confusion(rep.confusion, rep.labels, Path(args.run_dir) / "confusion.png")
    print(f"loss {nll:.4f}; confusion matrix plot: {png}")
    return 0


def _eval_tag(args: argparse.Namespace) -> int:
    import json

    from lstmkit.tasks import tag
    from lstmkit.tasks.tag_data import load_splits, read_sentences

    model, vocabs, cfg = tag.load_tagger(args.run_dir)
    if args.data is None:
        sentences = load_splits(cfg.data, args.download, cfg.train.seed).test
        if not sentences:
            raise LstmkitError(f"the run's data {cfg.data.path!r} has no test part; pass --data FILE")
    else:
        sentences = read_sentences(args.data, cfg.data.tag_format, cfg.data.tag_column, cfg.data.encoding)
    rep = tag.evaluate(model, sentences, vocabs)
    print(rep.as_text())
    result = rep.to_dict()
    if args.jieba or _is_chinese(cfg):
        scores = tag.end_to_end_chinese(model, vocabs, sentences)
        print(f"\nend to end from raw text segmented by jieba: segmentation F1 {100 * scores.segmentation_f1:.2f}%, "
              f"tagging F1 {100 * scores.tagging_f1:.2f}% (P {100 * scores.tagging_precision:.2f}, "
              f"R {100 * scores.tagging_recall:.2f}; {scores.system_words} words for {scores.gold_words} gold)")
        result["end_to_end_jieba"] = scores.__dict__
    (Path(args.run_dir) / tag.EVAL_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from lstmkit.tasks import classify
    from lstmkit.train.checkpoint import read_run_config

    task = read_run_config(args.run_dir).task
    if task == "forecast":
        from lstmkit.tasks import forecast

        if args.data is None:
            raise LstmkitError("a forecaster predicts from a CSV: pass --data new.csv (its last input_len rows are read)")
        out = forecast.forecast_csv(args.run_dir, args.data, args.output or Path(args.run_dir) / "forecast.csv")
        print(f"forecast written to {out}")
        return 0
    if task == "image":
        from lstmkit.tasks import image

        if not args.texts:
            raise LstmkitError("pass one or more image files (28x28 PNG, .npy or .txt)")
        model, cfg = image.load_image_model(args.run_dir)
        for path in args.texts:
            label, probs = image.predict_image(model, cfg, image.read_image(path, args.invert))
            print(f"{label}\t{float(probs[label]):.4f}\t{path}")
        return 0
    texts = list(args.texts)
    if args.file is not None:
        from lstmkit.data.text import read_text

        texts += [line for line in read_text(args.file).splitlines() if line.strip()]
    if not texts:
        raise LstmkitError("nothing to predict; pass texts as arguments or --file with one text per line")
    if task == "tag":
        from lstmkit.tasks import tag

        model, vocabs, cfg = tag.load_tagger(args.run_dir)
        tokenizer = args.tokenizer or ("jieba" if _is_chinese(cfg) else "ud_english")
        for pairs in tag.tag_texts(model, vocabs, texts, tokenizer):
            print(" ".join(f"{w}/{t}" for w, t in pairs))
        return 0
    model, vocab, cfg = classify.load_classifier(args.run_dir)
    labels = classify.run_labels(args.run_dir)
    for text, (label, prob) in zip(texts, classify.predict_texts(model, vocab, labels, cfg, texts)):
        shown = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label}\t{prob:.4f}\t{shown}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from lstmkit.tasks import generate, lm
    from lstmkit.tasks.lm_data import resolve_normalize, word_tokenizer

    generate.check_sampling(args.length, args.temperature, args.top_k, args.top_p)
    model, vocab, cfg = lm.load_lm(args.run_dir, args.device)
    tokenizer = "char" if cfg.data.level == "char" else word_tokenizer(cfg.data)
    text = generate.generate(model, vocab, args.prefix, args.length, resolve_normalize(cfg.data), tokenizer,
                             temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lstmkit`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr, force=True)
    try:
        if args.command == "train" and args.task == "lm":
            return _train_lm(args)
        if args.command == "train" and args.task == "classify":
            return _train_classify(args)
        if args.command == "train" and args.task == "tag":
            return _train_tag(args)
        if args.command == "train" and args.task == "forecast":
            return _train_forecast(args)
        if args.command == "train" and args.task == "image":
            return _train_image(args)
        if args.command == "eval":
            return _eval(args)
        if args.command == "predict":
            return _predict(args)
        if args.command == "generate":
            return _generate(args)
    except (LstmkitError, ValueError) as err:
        print(f"lstmkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstmkit: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
