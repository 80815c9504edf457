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
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ModelConfig, RunConfig
from lstmkit.tasks.lm.options import LMOptions
from lstmkit.data.batching import SAMPLERS, num_batches, variable_batches
from lstmkit.data.vocab import Vocab
from lstmkit.errors import ConfigError, DataError, RunDirError
from lstmkit.nn import make_rnn
from lstmkit.nn.regularize import (
    activation_penalty,
    dropout,
    embedding_dropout,
    weight_dropped_call,
)
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Option, Task, shard_rows
from lstmkit.tasks.lm.data import Corpus, load_corpus, resolve_normalize
from lstmkit.training import checkpoint
from lstmkit.training.averaging import WeightAverager
from lstmkit.training.build import device_of
from lstmkit.training.metrics import bits_per_token, perplexity
from lstmkit.training.trainer import StepResult

logger = logging.getLogger(__name__)

LayerState = Tensor | tuple[Tensor, ...]
State = list[LayerState]          # one entry per layer, each as that layer returns it
EVAL_FILE = checkpoint.SCORES


class LanguageModel(nn.Module):
    """Embedding -> recurrent layers (one module per layer) -> vocabulary logits.

    Layers are separate one-layer modules so that dropout between them can be locked over
    time and DropConnect can reach each hidden-to-hidden matrix; each still runs as one fused
    kernel call. With ``tie_weights`` the output layer reuses the embedding matrix, after a
    linear projection H -> E when the sizes differ.

    Shapes: tokens (B, T) -> logits (B, T, V); state: a list of per-layer states.

    Example:
        >>> model = LanguageModel(28, ModelConfig(hidden_size=16, embedding_dim=8, num_layers=2), LMOptions())
        >>> logits, state = model(torch.zeros(2, 5, dtype=torch.long))
        >>> logits.shape, len(state), state[0][0].shape
        (torch.Size([2, 5, 28]), 2, torch.Size([1, 2, 16]))
    """

    def __init__(self, vocab_size: int, cfg: ModelConfig, lm: LMOptions) -> None:
        super().__init__()
        self.cfg, self.lm = cfg, lm
        E, H = cfg.embedding_dim, cfg.hidden_size
        self.embed = nn.Embedding(vocab_size, E)
        self.layers = nn.ModuleList(
            make_rnn(cfg.cell, E if i == 0 else H, H, batch_first=True, backend=cfg.backend)
            for i in range(cfg.num_layers)
        )
        self.project = nn.Linear(H, E) if lm.tie_weights and H != E else None
        self.head = nn.Linear(E if lm.tie_weights else H, vocab_size)
        if lm.init_range > 0:
            for param in self.parameters():
                nn.init.uniform_(param, -lm.init_range, lm.init_range)
        if lm.tie_weights:
            self.head.weight = self.embed.weight                             # (V, E), shared

    def features(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, Tensor, State]:
        """The last layer's output before and after dropout, and the new state.

        Shapes: tokens (B, T) -> raw (B, T, H), dropped (B, T, H), state
        """
        cfg, lm, training = self.cfg, self.lm, self.training
        x = embedding_dropout(self.embed, tokens, lm.dropout_embed, training)       # (B, T, E)
        x = dropout(x, lm.input_dropout(cfg.dropout), training, lm.locked_dropout)
        new_state: State = []
        for i, layer in enumerate(self.layers):
            x, layer_state = weight_dropped_call(layer, lm.weight_drop, training, x,
                                                 None if state is None else state[i])  # (B, T, H)
            new_state.append(layer_state)
            if i < len(self.layers) - 1:
                x = dropout(x, lm.hidden_dropout(cfg.dropout), training, lm.locked_dropout)
        return x, dropout(x, cfg.dropout, training, lm.locked_dropout), new_state

    def logits(self, features: Tensor) -> Tensor:
        """Shapes: (B, T, H) -> (B, T, V)"""
        if self.project is not None:
            features = self.project(features)                                # (B, T, E)
        return self.head(features)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        _, dropped, state = self.features(tokens, state)
        return self.logits(dropped), state


def detach_state(state: State | None) -> State | None:
    """Cut the graph at a BPTT window, keeping the values."""
    if state is None:
        return None
    return [tuple(s.detach() for s in st) if isinstance(st, tuple) else st.detach() for st in state]


@torch.no_grad()
def evaluate_nll(model: LanguageModel, ids: Tensor, batch_size: int = 1, window: int = 256) -> float:
    """Mean NLL per token over a whole stream, the state carried from window to window.

    With ``batch_size`` 1 every token but the first is predicted (the literature's number);
    larger batches cut the stream into that many contiguous rows (faster, drops the remainder).
    """
    if ids.numel() < 2:
        raise DataError(f"cannot evaluate on {ids.numel()} token(s); the split needs at least 2")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    usable = ((ids.numel() - 1) // batch_size) * batch_size
    xs = ids[:usable].view(batch_size, -1)                                   # (B, N/B)
    ys = ids[1 : usable + 1].view(batch_size, -1)
    total, count, state = 0.0, 0, None
    for start in range(0, xs.size(1), window):
        x = xs[:, start : start + window].to(device)                         # (B, T)
        y = ys[:, start : start + window].to(device)
        logits, state = model(x, state)                                      # (B, T, V)
        total += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                                       reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return total / max(count, 1)


def split_scores(model: LanguageModel, ids: Tensor, prefix: str, batch_size: int = 1) -> dict[str, float]:
    """``{prefix}_loss``, ``_ppl`` and ``_bpt`` (bits per token; bits per character at char level)."""
    nll = evaluate_nll(model, ids, batch_size)
    return {f"{prefix}_loss": nll, f"{prefix}_ppl": perplexity(nll), f"{prefix}_bpt": bits_per_token(nll)}


class LMTask(Task):
    """Language models: truncated BPTT with the state carried through the step contract."""

    name = "lm"
    run_class = "lstmkit.tasks.lm.run:LanguageModelRun"   # what load() returns
    export_module = "lstmkit.tasks.lm.export"
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
        model = LanguageModel(len(data.vocab), cfg.model, cfg.lm)
        logger.info("model: %d parameters", sum(p.numel() for p in model.parameters()))
        return model

    def save_assets(self, run_dir: Path, cfg: RunConfig, data: Corpus) -> None:
        checkpoint.save_files(run_dir, {checkpoint.VOCAB: data.vocab.to_json()})

    def check_resume(self, run_dir: Path, data: Corpus) -> None:
        _same_vocab(run_dir, data.vocab)

    def hooks(self, model, optimizer, ctx: Context) -> list:
        lm = ctx.cfg.lm
        self.averager = WeightAverager(model, lm.asgd_nonmono) if lm.asgd else None
        if lm.asgd and ctx.cfg.train.optimizer != "sgd":
            raise ConfigError("lm.asgd averages SGD's weights; set train.optimizer=sgd")
        return [self.averager] if self.averager is not None else []

    def weights_for_eval(self):
        return self.averager.swapped() if self.averager is not None else nullcontext()

    def batches(self, ctx: Context, data: Corpus, epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        t, lm = ctx.cfg.train, ctx.cfg.lm
        generator = torch.Generator().manual_seed(t.seed * 1000 + epoch)    # the same cut after a resume
        if lm.variable_bptt:
            return variable_batches(data.train_ids, t.batch_size, lm.num_steps, generator)
        return SAMPLERS[lm.sampling](data.train_ids, t.batch_size, lm.num_steps, generator)

    def num_batches(self, ctx: Context, data: Corpus) -> int:
        return num_batches(data.train_ids.numel(), ctx.cfg.train.batch_size, ctx.cfg.lm.num_steps)

    def shard(self, batch, rank):
        return shard_rows(rank, *batch)              # rows are separate streams; each rank carries its own

    def step(self, model: LanguageModel, ctx: Context, batch, state) -> StepResult:
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
        if data.valid_ids.numel() < 2:
            return {}
        return split_scores(model, data.valid_ids, "valid", ctx.cfg.lm.eval_batch_size)

    def finish(self, model: LanguageModel, ctx: Context, data: Corpus, run_dir: Path) -> dict[str, float]:
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


def _same_vocab(run_dir: Path, vocab: Vocab) -> None:
    if checkpoint.load_vocab(run_dir).itos != vocab.itos:
        raise RunDirError(f"the data of {str(run_dir)!r} no longer gives the vocabulary it was trained with; "
                          "resume with the same data and data settings")


def score_run(model: LanguageModel, corpus: Corpus, run_dir: str | Path | None = None) -> dict[str, float]:
    """Valid and test scores over the whole parts (batch 1, state carried); saved to eval.json."""
    scores: dict[str, float] = {}
    for name, ids in (("valid", corpus.valid_ids), ("test", corpus.test_ids)):
        if ids.numel() >= 2:
            scores.update(split_scores(model, ids, name))
    if run_dir is not None:
        checkpoint.save_scores(run_dir, scores)
    return scores


def load_lm(run_dir: str | Path, device: str = "cpu") -> tuple[LanguageModel, Vocab, RunConfig]:
    """Rebuild a trained language model from its run directory (no unpickling)."""
    cfg = checkpoint.read_run_config(run_dir, task="lm")
    vocab = checkpoint.load_vocab(run_dir)
    model = checkpoint.build_and_load(run_dir, lambda: LanguageModel(len(vocab), cfg.model, cfg.lm),
                                      sizes=cfg.model)
    return model.to(device_of(device)).eval(), vocab, cfg


def evaluate_run(run_dir: str | Path, download: bool = False) -> dict[str, float]:
    """Re-read the run's corpus with its vocabulary and score valid and test."""
    model, vocab, cfg = load_lm(run_dir)
    corpus = load_corpus(cfg.data, cfg.lm, download, vocab=vocab)
    return score_run(model, corpus, run_dir)


__all__ = ["LMTask", "LanguageModel", "detach_state", "evaluate_nll", "evaluate_run", "load_lm",
           "resolve_normalize", "score_run", "split_scores"]
