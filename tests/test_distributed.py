"""Training under torchrun: N CPU processes with gloo take the step one process takes with the whole batch;
rank 0 alone writes; resume under torchrun continues exactly; the launcher runs an experiment notebook."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_notes.checkpoint import load_checkpoint

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def torchrun(nproc: int, *args, timeout=600, env=None):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def weights(path: Path) -> dict:
    s = load_checkpoint(path)
    return {**{f"G.{k}": v for k, v in s["generator"].items()}, **{f"D.{k}": v for k, v in s["critic"].items()}}


def initial_weights() -> dict:
    "The weights dist_worker.py starts from."
    from gan_notes.core import seed_everything
    from gan_notes.dcgan import Discriminator, Generator
    seed_everything(0)
    G, D = Generator(32, nz=16, ngf=8), Discriminator(32, ndf=8)
    return {**{f"G.{k}": v for k, v in G.state_dict().items()}, **{f"D.{k}": v for k, v in D.state_dict().items()}}


def flat(w: dict, net: str) -> torch.Tensor:
    return torch.cat([v.reshape(-1).double() for k, v in w.items() if k.startswith(net) and v.is_floating_point()])


def test_two_processes_take_the_step_of_one(tmp_path):
    "DCGAN (BatchNorm in G and D), plain SGD: 2 processes x 4 images = 1 process x 8 images, to float rounding; rank 0 writes."
    for n in (1, 2): torchrun(n, HERE / "dist_worker.py", tmp_path / f"n{n}", 2, "dcgan")
    one, two = weights(tmp_path / "n1" / "checkpoint-0000002.pt"), weights(tmp_path / "n2" / "checkpoint-0000002.pt")
    start = initial_weights()
    # relative bounds (nbs/22_distributed.ipynb): float32 sums in another order differ by ~1e-6 of their size on any
    # processor; per-shard BatchNorm, the mistake this guards against, differs by more than 1e-1
    for net in ("G.", "D."):
        w0, w1, w2 = flat(start, net), flat(one, net), flat(two, net)
        assert (w1 - w0).norm() > 1e-2 * w0.norm()                                     # the steps moved the weights
        assert (w1 - w2).norm() < 1e-4 * (w1 - w0).norm(), (net, ((w1 - w2).norm() / (w1 - w0).norm()).item())
    rec = json.loads((tmp_path / "n2" / "run.json").read_text())
    assert rec["world_size"] == 2 and rec["steps"] == 2 and rec["batch_size"] == 8
    h1, h2 = load_checkpoint(tmp_path / "n1" / "checkpoint-0000002.pt")["history"], load_checkpoint(tmp_path / "n2" / "checkpoint-0000002.pt")["history"]
    assert h1["step"] == h2["step"] == [1, 2]
    for k in ("d_loss", "g_loss"):   # losses logged as the mean over processes
        assert max(abs(a - b) / abs(a) for a, b in zip(h1[k], h2[k])) < 1e-4, (k, h1[k], h2[k])
    assert sorted(p.name for p in (tmp_path / "n2").iterdir()) == sorted(p.name for p in (tmp_path / "n1").iterdir())


def test_resume_under_torchrun_is_exact(tmp_path):
    "WGAN-GP + DiffAugment (per-process randomness): 2 steps, then resumed to 4 = 4 steps straight, bit for bit."
    torchrun(2, HERE / "dist_worker.py", tmp_path / "straight", 4, "gp")
    torchrun(2, HERE / "dist_worker.py", tmp_path / "resumed", 2, "gp")
    torchrun(2, HERE / "dist_worker.py", tmp_path / "resumed", 4, "gp")
    a, b = weights(tmp_path / "straight" / "checkpoint-0000004.pt"), weights(tmp_path / "resumed" / "checkpoint-0000004.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    s = load_checkpoint(tmp_path / "resumed" / "checkpoint-0000004.pt")
    assert len(s["rng_ranks"]) == 2 and not torch.equal(s["rng_ranks"][0]["torch"], s["rng_ranks"][1]["torch"])


def test_launcher_runs_an_experiment_notebook(tmp_path, smoke_env):
    "torchrun -m gan_notes.distributed: rank 0's report and files in out_dir, rank 1's copy in out_dir/rank1."
    out = tmp_path / "run"
    torchrun(2, "-m", "gan_notes.distributed", "nbs/train_dcgan.ipynb", tmp_path / "report.ipynb",
             "-p", "out_dir", out, "-p", "resume", "False", env=dict(smoke_env))
    assert (tmp_path / "report.ipynb").is_file() and (out / "rank1" / "report.ipynb").is_file()
    rec = json.loads((out / "run.json").read_text())
    assert rec["world_size"] == 2
    assert (out / "samples.png").is_file() and not (out / "rank1" / "samples.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == rec["steps"]
