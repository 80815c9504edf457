"""Metrics from mean negative log-likelihoods."""

from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    """exp of the mean negative log-likelihood per token (nats), inf on overflow.

    Example:
        >>> round(perplexity(math.log(28)), 6)
        28.0
    """
    try:
        return math.exp(mean_nll)
    except OverflowError:
        return math.inf


def bits_per_token(mean_nll: float) -> float:
    """Mean NLL in bits (bits per character for a character model).

    Example:
        >>> bits_per_token(math.log(2))
        1.0
    """
    return mean_nll / math.log(2)
