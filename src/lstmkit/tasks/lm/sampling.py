"""How a language model draws its next tokens: one :class:`Sampling` value, made and checked
once, for ``run.generate``, ``run.stream``, ``lstmkit generate`` and the server's ``/generate``
(and :func:`lstmkit.tasks.lm.generate.generate` below them). Read without torch."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit import boundary

MAX_LENGTH = 1_000_000          # tokens per call: about a novel, minutes on a CPU
MIN_TEMPERATURE = 1e-3          # logits / T stays finite in float32
MAX_TEMPERATURE = 1e6           # beyond it sampling is uniform


@dataclass(frozen=True)
class Sampling:
    """``length`` tokens, greedy unless a sampling option is given: ``temperature`` (softmax of
    logits / T), ``top_k`` (the k likeliest, 0 = all), ``top_p`` (the smallest set holding that
    much probability, 1 = all); ``seed`` makes a sample reproducible.

    Raises:
        ArgumentError: naming the option, its value and its allowed range.

    Example:
        >>> Sampling(50, temperature=0.8).greedy
        False
    """

    length: int = 200
    temperature: float | None = None
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        length = boundary.integer("length", self.length)
        if length < 1:
            raise boundary.ArgumentError(f"length must be >= 1, got {length}")
        if length > MAX_LENGTH:
            raise boundary.ArgumentError(f"length must be <= {MAX_LENGTH:,} tokens per call, got {length}; generate "
                                         "in several calls, each from the end of the last")
        set_(self, "length", length)
        if self.temperature is not None:
            t = boundary.real("temperature", self.temperature)
            if not t > 0:
                raise boundary.ArgumentError(f"temperature must be > 0, got {t}; leave it out for greedy decoding")
            if t < MIN_TEMPERATURE:
                raise boundary.ArgumentError(f"temperature must be >= {MIN_TEMPERATURE}, got {t:g}; below that "
                                             "sampling is greedy decoding (leave the temperature out)")
            if t > MAX_TEMPERATURE:
                raise boundary.ArgumentError(f"temperature must be <= {MAX_TEMPERATURE:g}, got {t:g}; above that "
                                             "every token is about equally likely (uniform sampling)")
            set_(self, "temperature", t)
        top_k = boundary.integer("top_k", self.top_k)
        if top_k < 0:
            raise boundary.ArgumentError(f"top_k must be >= 0 (0 = no limit), got {top_k}")
        top_p = boundary.real("top_p", self.top_p)
        if not 0.0 < top_p <= 1.0:
            raise boundary.ArgumentError(f"top_p must be in (0, 1], got {top_p} (1 = no limit)")
        set_(self, "top_k", top_k)
        set_(self, "top_p", top_p)
        set_(self, "seed", boundary.seed("seed", self.seed))

    @property
    def greedy(self) -> bool:
        return self.temperature is None and self.top_k == 0 and self.top_p == 1.0


__all__ = ["MAX_LENGTH", "MAX_TEMPERATURE", "MIN_TEMPERATURE", "Sampling"]
