"""Trains a small GAN in the process torchrun starts; test_distributed.py launches it with 1 and 2 processes.
Usage: dist_worker.py OUT_DIR STEPS VARIANT   (VARIANT: dcgan, with BatchNorm in both networks and plain SGD, so that
weights differ as gradients do; or gp: WGAN-GP + DiffAugment with Adam)"""
import sys

import torch

from gan_notes.augment import DiffAugment
from gan_notes.core import seed_everything
from gan_notes.sprites import make_sprites
from gan_notes.dcgan import BCELoss, Discriminator, Generator
from gan_notes.train import Trainer
from gan_notes.wgan import WassersteinLoss
from gan_notes.wgan_gp import wgan_gp_settings

out, steps, variant = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
seed_everything(0)
G = Generator(32, nz=16, ngf=8)
if variant == "dcgan":
    sgd = lambda ps: torch.optim.SGD(ps, lr=0.05)
    D, kw = Discriminator(32, ndf=8), dict(loss=BCELoss(), opt_g=sgd, opt_d=sgd)
else:
    D, kw = Discriminator(32, ndf=8, norm="layer"), dict(loss=WassersteinLoss(), augment=DiffAugment("color,translation"),
                                                          **wgan_gp_settings(lr=1e-4, n_critic=2))
tr = Trainer(G, D, make_sprites(64, 32, seed=1), batch_size=8, device="cpu", seed=0, out_dir=out, progress=False,
             log_every=1, sample_every=2, checkpoint_every=2, params={"variant": variant}, **kw)
tr.begin(resume=True)
tr.fit(steps)
