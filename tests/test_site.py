"The results site: the runner on two datasets (one missing), the sidebar, the workflows, the console script."
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import NBS, ROOT


def test_runner_two_datasets_one_missing(smoke_env, tmp_path, monkeypatch):
    "`gan-notes run` on sprites and on cars (not on this machine): sprites is published with its record, cars listed as failed."
    from gan_notes.runner import main
    monkeypatch.chdir(ROOT)   # notebooks are found by name in nbs/, as a user in the repository's root finds them
    monkeypatch.setenv("GAN_NOTES_DATA", str(tmp_path / "no-data"))   # cars is surely missing
    results, runs = tmp_path / "results", tmp_path / "runs"
    rc = main(["run", "train_dcgan", "--dataset", "sprites", "--dataset", "cars", "--device", "cpu",
               "-p", "steps", "4", "--results", str(results), "--runs", str(runs)])
    assert rc == 1                                                    # a run failed: the command says so
    ok, bad = (json.loads((results / n / "record.json").read_text()) for n in ("train_dcgan-sprites", "train_dcgan-cars"))
    assert ok["ok"] and ok["dataset"] == "sprites" and len(ok["dataset_sha256"]) == 64 and ok["device"] == "cpu"
    assert ok["params"]["steps"] == 4 and "torch" in ok["versions"] and ok["wall_s"] > 0
    assert not bad["ok"] and "cars" in bad["error"]
    report = nbformat.read(str(results / "train_dcgan-sprites" / "train_dcgan-sprites.ipynb"), as_version=4)
    assert report.cells[0].source.startswith("**Run record: `train_dcgan-sprites`**")
    assert (results / "train_dcgan-sprites" / "samples.png").is_file()
    assert not list(results.rglob("*.pt"))                             # checkpoints stay in the runs folder
    assert (runs / "train_dcgan-cars" / "train_dcgan.ipynb").is_file()  # the failed run's partial notebook
    gallery = "\n".join(c.source for c in nbformat.read(str(results / "gallery.ipynb"), as_version=4).cells)
    assert "[train_dcgan-sprites](train_dcgan-sprites/train_dcgan-sprites.ipynb)" in gallery
    assert "train_dcgan-cars | **failed**" in gallery


def test_sidebar_is_current():
    from gan_notes.site import sidebar
    assert (NBS / "sidebar.yml").read_text() == sidebar(NBS), "run: gan-notes check-site --sidebar (or gan_notes.site.write_sidebar)"


def test_workflows():
    test = (ROOT / ".github" / "workflows" / "test.yaml").read_text()
    deploy = (ROOT / ".github" / "workflows" / "deploy.yaml").read_text()
    assert "bash .ci/run" in test
    for step in ["quarto-dev/quarto-actions/setup", "gan-notes check-site --write-outputs", "nbdev_docs",
                 "actions/deploy-pages", "path: _docs"]:
        assert step in deploy, step
    assert "gan-notes check-site" in (ROOT / ".ci" / "run").read_text()


def test_console_script():
    exe = shutil.which("gan-notes", path=str(Path(sys.executable).parent))
    assert exe, "gan-notes is not installed beside this Python: pip install -e ."
    r = subprocess.run([exe, "run", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--dataset" in r.stdout


def test_record_a_comparison_made_by_hand(smoke_env, tmp_path, monkeypatch):
    "papermill runs compare_wgan.ipynb by hand (smoke mode), then `gan-notes record` publishes it with its record and a card."
    import papermill as pm
    from gan_notes.runner import main
    monkeypatch.chdir(ROOT)
    out, report, results = tmp_path / "cw", tmp_path / "cw.ipynb", tmp_path / "results"
    pm.execute_notebook(str(NBS / "compare_wgan.ipynb"), str(report), progress_bar=False,
                        parameters={"datasets": "sprites", "variants": "wgan", "seeds": "0", "device": "cpu", "out_dir": str(out)})
    assert main(["record", str(report), "--name", "compare_wgan-smoke", "--results", str(results)]) == 0
    rec = json.loads((results / "compare_wgan-smoke" / "record.json").read_text())
    assert rec["ok"] and rec["runs"] == 1 and rec["dataset"] == "sprites" and len(rec["dataset_sha256"]) == 64
    assert rec["params"]["variants"] == "wgan" and rec["wall_s"] > 0 and rec["recorded_by"] == "record"
    assert sorted(p.name for p in (results / "compare_wgan-smoke").iterdir()) == [
        ".notest", "compare_wgan-smoke.ipynb", "figure.png", "record.json", "summary.json"]   # no single run's samples stand for the comparison
    head = nbformat.read(str(results / "compare_wgan-smoke" / "compare_wgan-smoke.ipynb"), as_version=4).cells[0].source
    assert head.startswith("**Run record: `compare_wgan-smoke`** (written by `gan-notes record`)")
    assert "![](compare_wgan-smoke/figure.png)" in (results / "gallery.ipynb").read_text()
    with pytest.raises(ValueError, match="no parameters injected by papermill"):   # a notebook papermill never ran
        main(["record", str(NBS / "compare_wgan.ipynb"), "--results", str(results)])
