"train_wgan.ipynb as a user runs it: per category, both variants, DiffAugment, and bad input."
import json

import papermill as pm
import pytest

from conftest import NBS
from test_experiments import run_nb


@pytest.mark.parametrize("variant, policy", [("wgan", ""), ("wgan-gp", "color,translation,cutout")])
def test_wgan_on_one_toycars_viewpoint(smoke_env, tmp_path, variant, policy):
    run_nb(NBS / "train_wgan.ipynb", tmp_path / "r.ipynb", tmp_path, dataset="toycars", category="front",
           variant=variant, diffaugment=policy, out_dir="o", device="cpu")
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["dataset"] == "toycars/front" and m["n_images"] == 1250 and m["variant"] == variant
    assert m["diffaugment"] == policy and m["steps"] == 6
    rec = json.loads((tmp_path / "o" / "run.json").read_text())
    assert rec["loss"] == "wasserstein" and rec["n_critic"] == 2 and rec["ema"] == 0.999
    assert (rec["penalties"], rec["constraints"]) == (([], ["clip"]) if variant == "wgan" else (["gp"], []))
    assert (rec["augment"] is not None) == bool(policy)
    for f in ["samples.png", "losses.png"]: assert (tmp_path / "o" / f).is_file()


@pytest.mark.parametrize("params, ename, message", [
    ({"variant": "wgan-lp"}, "ValueError", "variant 'wgan-lp' is not one of 'wgan', 'wgan-gp'"),
    ({"dataset": "toycars", "category": "top"}, "ValueError", "no category 'top': use one of front, front-left"),
    ({"category": "x", "dataset": "sprites"}, "ValueError", "no category 'x'"),
    ({"diffaugment": "colour"}, "ValueError", "colour"),
    ({"ema": 1.5}, "ValueError", "ema must be 0 (off) or a decay"),
])
def test_bad_wgan_parameters(smoke_env, tmp_path, params, ename, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_wgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", **params)
    assert e.value.ename == ename and message in e.value.evalue
