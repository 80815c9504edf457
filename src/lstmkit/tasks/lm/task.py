"""Language models, character or word level: the tutorials' job (d2l.ai ch. 8-9, Zaremba et al.
2014) with the regularisation of AWD-LSTM (Merity et al. 2018) as options.

Embedding -> LSTM/GRU/peephole layers -> (projection) -> linear over the vocabulary, the output
layer optionally tied to the embedding. Trained with truncated BPTT (state carried and detached
between sequential batches, optionally variable window length), gradient clipping, a
learning-rate schedule and optionally NT-ASGD; perplexity over whole splits with the state
carried. Legend: B batch, T time, E embedding, H hidden, V vocabulary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmkit.config import RunConfig
from lstmkit.errors import ConfigError, DataError
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Option, Task, shard_rows

if TYPE_CHECKING:                      # types only: the model code loads with torch, when a method runs
    from lstmkit.tasks.lm.data import Corpus
    from lstmkit.tasks.lm.model import LanguageModel
    from lstmkit.training.averaging import WeightAverager
    from lstmkit.training.trainer import StepResult
    from torch import Tensor

logger = logging.getLogger(__name__)


class LMTask(Task):
    """Language models: truncated BPTT with the state carried through the step contract."""

    name = "lm"
    run_class = "lstmkit.tasks.lm.run:LanguageModelRun"   # what load() returns
    export_module = "lstmkit.tasks.lm.export"
    eval_data_help = "its own corpus"
    memory_help = 'a string of text'
    options = (Option("--prefix", "text to continue after training (default: 'time traveller' for the Time Machine, "
                                  "else the start of the validation text)", str),
               Option("--gen-length", "tokens to generate after training (default 100)", int, 100))
    help = "character or word language model (default: The Time Machine, shipped)"
    data_help = "ptb|tinyshakespeare|zh-novel|timemachine|PATH"
    defaults = RunConfig(task="lm")
    uses = COMMON_USES | {"model.embedding_dim", "data.encoding", "data.valid_fraction", "data.tokenizer",
                          "data.min_freq", "data.max_vocab"}
    monitor = "valid_loss"
    monitor_label = "lowest valid loss"
    headline = Headline("valid_ppl", "valid perplexity")
    log_keys = ("train_ppl", "valid_ppl", "lr", "tokens_per_s")
    plot = ("perplexity.png", ("train_ppl", "valid_ppl"), "perplexity", False)
    perplexity = True
    needs_data = False
    flags = (Flag("--level", "lm.level", ("char", "word")),
             Flag("--tokenizer", "data.tokenizer", ("basic_english", "whitespace", "jieba")),
             Flag("--sampling", "lm.sampling", ("sequential", "random")), Flag("--num-steps", "lm.num_steps"),
             Flag("--embedding-dim", "model.embedding_dim"), Flag("--encoding", "data.encoding"))

    def __init__(self) -> None:
        self.averager: WeightAverager | None = None

    def prepare(self, cfg: RunConfig, download: bool) -> Corpus:
        from lstmkit.tasks.lm.data import load_corpus

        corpus = load_corpus(cfg.data, cfg.lm, download)
        logger.info("corpus %s (%s tokens): %d train / %d valid / %d test tokens, vocabulary %d",
                    corpus.source, corpus.tokenizer, corpus.train_ids.numel(), corpus.valid_ids.numel(),
                    corpus.test_ids.numel(), len(corpus.vocab))
        need = cfg.train.batch_size * (cfg.lm.num_steps + 1)
        if corpus.train_ids.numel() < need:
            raise DataError(f"{corpus.source}: the training part has {corpus.train_ids.numel()} tokens, fewer than one "
                            f"batch needs (train.batch_size={cfg.train.batch_size} x lm.num_steps+1="
                            f"{cfg.lm.num_steps + 1} = {need}); give more text or lower those two")
        return corpus

    def build(self, cfg: RunConfig, data: Corpus) -> LanguageModel:
        from lstmkit.tasks.lm.model import LanguageModel

        model = LanguageModel(len(data.vocab), cfg.model, cfg.lm)
        logger.info("model: %d parameters", sum(p.numel() for p in model.parameters()))
        return model

    def save_assets(self, run_dir: Path, cfg: RunConfig, data: Corpus) -> None:
        from lstmkit.training import checkpoint

        checkpoint.save_files(run_dir, {checkpoint.VOCAB: data.vocab.to_json()})

    def check_resume(self, run_dir: Path, data: Corpus) -> None:
        from lstmkit.tasks.lm.model import _same_vocab

        _same_vocab(run_dir, data.vocab)

    def hooks(self, model, optimizer, ctx: Context) -> list:
        from lstmkit.training.averaging import WeightAverager

        lm = ctx.cfg.lm
        self.averager = WeightAverager(model, lm.asgd_nonmono) if lm.asgd else None
        if lm.asgd and ctx.cfg.train.optimizer != "sgd":
            raise ConfigError("lm.asgd averages SGD's weights; set train.optimizer=sgd")
        return [self.averager] if self.averager is not None else []

    def weights_for_eval(self):
        return self.averager.swapped() if self.averager is not None else nullcontext()

    def batches(self, ctx: Context, data: Corpus, epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        import torch
        from lstmkit.data.batching import SAMPLERS, variable_batches

        t, lm = ctx.cfg.train, ctx.cfg.lm
        generator = torch.Generator().manual_seed(t.seed * 1000 + epoch)    # the same cut after a resume
        if lm.variable_bptt:
            return variable_batches(data.train_ids, t.batch_size, lm.num_steps, generator)
        return SAMPLERS[lm.sampling](data.train_ids, t.batch_size, lm.num_steps, generator)

    def num_batches(self, ctx: Context, data: Corpus) -> int:
        from lstmkit.data.batching import num_batches

        return num_batches(data.train_ids.numel(), ctx.cfg.train.batch_size, ctx.cfg.lm.num_steps)

    def shard(self, batch, rank):
        return shard_rows(rank, *batch)              # rows are separate streams; each rank carries its own

    def step(self, model: LanguageModel, ctx: Context, batch, state) -> StepResult:
        import torch.nn.functional as F
        from lstmkit.nn.regularize import activation_penalty
        from lstmkit.training.trainer import StepResult

        lm = ctx.cfg.lm
        x, y = (b.to(ctx.device) for b in batch)                             # (B, T) each
        with ctx.autocast():
            raw, dropped, new_state = model.features(x, state if lm.sampling == "sequential" else None)  # (B, T, H)
            logits = model.logits(dropped)                                   # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        objective = loss + activation_penalty(dropped.float(), raw.float(), lm.ar, lm.tar)
        if lm.variable_bptt:                     # AWD scales the step by the window's length
            objective = objective * (x.size(1) / lm.num_steps)
        return StepResult(loss, y.numel(), objective=objective, state=new_state)

    def validate(self, model: LanguageModel, ctx: Context, data: Corpus) -> dict[str, float]:
        from lstmkit.tasks.lm.model import split_scores

        if data.valid_ids.numel() < 2:
            return {}
        return split_scores(model, data.valid_ids, "valid", ctx.cfg.lm.eval_batch_size)

    def finish(self, model: LanguageModel, ctx: Context, data: Corpus, run_dir: Path) -> dict[str, float]:
        from lstmkit.tasks.lm.model import score_run

        return score_run(model, data, run_dir)


    def report(self, fitted: Any, options: dict[str, Any]) -> list[str]:
        """Perplexity of the last epoch and the best model, and a sample from ``--prefix``."""
        import shlex

        from lstmkit.boundary import printable
        from lstmkit.tasks.lm import generate

        run = self.load(fitted.run_dir)
        cfg, corpus, scores = run.cfg, fitted.data, fitted.test or {}
        unit = "bits/char" if cfg.lm.level == "char" else "bits/word"
        last = fitted.history[-1]
        lines = [f"last epoch: train perplexity {last['train_ppl']:.2f}, {last['tokens_per_s']:,.0f} tokens/s"]
        for split in ("valid", "test"):
            if f"{split}_ppl" in scores:
                lines.append(f"best model, {split}: perplexity {scores[f'{split}_ppl']:.2f}, loss "
                             f"{scores[f'{split}_loss']:.4f} nats, {scores[f'{split}_bpt']:.3f} {unit}")
        length = options.get("gen_length", 100)
        if length < 1:
            return lines
        prefix = options.get("prefix")
        if prefix is None:
            if cfg.data.path in ("", "timemachine"):
                prefix = "time traveller"
            else:
                opening = corpus.valid_ids if corpus.valid_ids.numel() else corpus.train_ids
                prefix = generate.detokenize(corpus.vocab.decode(opening[: 3 if cfg.lm.level == "word" else 12].tolist()),
                                             corpus.tokenizer)
        # Sampled, not greedy: greedy decoding of a small model loops ("the time traveller and the time ...").
        text = run.generate(prefix, length, temperature=0.8, top_k=5, seed=0)
        lines.append(f"generated (temperature 0.8, top-k 5, seed 0): {text}")
        lines.append(f"more: lstmkit generate {printable(shlex.quote(str(fitted.run_dir)))} --prefix \"...\" "
                     "--length 200 --temperature 0.8")
        return lines

    def memory_part(self, arg: str, value: Any) -> Any | None:
        """A string with a line break, or longer than any file name, is text to learn."""
        from lstmkit import boundary

        if isinstance(value, str) and ("\n" in value or len(value) > 255):
            return boundary.text(arg, value)
        return None

    text_hint = ("; a short text is read as a name: to train on text in memory (lstmkit.train), give it with a line "
                 "break or longer than 255 characters")

    def data_keys(self, paths: dict[str, str], folder: Path) -> dict[str, str]:
        """A language model reads its parts from one folder of *train* / *valid* / *test* files."""
        if "path" in paths and Path(paths["path"]).parent == folder and "valid_path" in paths:
            return {"path": str(folder)}
        return {k: v for k, v in paths.items() if k == "path"}

    def write_part(self, value: str, folder: Path, name: str) -> Path:
        """Text given in memory, as ``name.txt``."""
        from lstmkit.files import write_file

        return write_file(folder / f"{name}.txt", value)
