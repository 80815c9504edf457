from __future__ import annotations

import pytest

from lstmkit.config import RunConfig, apply_overrides, load_config
from lstmkit.errors import ConfigError


def test_overrides_are_typed():
    cfg = apply_overrides(RunConfig(), ["train.lr=0.1", "model.cell=gru", "train.epochs=3"])
    assert (cfg.train.lr, cfg.model.cell, cfg.train.epochs) == (0.1, "gru", 3)


@pytest.mark.parametrize("item,message", [
    ("train.epochs=many", "cannot read 'many' as int"),
    ("train.nope=1", "unknown field 'nope' in train"),
    ("nope.x=1", "unknown config section 'nope'"),
    ("epochs=3", "--set takes section.field=value"),
    ("model.cell=rnn", "unknown model.cell 'rnn'; choose one of: gru, lstm, peephole"),
    ("train.epochs=0", "train.epochs must be >= 1, got 0"),
    ("model.cell=peephole", "peephole cell has no native kernel; set model.backend=reference"),
])
def test_bad_overrides(item, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(RunConfig(), [item])


def test_toml_round_trip(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nhidden_size = 32\n[train]\nepochs = 2\n')
    cfg = load_config(path, ["train.epochs=5"])
    assert cfg.model.hidden_size == 32 and cfg.train.epochs == 5
    import json
    assert RunConfig.from_dict(json.loads(cfg.to_json())) == cfg


def test_toml_unknown_field(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nhiden_size = 32\n')
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['hiden_size'\] in \[model\]"):
        load_config(path)


def test_overrides_are_validated_together_in_any_order():
    cfg = apply_overrides(RunConfig(), ["model.cell=peephole", "model.backend=reference"])
    assert (cfg.model.cell, cfg.model.backend) == ("peephole", "reference")
