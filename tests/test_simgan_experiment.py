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
    # the measures: a domain classifier on held-out toy eyes (seeds 2 and 3), the gaze protocol (a), (b), (c)
    assert (m["n_synthetic_held_out"], m["n_real_held_out"]) == (32, 32)
    assert 0 <= m["realism_refined_called_real"] <= 1 and 0 <= m["realism_acc_real_vs_refined"] <= 1
    assert all(m[f"gaze_{k}_mean"] > 0 for k in "abc") and m["params"]["show_images"] is True
    rec = json.loads((out / "run.json").read_text())
    assert (rec["loss"], rec["fake_pool"], rec["augment"]) == ("local_bce", "history", "shear10-translate0.1-flip0.5")
    assert [e["step"] for e in rec["metrics"]] == [2, 4] and "noise_floor" in rec["metrics"][0]
    for f in ["samples.png", "refinement.png", "losses.png", "checkpoint-0000004.pt"]: assert (out / f).is_file()


@pytest.mark.skipif(EYES is None, reason="the eyes test data (shared/data/eyes) is not on this machine")
def test_simgan_on_the_source_projects_eyes(smoke_env, tmp_path):
    run_nb(NBS / "train_simgan.ipynb", tmp_path / "r.ipynb", tmp_path, synthetic="eyes", real="eyes",
           eyes_root=str(EYES), out_dir="o", device="cpu", fraction=0.0)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert (m["synthetic"], m["real"], m["n_synthetic"], m["n_real"]) == ("eyes-synthetic", "eyes-real", 83, 510)
    assert (m["n_synthetic_held_out"], m["n_real_held_out"]) == (35, 219)   # holdout=0.3 of 118 and 729, kept from the refiner
    assert "refined_l1_truth" not in m and m["buffer_images"] == 0 and m["n_eval"] == 64
    assert "realism_acc_refined" in m and "gaze_a_mean" not in m and m["params"]["show_images"] is False
    # the licence of the eyes: no cell that draws images of the data has an image in the executed report
    nb = json.loads((tmp_path / "r.ipynb").read_text())
    drawn = [c for c in nb["cells"] if c["cell_type"] == "code" and "show_images(" in "".join(c["source"])]
    assert len(drawn) == 2 and not any("image/png" in o.get("data", {}) for c in drawn for o in c["outputs"])


def test_simgan_toward_a_folder_without_held_out_images(smoke_env, image_folder, tmp_path):
    # holdout=0: the domain classifier trains on the refiner's own real images, and the report says so
    run_nb(NBS / "train_simgan.ipynb", tmp_path / "r.ipynb", tmp_path, real=str(image_folder), holdout=0.0,
           out_dir="o", device="cpu", show_images=False)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert (m["n_real_held_out"], m["params"]["show_images"]) == (0, False) and "realism_acc_real" in m
    assert "holdout=0" in (tmp_path / "r.ipynb").read_text()


@pytest.mark.parametrize("params, message", [
    ({"feature": "sobel"}, "feature must be one of identity, mean, pool"),
    ({"lam": -1.0}, "lam must be a number >= 0"),
    ({"prefit_steps": -5}, "prefit_steps must be a non-negative integer"),
    ({"holdout": 1.0}, "holdout must be in [0, 1)"),
    ({"gaze_epochs": 0}, "gaze_epochs must be a positive integer"),
    ({"gaze_seeds": 0}, "gaze_seeds must be a positive integer"),
    ({"show_images": "yes"}, "show_images 'yes' is not one of 'auto', True, False"),
])
def test_bad_simgan_parameters(smoke_env, tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_simgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", **params)
    assert e.value.ename == "ValueError" and message in e.value.evalue
