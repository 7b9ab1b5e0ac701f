"WGAN-GP: the BatchNorm check runs once per critic (it patches the module's check_no_batchnorm, which a chapter cannot do cleanly); the chapters 09_wgan and 10_wgan_gp check the rest."
import pytest
import torch
import torch.nn as nn

import gan_notes.wgan_gp as wgan_gp
from gan_notes.wgan_gp import GradientPenalty


class LinearCritic(nn.Module):
    "D(x) = <w, x> on flattened inputs."
    def __init__(self, w): super().__init__(); self.w = nn.Parameter(w)
    def forward(self, x): return x.flatten(1) @ self.w


@pytest.fixture
def batch_pair():
    g = torch.Generator().manual_seed(0)
    return torch.rand(8, 3, 8, 8, generator=g) * 2 - 1, torch.rand(8, 3, 8, 8, generator=g) * 2 - 1


def test_modules_checked_once(monkeypatch, batch_pair):
    calls = []
    real_check = wgan_gp.check_no_batchnorm
    monkeypatch.setattr(wgan_gp, "check_no_batchnorm", lambda c: (calls.append(c), real_check(c)))
    gp, D = GradientPenalty(), LinearCritic(torch.randn(3 * 8 * 8))
    for _ in range(3): gp(D, *batch_pair)
    assert calls == [D]
    gp(LinearCritic(torch.randn(3 * 8 * 8)), *batch_pair)
    assert len(calls) == 2                                             # a new critic is checked
