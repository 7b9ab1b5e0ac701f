"""Fixed-seed training gives the same weights, bit for bit, as the code did when these checksums were taken: the guard
for refactoring the training loop (a change that alters any weight fails here, showing both checksums).

Bits depend on the CPU as well as on the code: its vector unit, and its maker and model (MKL and oneDNN choose kernels
and block sizes by them: an AMD EPYC with AVX512, family 25 model 17, gives other bits than the AVX512 machine of the
first records, even with ATEN_CPU_CAPABILITY=default). Checksums recorded for the exact CPU are binding; otherwise those
recorded per torch version and capability on other CPUs are tried, and a machine where neither holds skips, printing
its checksums and CPU to record (a new CPU is not a change of the code)."""
import hashlib
import platform
from pathlib import Path

import pytest
import torch

from gan_notes.core import seed_everything
from gan_notes.sprites import make_sprites
from gan_notes.dcgan import Discriminator, Generator
from gan_notes.fast import recipe_trainer
from gan_notes.train import Trainer
from gan_notes.wgan import WassersteinLoss
from gan_notes.wgan_gp import wgan_gp_settings

# (torch version, CPU capability) -> {run: sha256 of the weights}, taken on 2026-12-04 (commit 7577fea, torch 2.14.1)
SUMS = {"dcgan_fast": "8428f4dedff72d1c83bdfd232d357ce674406f99cb8147d88e36e9aa276688cc",
        "wgan_gp": "8e72ad05c72e4b3db3f59621881692cf0e5c58ab2c0b6e4965e90baf847dcb70",   # AVX2 and AVX512 agree
        "dcgan_fast_cl": "8ebd2ebc9f5c922395e70d0a3cee03696186d4ab62f44a8032915417b6a12846",   # taken at commit 294819a
        "wgan_gp_cl": "ecb175fe0fdb8c49a373149bcdcf16c2083fa8a585506d2773ffe9cdd8b90232"}
# (torch version, CPU capability, CPU) -> checksums taken on that exact CPU: binding there
EXACT = {
    ("2.14.1", "AVX512", "AuthenticAMD family 25 model 17"): {   # taken at commit 19fc7e4 (same loop as 7577fea)
        "dcgan_fast": "bfa1862960bb7a7941876a5544743c711299fb4a85693092bfd8ead1481f3eeb",
        "wgan_gp": "ca375adbe576dd1713792bd78f470b7d8f6287870e879b90d435982c330a7d01",
        "dcgan_fast_cl": "966d1c0a3e02e020b45dae72adc272c6bb82b23d65ab8a675a0d7565de093bde",
        "wgan_gp_cl": "5acb268920ce7273ec206ffccce27469f296333252106db3436b2eedcbfec8f4"},
}
# (torch version, CPU capability) -> checksums taken on CPUs not identified at the time (an AMD EPYC with AVX2 among them)
RECORDED = {
    ("2.14.1", "AVX2"): SUMS, ("2.14.1", "AVX512"): SUMS,
    ("2.14.1", "DEFAULT"): {"dcgan_fast": "f7efd56e174a2cb4d29fc9bb9e16326a8ee1cd5e266e7d7f0e8057f3f644c328",
                            "wgan_gp": "3b3cb18d35e2de0120bb0d0686f6252e30e3027ded8eeddbdcb60b6de5523cb0",
                            "dcgan_fast_cl": "1454d6f8cbc5331147a7c8aa452befd1166e174bf5bca0e82dd78beed26bc0be",
                            "wgan_gp_cl": "acdc368fbdee3f69f13f8cf6f92a9ecfc31687cf6508be1aa18a26a9cf7792f6"},
}


def cpu_name() -> str:
    "The CPU's maker, family and model (Linux), else what platform says."
    try: info = dict(l.split(":", 1) for l in Path("/proc/cpuinfo").read_text().splitlines()[:10] if ":" in l)
    except OSError: return platform.processor() or platform.machine()
    info = {k.strip(): v.strip() for k, v in info.items()}
    return f"{info.get('vendor_id', '?')} family {info.get('cpu family', '?')} model {info.get('model', '?')}"


def weights_sha256(*modules) -> str:
    "sha256 over every parameter and buffer of the modules, in state_dict order, as raw bytes."
    h = hashlib.sha256()
    for m in modules:
        for k, v in m.state_dict().items():
            h.update(k.encode()); h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# the fast recipe's settings as they were, written out: a later change of the recipe is not a change of the loop
FAST = dict(ngf=8, ndf=8, batch_size=16, lr_g=4e-3, lr_d=4e-3, betas=(0.5, 0.999), loss="hinge", critic_norm="none",
            spectral_norm=True, r1_gamma=0.0, r1_every=4, minibatch_std=False, ema=0.995)


def dcgan_fast(channels_last: bool = False):
    "The fast DCGAN recipe (hinge, spectral norm, EMA), narrow, 30 steps on sprites."
    tr = recipe_trainer("fast", make_sprites(512, 32), seed=0, channels_last=channels_last, **FAST)
    tr.fit(30)
    return weights_sha256(tr.G, tr.D, tr.G_ema)


def wgan_gp(channels_last: bool = False):
    "WGAN-GP (Wasserstein loss, gradient penalty, 2 critic steps), narrow, 15 generator steps on sprites."
    seed_everything(0)
    tr = Trainer(Generator(32, ngf=8), Discriminator(32, ndf=8, norm="layer"), make_sprites(512, 32), WassersteinLoss(),
                 batch_size=16, **wgan_gp_settings(lr=1e-3, betas=(0.5, 0.9), n_critic=2), ema=0.99, device="cpu", seed=0,
                 progress=False, channels_last=channels_last)
    tr.fit(15)
    return weights_sha256(tr.G, tr.D, tr.G_ema)


# each run in both memory layouts: contiguous (the layout the first checksums were taken in) and channels-last
# (the default since 2026-12-04: about 10% faster steps on this CPU); the layouts round differently, so each has its own
RUNS = {"dcgan_fast": dcgan_fast, "wgan_gp": wgan_gp,
        "dcgan_fast_cl": lambda: dcgan_fast(True), "wgan_gp_cl": lambda: wgan_gp(True)}


@pytest.mark.parametrize("name", list(RUNS))
def test_fixed_seed_weights_unchanged(name):
    torch.set_num_threads(1)
    got = RUNS[name]()
    assert got == RUNS[name](), "two runs in one process differ: the run is not deterministic"
    key = (torch.__version__.split("+")[0], torch.backends.cpu.get_cpu_capability())
    exact = EXACT.get((*key, cpu_name()), {}).get(name)
    if exact is not None:
        assert got == exact, f"{name}: the weights after a fixed-seed run changed: {got} (recorded {exact} on this CPU)"
        return
    other = RECORDED.get(key, {}).get(name)
    if other != got:   # nothing binding for this CPU: the numbers to record for it
        pytest.skip(f"no checksum recorded for {(*key, cpu_name())}: {name} gives {got}"
                    + (f" (other {key[1]} CPUs: {other})" if other else ""))
