"""A trained classifier, loaded: ``predict`` texts, ``evaluate`` on IMDB or a table file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lstmkit import boundary
from lstmkit.errors import ConfigError
from lstmkit.tasks.run import Evaluation, Run, ServeInput, check_eval_data


class ClassifierRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks.classify import model as classify

        self.labels = classify.run_labels(run_dir)
        self.model, self.vocab, _ = classify.load_classifier(run_dir, device, self.cfg, self.labels)

    def predict(self, texts: str | Iterable[str]) -> list[dict[str, Any]]:
        """``{"text", "label", "probability", "probabilities": {label: p}}`` for each text."""
        from lstmkit.tasks.classify import model as classify

        texts = boundary.texts("texts", texts)
        probs = classify.predict_probabilities(self.model, self.vocab, self.labels, self.cfg, texts)
        out = []
        for text, row in zip(texts, probs.tolist()):
            best = max(range(len(row)), key=row.__getitem__)
            out.append({"text": text, "label": self.labels[best], "probability": row[best],
                        "probabilities": dict(zip(self.labels, row))})
        return out

    predict_options = frozenset({"texts", "file"})
    serve_input = ServeInput("texts", "a classifier needs \"texts\": a list of texts", batched=True)

    def serve_info(self) -> dict[str, Any]:
        return {"labels": self.labels}

    def check_eval_data(self, data: Any) -> None:
        if data is None:
            raise ConfigError("a classifier needs --data: imdb (its test split) or a labelled table")
    eval_options = frozenset({"data", "download", "encoding"})

    def evaluate(self, data: str | Path, download: bool = False, encoding: str | None = None) -> Evaluation:
        """Accuracy, per-class P/R/F1 and confusion on ``imdb`` (its test split) or a table file."""
        boundary.switch("download", download)
        check_eval_data(data, optional=False)
        from lstmkit.tasks.classify import model as classify
        from lstmkit.training.plots import plot_confusion

        rep, nll = classify.evaluate_run(self.run_dir, str(data), download, self.device, encoding)
        png = plot_confusion(rep.confusion, rep.labels, self.run_dir / "confusion.png")
        scores = {**rep.to_dict(), "loss": nll}
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"{rep.as_text()}\nloss {nll:.4f}; confusion matrix plot: {png}\n{saved}")

    def predict_lines(self, inputs: list[str], **options: Any) -> list[str]:
        show = boundary.printable                           # one record per line: a text's own \n or \t escaped
        return [f"{show(p['label'])}\t{p['probability']:.4f}\t{show(p['text'] if len(p['text']) <= 60 else p['text'][:57] + '...')}"
                for p in self.predict(inputs)]

    def inspect_stack(self, value: str, invert: bool, max_steps: int):
        import torch

        from lstmkit.data.tokenize import get_tokenizer

        tokens = get_tokenizer(self.cfg.data.tokenizer)(value)[:max_steps]
        if not tokens:
            raise ValueError("the text has no tokens to inspect")
        ids = torch.tensor([self.vocab.encode(tokens)])
        return tokens, self.model.embed(ids), [self.model.rnn], {"prediction": self.predict([value])[0]}



__all__ = ['ClassifierRun']
