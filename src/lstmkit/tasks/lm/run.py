"""A trained language model, loaded: ``generate`` and ``stream`` text, perplexity."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from lstmkit import boundary
from lstmkit.errors import ConfigError
from lstmkit.tasks.run import Evaluation, Run


class LanguageModelRun(Run):
    generates = True

    def check_eval_data(self, data: Any) -> None:
        if data is not None:
            raise ConfigError("a language model is scored on the corpus it was trained on; drop --data")

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks.lm import model as lm
        from lstmkit.tasks.lm.data import resolve_normalize, word_tokenizer

        self.model, self.vocab, _ = lm.load_lm(run_dir, device, self.cfg)
        self.normalize = resolve_normalize(self.cfg.data, self.cfg.lm)
        self.tokenizer = "char" if self.cfg.lm.level == "char" else word_tokenizer(self.cfg.data)

    def generate(self, prefix: str, length: int = 200, temperature: float | None = None, top_k: int = 0,
                 top_p: float = 1.0, seed: int | None = None) -> str:
        """The prefix and ``length`` more tokens (greedy unless a sampling option is given),
        tokenised and normalised as the model was trained."""
        return "".join(self.stream(prefix, length, temperature, top_k, top_p, seed))

    def stream(self, prefix: str, length: int = 200, temperature: float | None = None, top_k: int = 0,
               top_p: float = 1.0, seed: int | None = None):
        """The same text as :meth:`generate`, in pieces as they are produced.

        Every argument is checked here, before the first piece (one
        :class:`~lstmkit.tasks.lm.sampling.Sampling`): a stream never fails half-way on a bad value."""
        from lstmkit.tasks.lm import generate
        from lstmkit.tasks.lm.sampling import Sampling

        prefix = boundary.text("prefix", prefix)
        sampling = Sampling(length, temperature, top_k, top_p, seed)
        return generate.stream(self.model, self.vocab, prefix, sampling, self.normalize, self.tokenizer)

    def perplexity(self, download: bool = False) -> dict[str, float]:
        """Valid and test scores over the whole parts of the run's corpus."""
        boundary.switch("download", download)
        from lstmkit.tasks.lm import model as lm

        return lm.evaluate_run(self.run_dir, download)

    eval_options = frozenset({"download"})

    def evaluate(self, download: bool = False) -> Evaluation:
        """Perplexity over the whole validation and test parts of the run's corpus."""
        boundary.switch("download", download)
        scores = self.perplexity(download)
        return Evaluation(scores, "\n".join(f"{k}\t{v:.4f}" for k, v in scores.items()))

    def predict_lines(self, inputs: list[str], **options: Any) -> list[str]:
        raise ConfigError(f"{str(self.run_dir)!r} is a language model: it continues text, it does not label it; "
                          f"use `lstmkit generate {boundary.printable(shlex.quote(str(self.run_dir)))} --prefix \"...\"`")

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """A language model labels nothing: refused, pointing to :meth:`generate`."""
        raise ConfigError(f"{str(self.run_dir)!r} is a language model: it continues text, it does not label it; "
                          "use run.generate(prefix, length=...) or run.stream(...)")

    def inspect_stack(self, value: str, invert: bool, max_steps: int):
        import torch

        from lstmkit.tasks.lm.generate import prepare_prefix

        ids = prepare_prefix(value, self.vocab, self.normalize, self.tokenizer, what="text")[:max_steps]
        return self.vocab.decode(ids), self.model.embed(torch.tensor([ids])), list(self.model.layers), {}



__all__ = ['LanguageModelRun']
