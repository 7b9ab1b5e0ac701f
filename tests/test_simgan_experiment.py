"train_simgan.ipynb as a user runs it, in smoke mode: toy eyes (with the truth), the source project's eyes, bad input."
import json
from pathlib import Path

import papermill as pm
import pytest

from conftest import NBS, ROOT
from test_experiments import run_nb

EYES = next((p for p in [ROOT.parent / "shared" / "data" / "eyes", Path("/work/shared/data/eyes")]
             if (p / "real").is_dir() and (p / "synthetic").is_dir()), None)


def test_simgan_on_toy_eyes(smoke_env, tmp_path):
    run_nb(NBS / "train_simgan.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", device="cpu", lam=0.5)
    out = tmp_path / "o"
    m = json.loads((out / "metrics.json").read_text())
    assert (m["synthetic"], m["real"], m["n_synthetic"], m["image_size"], m["steps"]) == ("toyeyes-clean", "toyeyes-real", 64, 32, 4)
    assert m["params"]["lam"] == 0.5 and m["smoke"] is True and m["buffer_images"] == 16
    assert m["synthetic_l1_input"] == 0 and m["refined_l1_input"] > 0 and "refined_l1_truth" in m
    rec = json.loads((out / "run.json").read_text())
    assert (rec["loss"], rec["fake_pool"], rec["augment"]) == ("local_bce", "history", "shear10-translate0.1-flip0.5")
    assert [e["step"] for e in rec["metrics"]] == [2, 4] and "noise_floor" in rec["metrics"][0]
    for f in ["samples.png", "refinement.png", "losses.png", "checkpoint-0000004.pt"]: assert (out / f).is_file()


@pytest.mark.skipif(EYES is None, reason="the eyes test data (shared/data/eyes) is not on this machine")
def test_simgan_on_the_source_projects_eyes(smoke_env, tmp_path):
    run_nb(NBS / "train_simgan.ipynb", tmp_path / "r.ipynb", tmp_path, synthetic="eyes", real="eyes",
           eyes_root=str(EYES), out_dir="o", device="cpu", fraction=0.0)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert (m["synthetic"], m["real"], m["n_synthetic"], m["n_real"]) == ("eyes-synthetic", "eyes-real", 118, 729)
    assert "refined_l1_truth" not in m and m["buffer_images"] == 0 and m["n_eval"] == 64


@pytest.mark.parametrize("params, message", [
    ({"feature": "sobel"}, "feature must be one of identity, mean, pool"),
    ({"lam": -1.0}, "lam must be a number >= 0"),
    ({"prefit_steps": -5}, "prefit_steps must be a non-negative integer"),
])
def test_bad_simgan_parameters(smoke_env, tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_simgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", **params)
    assert e.value.ename == "ValueError" and message in e.value.evalue
