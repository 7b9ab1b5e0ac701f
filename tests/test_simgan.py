"SimGAN on the source project's eyes, where the test data is on the machine (skipped elsewhere, which a chapter cannot do); the chapter 15_simgan checks the pieces on toy eyes."
from pathlib import Path

import pytest

from gan_notes.core import seed_everything
from gan_notes.catalogue import load_dataset
from gan_notes.train import Trainer
from gan_notes.simgan import LocalAdversarialLoss, PatchDiscriminator, Refiner, prefit_refiner, simgan_settings

ROOT = Path(__file__).resolve().parents[1]
EYES = next((p for p in [ROOT.parent / "shared" / "data" / "eyes", Path("/work/shared/data/eyes")]
             if (p / "real").is_dir() and (p / "synthetic").is_dir()), None)


@pytest.mark.skipif(EYES is None, reason="the eyes test data (shared/data/eyes) is not on this machine")
def test_refines_the_source_projects_eyes(smoke_env):
    "118 rendered eyes toward 729 webcam crops at 32 px: a few steps run, sizes are kept, the buffer fills."
    syn = load_dataset("eyes", image_size=32, root=EYES, domain="synthetic", progress=False)
    real = load_dataset("eyes", image_size=32, root=EYES, domain="real", progress=False)
    assert (len(syn), len(real)) == (118, 729)
    seed_everything(0)
    R = Refiner(features=4, blocks=1)
    pieces = simgan_settings(syn, capacity=16)
    prefit_refiner(R, pieces["source"], steps=3, batch_size=8)
    t = Trainer(R, PatchDiscriminator(width=0.25), real, LocalAdversarialLoss(), batch_size=8, device="cpu",
                progress=False, n_samples=8, **pieces)
    t.fit(3)
    assert t.sample().shape == (8, 3, 32, 32) and len(t.fake_pool) == 12
