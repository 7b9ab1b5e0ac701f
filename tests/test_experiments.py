"The experiment notebooks as a user runs them: papermill from the repository root, any folder of images, bad input."
import json
import os
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest

from conftest import NBS, ROOT


def run_nb(nb, out_nb, cwd, **params):
    "Run a notebook the way the card writes it: papermill started in `cwd`, kernel in the same folder."
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return pm.execute_notebook(str(nb), str(out_nb), parameters=params, kernel_name="python3", progress_bar=False)
    finally:
        os.chdir(old)


def test_dcgan_on_a_folder_of_images_from_the_root(smoke_env, image_folder, tmp_path):
    # relative paths, as a user types them at the repository root
    work = tmp_path / "work"
    work.mkdir()
    (work / "pics").symlink_to(image_folder, target_is_directory=True)
    run_nb(NBS / "train_dcgan.ipynb", work / "report.ipynb", work,
           dataset="pics", image_size=32, out_dir="out/run1", device="cpu")
    out = work / "out" / "run1"  # relative out_dir: the folder papermill was started in
    m = json.loads((out / "metrics.json").read_text())
    assert m["dataset"] == "pics" and m["n_images"] == 24  # the corrupt file and the text file are skipped
    assert m["steps"] == 12 and m["smoke"] is True
    assert "modes_covered" not in m  # mode coverage is for sprites only
    assert 0 <= m["memorisation_rate"] <= 1 and m["swd_mean"] > 0
    for f in ["samples.png", "losses.png", "run.json"]:
        assert (out / f).is_file(), f
    report = json.loads((work / "report.ipynb").read_text())
    injected = [c for c in report["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "dataset = \"pics\"" in "".join(injected[0]["source"])


def test_dcgan_on_sprites_scores_coverage(smoke_env, tmp_path):
    run_nb(NBS / "train_dcgan.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", image_size=32, device="cpu")
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["n_modes"] == 96 and 0 <= m["modes_covered"] <= 96 and m["n_samples"] == 200
    assert m["swd_mean"] > 0 and 0 <= m["ms_ssim"] <= 1 and m["swd_n_images"] == 200
    assert (tmp_path / "o" / "coverage.png").is_file()


def test_portrait_preset_with_minibatch_discrimination(smoke_env, tmp_path):
    run_nb(NBS / "train_dcgan.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", dataset="sprites64",
           preset="portrait", device="cpu", time_budget=60)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    p = m["params"]
    assert (p["image_size"], p["nz"], p["z_std"], p["minibatch_discrimination"], p["mbd_position"]) == (64, 512, 0.02, 32, "middle")
    assert m["n_modes"] == 64 and m["dataset"] == "sprites64" and m["stopped_by_time"] is False
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["params"]["preset"] == "portrait"


def test_resume_continues_to_the_total(smoke_env, tmp_path):
    run_nb(NBS / "train_dcgan.ipynb", tmp_path / "a.ipynb", tmp_path, out_dir="o", device="cpu", steps=6)
    run_nb(NBS / "train_dcgan.ipynb", tmp_path / "b.ipynb", tmp_path, out_dir="o", device="cpu", steps=12)
    text = "".join("".join(o.get("text", "")) for c in json.loads((tmp_path / "b.ipynb").read_text())["cells"]
                   for o in c.get("outputs", []))
    assert "resumed at step 6" in text
    assert json.loads((tmp_path / "o" / "run.json").read_text())["steps"] == 12
    # other settings in the same folder: refused, not silently mixed
    with pytest.raises(pm.PapermillExecutionError, match="other parameters"):
        run_nb(NBS / "train_dcgan.ipynb", tmp_path / "c.ipynb", tmp_path, out_dir="o", device="cpu", steps=14, lr=1e-3)


@pytest.mark.parametrize("params, message", [
    ({"dataset": "no_such_dataset"}, ("unknown dataset 'no_such_dataset': use one of ", "sprites, sprites64, toycars",
                                      "or a path to a folder of images")),
    ({"image_size": 48}, "image_size 48 is not supported: use one of 32, 64, 128"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"batch_size": -1}, "batch_size must be a positive integer"),
    ({"device": "cuda:7"} if not __import__("torch").cuda.is_available() else {"device": "quantum"}, "device"),
    ({"preset": "faces"}, "unknown preset 'faces': use one of portrait"),
    ({"minibatch_discrimination": -2}, "minibatch_discrimination must be a non-negative integer"),
    ({"mbd_position": "top"}, "mbd_position 'top' is not one of 'end', 'middle'"),
    ({"time_budget": -5}, "time_budget must be a number of seconds"),
])
def test_bad_parameters_fail_early_and_clearly(smoke_env, tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_dcgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", **params)
    assert e.value.ename == "ValueError"
    for part in (message if isinstance(message, tuple) else (message,)): assert part in e.value.evalue
    assert not (tmp_path / "o").exists()  # failed before anything was written


def test_batch_larger_than_a_small_folder(smoke_env, image_folder, tmp_path):
    # nested/ holds 8 images; the smoke run's batch is 16
    with pytest.raises(pm.PapermillExecutionError, match="batch_size 16 is larger than the dataset .8 images."):
        run_nb(NBS / "train_dcgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o",
               dataset=str(image_folder / "nested"), steps=3)


def test_papermill_cli_as_the_card_writes_it(smoke_env, tmp_path):
    "`papermill nbs/train_dcgan.ipynb out.ipynb -p dataset sprites` from the repository root."
    env = dict(smoke_env, GAN_NOTES_SMOKE="1")
    papermill = Path(sys.executable).parent / "papermill"
    out_dir = tmp_path / "cli"
    r = subprocess.run([str(papermill), "nbs/train_dcgan.ipynb", str(tmp_path / "out.ipynb"), "-p", "dataset", "sprites",
                        "-p", "out_dir", str(out_dir), "-p", "device", "cpu"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out_dir / "metrics.json").read_text())["dataset"] == "sprites"


def test_readme_demo_command(smoke_env, tmp_path):
    "The README's first command, as written, shrunk by the smoke setting and pointed at a temporary folder."
    env = dict(smoke_env, GAN_NOTES_DEMO_OUT=str(tmp_path / "demo"))
    r = subprocess.run(["python3", "dev.py", "demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert m["dataset"] == "sprites" and m["image_size"] == 32 and m["device"] == "cpu" and m["n_modes"] == 96
    assert (tmp_path / "demo" / "train_dcgan.ipynb").is_file() and "modes_covered" in r.stdout


def test_real_dataset_missing_says_how_to_get_it(smoke_env, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_NOTES_DATA", str(tmp_path / "no-data-here"))
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_dcgan.ipynb", tmp_path / "cars.ipynb", tmp_path, out_dir="o", dataset="cars")
    assert e.value.ename == "DatasetNotFound" and "python -m gan_notes.download cars" in e.value.evalue
    assert "-p dataset cars -p download True" in e.value.evalue   # the way out without leaving papermill


def test_a_time_budget_ends_the_run_early_and_the_report_completes(smoke_env, tmp_path):
    run_nb(NBS / "train_dcgan.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", device="cpu", time_budget=0.01)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["stopped_by_time"] is True and 1 <= m["steps"] < 12 and m["train_time_s"] < 5
