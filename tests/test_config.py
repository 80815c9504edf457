from __future__ import annotations

import json

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
    ("model.cell=rnn", "unknown model.cell 'rnn'; choose one of: gru, lnlstm, lstm, mingru, minlstm, peephole"),
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


@pytest.mark.parametrize("toml,message", [
    ('[model]\nhidden_size = "abc"\n', r"model.hidden_size must be an integer, got str 'abc'"),
    ("[model]\nhidden_size = 16.5\n", r"model.hidden_size must be an integer, got float 16.5"),
    ('[data]\npath = ["a", "b"]\n', r"data.path must be text \(str\), got list \['a', 'b'\]"),
    ("[train]\ndevice = 5\n", r"train.device must be text \(str\), got int 5"),
    ("[train]\nepochs = true\n", r"train.epochs must be an integer, got bool True"),
    ('[train]\ndevice = "meta"\n', r"unknown train.device 'meta'; use cpu, cuda or cuda:N"),
    ("[train]\nlr = inf\n", r"train.lr must be a finite number, got inf"),
    ("[train]\nclip_norm = nan\n", r"train.clip_norm must be a finite number, got nan"),
    ('[data]\nlevel = "word"\n', r"data.level is now lm.level \(config format 2\)"),
    ("[model]\n[model.x]\n", r"unknown field\(s\) \['x'\] in \[model\]"),
])
def test_every_field_is_type_checked_from_the_dataclass(tmp_path, toml, message):
    path = tmp_path / "run.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_an_integer_in_toml_takes_a_float_override(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[train]\nmax_minutes = 72\n")
    cfg = load_config(path, ["train.max_minutes=0.5"])
    assert cfg.train.max_minutes == 0.5 and isinstance(load_config(path).train.max_minutes, float)


def test_moved_fields_name_their_new_place():
    with pytest.raises(ConfigError, match=r"--set model.crf: it is now tag.crf"):
        apply_overrides(RunConfig(), ["model.crf=true"])


def test_format_1_run_directories_are_still_read(tmp_path):
    """A run saved before the task sections existed loads with its values in their new places."""
    import json

    from lstmkit.training.checkpoint import read_run_config

    old = {"format_version": 1, "task": "lm", "model": {"hidden_size": 64, "tie_weights": True, "pooling": "last"},
           "data": {"path": "ptb", "level": "word", "max_len": 0, "tag_column": "upos"},
           "train": {"num_steps": 20, "stop_mid_epoch": True, "epochs": 3}}
    (tmp_path / "config.json").write_text(json.dumps(old))
    (tmp_path / "model.safetensors").write_bytes(b"")
    cfg = read_run_config(tmp_path)
    assert (cfg.lm.level, cfg.lm.num_steps, cfg.lm.tie_weights, cfg.model.hidden_size) == ("word", 20, True, 64)
    saved = json.loads(cfg.to_json())
    assert saved["format_version"] == 4
    assert set(saved) == {"format_version", "task", "model", "data", "vectors", "train", "lm"}   # its own section only


def test_describe_lists_each_task_s_settings_with_defaults_and_meanings():
    from lstmkit.config import describe

    rows = {key: (default, meaning) for key, default, meaning in describe("tag")}
    assert rows["tag.crf"][0] is False and "CRF" in rows["tag.crf"][1]
    assert rows["model.hidden_size"][0] == 200                     # the tagger's default, not the global one
    assert "lm.level" not in rows and "vectors.path" in rows
    assert all(meaning for key, (_, meaning) in rows.items() if key.startswith("tag."))


@pytest.mark.parametrize("field, value, words", [("inputs", "OT,OT,HUFL", "names 'OT' twice"),
                                                ("inputs", "HUFL,,OT", "has an empty name"),
                                                ("target", "OT, OT", "names 'OT' twice")])
def test_forecast_columns_named_twice_or_empty_are_refused(field, value, words):
    """Found by a tester: --inputs OT,OT,HUFL fed OT twice, and HUFL,,OT passed silently."""
    from lstmkit.tasks.forecast.options import ForecastOptions
    from lstmkit.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        ForecastOptions(**{"target": "OT", field: value})


def test_a_config_reads_its_data_beside_it_and_takes_a_bom(tmp_path, monkeypatch):
    """Found by a tester: a TOML saved with a BOM (Notepad) was 'not valid TOML', and relative
    paths in a config were read from wherever the command ran."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.csv").write_text("text,label\nok,pos\n")
    (project / "cfg.toml").write_bytes("\ufeff[data]\npath = \"train.csv\"\ntest_path = \"ptb\"\n".encode("utf-8"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(project / "cfg.toml")
    assert cfg.data.path == str(project / "train.csv") and cfg.data.test_path == "ptb"   # a name stays a name
    (project / "cfg2.toml").write_text("[data]\npath = \"missing.csv\"\n")
    assert load_config(project / "cfg2.toml").data.path == "missing.csv"                  # as written: said later


def test_a_local_folder_named_like_a_dataset_is_mentioned(tmp_path, monkeypatch, caplog):
    from lstmkit.config import dataset_name

    monkeypatch.chdir(tmp_path)
    assert dataset_name("ptb") and not caplog.text
    (tmp_path / "ptb").mkdir()
    assert dataset_name("ptb") and "not as the folder 'ptb' here; to read that, pass ./ptb" in caplog.text
    assert not dataset_name("./ptb")


def test_every_setting_of_every_task_says_what_it_means():
    """Help texts are field metadata (config.setting), for the shared sections and each task's own."""
    from lstmkit import registry
    from lstmkit.config import SHARED, field_help

    for kind in (*SHARED.values(), *(registry.section_type(t) for t in registry.names())):
        empty = [name for name, text in field_help(kind).items() if not text.strip()]
        assert not empty, f"{kind.__name__}: fields without help: {empty}"


def test_a_config_holds_its_own_task_section_only_and_refuses_another():
    cfg = RunConfig(task="tag")
    assert set(json.loads(cfg.to_json())) == {"format_version", "task", "model", "data", "vectors", "train", "tag"}
    assert cfg.tag is cfg.options and RunConfig.from_dict(json.loads(cfg.to_json())) == cfg
    with pytest.raises(ConfigError, match=r"lm\.num_steps=5 is not used by task tag"):
        apply_overrides(cfg, ["lm.num_steps=5"])
    with pytest.raises(ConfigError, match=r"is not used by task tag"):
        RunConfig.from_dict({"task": "tag", "image": {"mode": "pixels"}})
    with pytest.raises(AttributeError):
        cfg.lm                                               # another task's section is not there at all
