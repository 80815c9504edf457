"""The ``[lm]`` section: what a language model reads besides the shared sections."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit.config import check_at_least, check_choice, check_fraction, setting
from lstmkit.errors import ConfigError


@dataclass(frozen=True)
class LMOptions:
    level: str = setting("char", "char, or word (split by data.tokenizer, <eos> per line)")
    normalize: str = setting("auto",
        "letters (d2l: letters only, lower case), none; auto: letters for the shipped Time Machine, none "
        "otherwise")
    num_steps: int = setting(35, "BPTT window length")
    sampling: str = setting("sequential", "sequential (state carried, detached) or random")
    variable_bptt: bool = setting(False, "AWD's random window length around num_steps")
    eval_batch_size: int = setting(1, "streams evaluated side by side (1 = the exact whole split)")
    # the regularisation of Merity et al. 2018 (AWD-LSTM), all off by default
    dropout_input: float = setting(-1.0, "on the embeddings fed to the first layer; -1 = model.dropout")
    dropout_hidden: float = setting(-1.0, "between recurrent layers; -1 = model.dropout")
    locked_dropout: bool = setting(False, "variational dropout: one mask per sequence, shared over time")
    dropout_embed: float = setting(0.0, "drop whole words from the embedding matrix")
    weight_drop: float = setting(0.0, "DropConnect on the hidden-to-hidden weights")
    tie_weights: bool = setting(False, "share the input embedding with the output layer")
    init_range: float = setting(0.0, "> 0: every weight uniform in [-r, r] (Zaremba et al.); 0 = torch's")
    asgd: bool = setting(False,
        "NT-ASGD (AWD-LSTM): with sgd, average the weights once the validation loss stops improving (see "
        "asgd_nonmono)")
    asgd_nonmono: int = setting(5, "NT-ASGD starts when valid loss is worse than asgd_nonmono epochs before")
    ar: float = setting(0.0, "activation regularisation (alpha) on the last layer's output")
    tar: float = setting(0.0, "temporal activation regularisation (beta)")

    def __post_init__(self) -> None:
        check_choice("lm.level", self.level, ("char", "word"))
        check_choice("lm.normalize", self.normalize, ("auto", "letters", "none"))
        check_choice("lm.sampling", self.sampling, ("random", "sequential"))
        for name in ("num_steps", "eval_batch_size"):
            check_at_least(f"lm.{name}", getattr(self, name), 1)
        for name in ("dropout_input", "dropout_hidden"):
            value = getattr(self, name)
            if value != -1.0 and not 0.0 <= value < 1.0:
                raise ConfigError(f"lm.{name} must be in [0, 1) or -1 (= model.dropout), got {value}")
        check_fraction("lm.dropout_embed", self.dropout_embed)
        check_fraction("lm.weight_drop", self.weight_drop)
        for name in ("init_range", "asgd_nonmono", "ar", "tar"):
            check_at_least(f"lm.{name}", getattr(self, name), 0)
        if self.variable_bptt and self.sampling != "sequential":
            raise ConfigError("lm.variable_bptt needs lm.sampling=sequential")

    def input_dropout(self, dropout: float) -> float:
        return dropout if self.dropout_input == -1.0 else self.dropout_input

    def hidden_dropout(self, dropout: float) -> float:
        return dropout if self.dropout_hidden == -1.0 else self.dropout_hidden
