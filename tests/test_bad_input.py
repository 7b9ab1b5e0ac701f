"""Bad input that used to get through, tried as a user would: a blank dataset name, a misspelt parameter (also by
plain papermill, the card's way of running), and two runs into the same out_dir."""
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest

from conftest import NBS, ROOT
from test_experiments import run_nb

EXPERIMENTS = sorted(p.name for g in ("train_*", "compare_*", "classify_*") for p in NBS.glob(g + ".ipynb"))


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_dataset_name_lists_the_choices(smoke_env, tmp_path, blank):
    "A blank name used to mean every image under the folder papermill was started in: refused, with the names there are."
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_dcgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", dataset=blank, device="cpu")
    assert e.value.ename == "ValueError", e.value.evalue
    assert f"dataset {blank!r} is blank: use one of " in e.value.evalue and "sprites, sprites64, toycars" in e.value.evalue
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("nb", EXPERIMENTS)
def test_every_experiment_refuses_an_undeclared_parameter(smoke_env, tmp_path, nb):
    "papermill only warns about a name the notebook lacks; the notebook itself stops, naming the closest one."
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / nb, tmp_path / "bad.ipynb", tmp_path, out_dir="o", devise="cpu")
    assert e.value.ename == "ValueError", e.value.evalue
    assert "this notebook has no parameter 'devise': did you mean 'device'?" in e.value.evalue, e.value.evalue
    assert not (tmp_path / "o").exists()


def test_plain_papermill_cli_refuses_a_misspelt_parameter(smoke_env, tmp_path):
    "`papermill nbs/train_dcgan.ipynb out.ipynb -p stepz 10`, from the repository's root."
    papermill = Path(sys.executable).parent / "papermill"
    r = subprocess.run([str(papermill), "nbs/train_dcgan.ipynb", str(tmp_path / "out.ipynb"), "-p", "stepz", "10",
                        "-p", "out_dir", str(tmp_path / "o")], cwd=ROOT, env=dict(smoke_env), capture_output=True, text=True)
    assert r.returncode != 0 and "this notebook has no parameter 'stepz': did you mean 'steps'?" in r.stderr, r.stderr[-3000:]
    assert not (tmp_path / "o").exists()


def test_a_comparison_checks_its_parameters(smoke_env, tmp_path):
    "compare_wgan declares `datasets` as text and splits it itself: the name passes, the bad steps do not."
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "compare_wgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", datasets="sprites", steps=0)
    assert "steps must be a positive integer" in e.value.evalue, e.value.evalue


def hold(folder: Path) -> subprocess.Popen:
    "Another run, in its own process, that has passed its checks and holds `folder` (until it is stopped)."
    code = ("import sys, time; from gan_notes.experiment import Folder, check_params\n"
            f"check_params(dict(__annotations__={{'out_dir': Folder}}, out_dir={str(folder)!r})); print('held', flush=True); time.sleep(600)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_run_into_the_same_out_dir_stops_at_once(smoke_env, tmp_path):
    out = tmp_path / "o"
    first = hold(out)
    try:
        with pytest.raises(pm.PapermillExecutionError) as e:
            run_nb(NBS / "train_dcgan.ipynb", tmp_path / "second.ipynb", tmp_path, out_dir="o", device="cpu")
        assert e.value.ename == "OutDirInUse", e.value.evalue
        assert f"out_dir {out.resolve()} is in use by another run: pid {first.pid} on {socket.gethostname()}, started " \
               in e.value.evalue, e.value.evalue
        assert sorted(p.name for p in out.iterdir()) == [".lock"]          # the second run wrote nothing
    finally:
        first.kill(); first.wait()                                          # killed: no chance to tidy up
    assert json.loads((out / ".lock").read_text())["pid"] == first.pid     # its lock file is left behind...
    run_nb(NBS / "train_dcgan.ipynb", tmp_path / "third.ipynb", tmp_path, out_dir="o", device="cpu")
    assert json.loads((out / "metrics.json").read_text())["steps"] == 12   # ... and the next run takes it over
    assert not (out / ".lock").exists()                                     # and removes it when it ends


def test_only_rank_0_of_a_torchrun_holds_the_folder(tmp_path):
    "The ranks of one run share its out_dir: the others pass (RANK as torchrun sets it)."
    out = tmp_path / "o"
    first = hold(out)
    try:
        code = f"from gan_notes.experiment import Folder, check_params; check_params(dict(__annotations__={{'out_dir': Folder}}, out_dir={str(out)!r}))"
        ok = subprocess.run([sys.executable, "-c", code], env={**os.environ, "RANK": "1"}, capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr[-2000:]
        no = subprocess.run([sys.executable, "-c", code], env={**os.environ, "RANK": "0"}, capture_output=True, text=True)
        assert "OutDirInUse" in no.stderr, no.stderr[-2000:]
    finally:
        first.send_signal(signal.SIGTERM); first.wait()
