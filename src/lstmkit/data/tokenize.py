"""Tokenizers and text normalisation, behind one registry.

Example:
    >>> get_tokenizer("basic_english")("Hello, World!")
    ['hello', ',', 'world', '!']
    >>> get_tokenizer("char")("ab c")
    ['a', 'b', ' ', 'c']
"""

from __future__ import annotations

import re
from collections.abc import Callable

Tokenizer = Callable[[str], list[str]]

# torchtext's basic_english rules: lower-case, split off punctuation, drop quotes and <br />.
_BASIC_RULES = [
    (re.compile(r"\'"), " '  "),
    (re.compile(r"\""), ""),
    (re.compile(r"\."), " . "),
    (re.compile(r"<br \/>"), " "),
    (re.compile(r","), " , "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\!"), " ! "),
    (re.compile(r"\?"), " ? "),
    (re.compile(r"\;"), " "),
    (re.compile(r"\:"), " "),
    (re.compile(r"\s+"), " "),
]


def basic_english(text: str) -> list[str]:
    text = text.lower()
    for pattern, repl in _BASIC_RULES:
        text = pattern.sub(repl, text)
    return text.split()


def whitespace(text: str) -> list[str]:
    return text.split()


def char(text: str) -> list[str]:
    return list(text)


_UD_ENGLISH = re.compile(r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-.@]\w+)*|[^\w\s]", re.IGNORECASE)


def ud_english(text: str) -> list[str]:
    """Words as the UD English treebanks cut them, case kept: punctuation apart, clitics split.

    Example:
        >>> ud_english("I don't think it's e-mail, Dr. Smith.")
        ['I', 'do', "n't", 'think', 'it', "'s", 'e-mail', ',', 'Dr', '.', 'Smith', '.']
    """
    return _UD_ENGLISH.findall(text)


def jieba_words(text: str) -> list[str]:
    """Chinese words by jieba's default (precise) mode, whitespace dropped."""
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


TOKENIZERS: dict[str, Tokenizer] = {
    "basic_english": basic_english, "char": char, "jieba": jieba_words, "ud_english": ud_english,
    "whitespace": whitespace,
}


def get_tokenizer(name: str) -> Tokenizer:
    """Look a tokenizer up by name.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of: {', '.join(sorted(TOKENIZERS))}")
    return TOKENIZERS[name]


_NON_LETTERS = re.compile(r"[^A-Za-z]+")


def letters_only(text: str) -> str:
    """The d2l.ai preprocessing of The Time Machine: each line to lower-case letters and single
    spaces, empty lines dropped, lines joined by a space.

    Example:
        >>> letters_only("The Time Machine, by H. G. Wells [1898]\\n\\nI")
        'the time machine by h g wells i'
    """
    lines = (_NON_LETTERS.sub(" ", line).strip().lower() for line in text.splitlines())
    return " ".join(line for line in lines if line)
