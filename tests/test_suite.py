"The results suite (gan_notes.suite): a smoke run packed into at most 8 files, the limits, SIGTERM; the wheels for the GPU machine (gan_notes.wheels)."
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import papermill as pm
import pytest

from conftest import NBS, ROOT
from gan_notes import suite
from gan_notes.experiment import assigned_names
from gan_notes.wheels import wheel_names

EYES = ROOT.parent / "shared" / "data" / "eyes"   # tests only: never copied into the repository


def cli(*args, env, timeout=900):
    return subprocess.run([sys.executable, "-m", "gan_notes.suite", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def packed_names(out: Path) -> dict:
    return {f.name: tarfile.open(f).getnames() for f in sorted(out.glob("*.tar.gz"))}


def test_smoke_suite_packs_into_at_most_8_files(smoke_env, tmp_path):
    "`python -m gan_notes.suite --smoke`, two steps of it: a run per toycars viewpoint, and the eyes (skipped where absent)."
    eyes = EYES if suite.find_eyes(EYES) else tmp_path / "no-eyes"
    r = cli("--smoke", "--only", "train_wgan-toycars-front,train_simgan-eyes", "--eyes-root", eyes,
            "--work", tmp_path / "work", "--out", tmp_path / "out", env=dict(smoke_env, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    files = sorted((tmp_path / "out").iterdir())
    assert 2 <= len(files) <= 8 and all(f.stat().st_size <= 16 * 2 ** 20 for f in files)
    summary = json.loads((tmp_path / "out" / "suite-summary.json").read_text())
    assert summary["smoke"] is True and summary["device"] == "cpu" and summary["jobs"] == 1
    steps = {s["name"]: s for s in summary["steps"]}
    wgan = steps["train_wgan-toycars-front"]
    assert wgan["status"] == "ok" and wgan["params"]["category"] == "front" and "amp" not in wgan["params"]
    assert wgan["trainer"][0]["device"] == "cpu" and wgan["record"]["dataset"] == "toycars/front" and wgan["metrics"]["steps"] == 6
    names = packed_names(tmp_path / "out")
    assert {"results/train_wgan-toycars-front/record.json", "results/train_wgan-toycars-front/samples.png",
            "results/train_wgan-toycars-front/train_wgan-toycars-front.ipynb", "runs/train_wgan-toycars-front/run.json",
            "logs/train_wgan-toycars-front.log"} <= set(names["suite-wgan.tar.gz"])
    assert "results/gallery.ipynb" in names["suite-site.tar.gz"]
    everything = [n for ns in names.values() for n in ns]
    assert not [n for n in everything if n.endswith((".pt", ".lock")) or "/samples/" in n]
    eyes_step = steps["train_simgan-eyes"]
    if eyes == EYES:   # licence: its report and numbers travel, none of its images
        assert eyes_step["status"] == "ok", eyes_step
        assert "results/train_simgan-eyes/train_simgan-eyes.ipynb" in names["suite-simgan.tar.gz"]
        assert not [n for n in names["suite-simgan.tar.gz"] if n.endswith((".png", ".jpg"))]
        assert not list((tmp_path / "work" / "results" / "train_simgan-eyes").glob("*.png"))
    else:
        assert eyes_step["status"] == "skipped" and "eyes dataset is not on this machine" in eyes_step["error"]


def test_sigterm_stops_the_steps_and_packs(smoke_env, tmp_path):
    "What `timeout` around the GPU command sends: the running step is stopped, and what there is gets packed."
    p = subprocess.Popen([sys.executable, "-m", "gan_notes.suite", "--smoke", "--only", "dcgan", "--work", tmp_path / "w",
                          "--out", tmp_path / "out"], cwd=ROOT, env=dict(smoke_env, OMP_NUM_THREADS="1"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state = tmp_path / "w" / "suite-state.json"
    for _ in range(600):   # until the first step runs
        if state.is_file() and '"running"' in state.read_text(): break
        time.sleep(0.1)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    out = p.communicate(timeout=120)[0]
    assert p.returncode == 1, out
    steps = {s["name"]: s for s in json.loads((tmp_path / "out" / "suite-summary.json").read_text())["steps"]}
    assert steps["train_dcgan-sprites"]["status"] == "stopped", steps
    assert steps["train_dcgan-toycars"]["status"] == "skipped" and "told to stop" in steps["train_dcgan-toycars"]["error"]
    assert "logs/train_dcgan-sprites.log" in packed_names(tmp_path / "out")["suite-dcgan.tar.gz"]


def test_pack_keeps_the_limits(tmp_path):
    "Fewer files than groups merge groups; a file too large for its archive's share stays out and is listed."
    work = suite.claim_work(tmp_path / "w")
    rnd = lambda n: os.urandom(n)   # incompressible, like PNGs
    steps = [suite.Step("train_dcgan", "sprites", group="dcgan"), suite.Step("train_wgan", "toycars", tag="front", group="wgan"),
             suite.Step("compare_wgan", group="compare")]
    for s in steps:
        (work / "results" / s.name).mkdir(parents=True)
        (work / "results" / s.name / "record.json").write_text(json.dumps({"ok": True, "metrics": {"steps": 3}}))
        (work / "results" / s.name / "samples.png").write_bytes(rnd(300_000))
        (work / "runs" / s.name / "ckpt").mkdir(parents=True)
        (work / "runs" / s.name / "ckpt" / "last.pt").write_bytes(rnd(1000))
    run = work / "runs" / "compare_wgan" / "sprites-wgan-0"      # a comparison's single run
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"device": "cuda", "amp": None, "steps": 3}))
    (run / "samples.png").write_bytes(rnd(1000))
    (run / "samples" / "step_1.png").parent.mkdir()
    (run / "samples" / "step_1.png").write_bytes(rnd(1000))
    (work / "suite-state.json").write_text(json.dumps({"smoke": True, "device": "cpu", "steps": {
        s.name: {**s.__dict__, "status": "ok", "wall_s": 1.0} for s in steps}}))
    summary = suite.pack(work, tmp_path / "out", max_files=3, max_bytes=200_000, log=None)
    files = sorted(f.name for f in (tmp_path / "out").iterdir())
    assert files == ["suite-dcgan+wgan+compare.tar.gz", "suite-site.tar.gz", "suite-summary.json"]
    assert all(f.stat().st_size <= 200_000 for f in (tmp_path / "out").iterdir())
    names = packed_names(tmp_path / "out")["suite-dcgan+wgan+compare.tar.gz"]
    assert {"results/train_dcgan-sprites/record.json", "runs/compare_wgan/sprites-wgan-0/run.json",
            "runs/compare_wgan/sprites-wgan-0/samples.png"} <= set(names)
    assert not [n for n in names if n.endswith(".pt") or "/samples/" in n]
    assert sorted(l["file"] for l in summary["left_out"]) == [f"results/{s.name}/samples.png" for s in sorted(steps, key=lambda s: s.name)]
    compare = next(s for s in summary["steps"] if s["name"] == "compare_wgan")
    assert compare["trainer"] == [{**{k: None for k in suite.TRAINER_KEYS}, "device": "cuda", "amp": None, "steps": 3}]


@pytest.mark.parametrize("nb", sorted(p.name for g in ("train_*", "compare_*", "classify_*") for p in NBS.glob(g + ".ipynb")))
def test_papermill_sees_every_parameter(nb):
    "papermill's inspection (what `gan-notes run` checks -p against) reads every name the parameters cell assigns."
    cells = json.loads((NBS / nb).read_text())["cells"]
    src = "".join(next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))["source"])
    assert list(pm.inspect_notebook(str(NBS / nb))) == assigned_names(src)


def test_the_wheels_resolve_for_the_gpu_machine():
    "pip resolves the wheels the GPU machine lacks, for its Python (3.12), without installing or downloading them."
    names = {n.split("==")[0].lower().replace("_", "-") for n in wheel_names()}
    assert {"papermill", "nbclient", "nbformat", "ipykernel", "jupyter-client", "imagehash", "nbdev", "execnb",
            "fastcore", "pywavelets", "pyzmq", "tornado", "ipython"} <= names, names
    assert not names & {"numpy", "scipy", "torch", "pillow", "matplotlib"}   # there already: never carried
