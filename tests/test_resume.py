"Nothing lost: a training process killed at random steps resumes to the same weights; a full disk spares the last checkpoint."
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

CHILD = r'''
import sys, torch
from gan_notes.core import seed_everything
from gan_notes.sprites import make_sprites
from gan_notes.dcgan import Generator, Discriminator, BCELoss
from gan_notes.train import Trainer
out, steps = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
seed_everything(0)
t = Trainer(Generator(32, ngf=8), Discriminator(32, ndf=8), make_sprites(512, 32), BCELoss(), batch_size=16,
            device="cpu", out_dir=out, checkpoint_every=1, sample_every=10**6, log_every=1, ema=0.9, progress=False)
t.begin(resume=True)
t.fit(steps)
torch.save({"G": t.G.state_dict(), "D": t.D.state_dict(), "G_ema": t.G_ema.state_dict(),
            "d_loss": t.history["d_loss"]}, out + "/final.pt")
'''
STEPS = 40


def newest_step(out: Path) -> int:
    steps = [int(p.stem.split("-")[1]) for p in out.glob("checkpoint-*.pt")]
    return max(steps, default=0)


def start(script: Path, out: Path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, str(script), str(out), str(STEPS)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_at_three_random_steps_then_resume_is_bit_identical(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    p = start(script, straight)
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]
    targets = sorted(random.Random(uuid.uuid4().int).sample(range(3, STEPS - 3), 3))
    kills = []
    for target in targets:
        p = start(script, killed)
        deadline = time.monotonic() + 300
        while newest_step(killed) < target and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert p.poll() is None, "the run ended before it could be killed"
        p.send_signal(signal.SIGKILL)  # no handler runs: whatever was being written stays half-written
        p.wait(timeout=60)
        kills.append(newest_step(killed))
    p = start(script, killed)
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]
    a = torch.load(straight / "final.pt", weights_only=True)
    b = torch.load(killed / "final.pt", weights_only=True)
    for net in ("G", "D", "G_ema"):
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs after kills at steps {kills}"
    assert a["d_loss"] == b["d_loss"] and len(a["d_loss"]) == STEPS
    assert not list(killed.glob(".checkpoint-*.tmp"))  # half-written files of killed writers were cleared


@pytest.fixture
def small_disk(tmp_path):
    "A 4 MiB tmpfs mounted for the test (needs root, as CI has here)."
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)  # lazy: open files of a failed test must not block it


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(small_disk):
    from gan_notes.core import seed_everything
    from gan_notes.sprites import make_sprites
    from gan_notes.dcgan import BCELoss, Discriminator, Generator
    from gan_notes.checkpoint import latest_checkpoint
    from gan_notes.train import Trainer
    out = small_disk / "run"
    seed_everything(0)
    t = Trainer(Generator(32, ngf=8), Discriminator(32, ndf=8), make_sprites(64, 32), BCELoss(), batch_size=16,
                device="cpu", out_dir=out, checkpoint_every=1000, sample_every=1000, progress=False)
    t.fit(2)  # writes checkpoint-0000002.pt at the end
    size = (out / "checkpoint-0000002.pt").stat().st_size
    free = shutil.disk_usage(small_disk).free
    assert free > size, "the test disk must hold one checkpoint"
    (small_disk / "filler").write_bytes(b"\0" * (free - size // 2))  # room for half a checkpoint
    with pytest.raises(OSError) as e:
        t.fit(3)  # the last step writes a checkpoint: the disk fills during that write
    assert e.value.errno == 28  # ENOSPC, not torch's vague RuntimeError
    assert "could not write checkpoint checkpoint-0000003.pt" in str(e.value)
    assert "checkpoint-0000002.pt, is intact" in str(e.value)
    path, state = latest_checkpoint(out)
    assert path.name == "checkpoint-0000002.pt" and state["step"] == 2
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".pt", ".tmp")) == ["checkpoint-0000002.pt"]
