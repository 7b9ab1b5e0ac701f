"WGAN and WGAN-GP pieces: losses, clipping after every critic step, the gradient penalty's alpha, value, gradient, NaN safety, BatchNorm refusal."
import math
import pickle

import pytest
import torch
import torch.nn as nn

import gan_notes.wgan_gp as wgan_gp
from gan_notes.sprites import make_sprites
from gan_notes.dcgan import Discriminator, Generator
from gan_notes.train import Trainer
from gan_notes.wgan import (WassersteinLoss, WeightClip, estimate_wasserstein, points_dataset, wgan_settings,
                            with_w_estimate)
from gan_notes.wgan_gp import GradientPenalty, critic_grad_norms, wgan_gp_settings


class LinearCritic(nn.Module):
    "D(x) = <w, x> on flattened inputs."
    def __init__(self, w): super().__init__(); self.w = nn.Parameter(w)
    def forward(self, x): return x.flatten(1) @ self.w


class ConstantCritic(nn.Module):
    "Ignores its input."
    def __init__(self): super().__init__(); self.b = nn.Parameter(torch.tensor(0.7))
    def forward(self, x): return self.b.expand(len(x))


class MaxAbsRecorder:
    "Constraint: apply `inner` (if any), then record the critic's largest |parameter|."
    name = "recorder"
    def __init__(self, inner=None): self.inner, self.seen = inner, []
    def __call__(self, D):
        if self.inner: self.inner(D)
        self.seen.append(max(p.abs().max().item() for p in D.parameters()))


class AlphaRecorder(GradientPenalty):
    def __init__(self, *a, **kw): super().__init__(*a, **kw); self.alphas = []
    def sample_alpha(self, n, device="cpu"):
        a = super().sample_alpha(n, device); self.alphas.append(a.clone()); return a


@pytest.fixture
def batch_pair():
    g = torch.Generator().manual_seed(0)
    return torch.rand(8, 3, 8, 8, generator=g) * 2 - 1, torch.rand(8, 3, 8, 8, generator=g) * 2 - 1


def small_trainer(critic, steps_kw, batch_size=16, n_images=256):
    torch.manual_seed(0)
    return Trainer(Generator(32, ngf=8), critic, make_sprites(n_images, 32), WassersteinLoss(), batch_size=batch_size,
                   device="cpu", seed=0, progress=False, **steps_kw)


# WGAN ----------------------------------------------------------------------------------------
def test_wasserstein_loss_values():
    wl = WassersteinLoss()
    real, fake = torch.tensor([3.0, 1.0, 2.0]), torch.tensor([-1.0, 0.5, 0.0])
    assert wl.d_loss(real, fake).item() == pytest.approx((-0.5 / 3) - 2.0)
    assert wl.g_loss(fake).item() == pytest.approx(0.5 / 3)
    assert wl.name == "wasserstein"
    h = with_w_estimate({"step": [1, 2], "d_loss": [-1.5, 0.25], "g_loss": [0, 0]})
    assert h["w_estimate"] == [1.5, -0.25] and h["d_loss"] == [-1.5, 0.25]


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e6])
def test_critic_scores_have_no_sigmoid(scale):
    "The loss is linear in the scores: constant gradients and unbounded values, however large the scores."
    wl = WassersteinLoss()
    real = (scale * torch.randn(5)).requires_grad_()
    fake = (scale * torch.randn(5)).requires_grad_()
    loss = wl.d_loss(real, fake)
    loss.backward()
    assert torch.allclose(real.grad, torch.full((5,), -0.2)) and torch.allclose(fake.grad, torch.full((5,), 0.2))
    assert loss.item() == pytest.approx((fake.mean() - real.mean()).item(), rel=1e-6)
    # a DCGAN critic's raw outputs are scores, not probabilities
    out = Discriminator(32, ndf=8)(torch.randn(16, 3, 32, 32) * 3)
    assert (out < 0).any() and (out > 0).any()


def test_weight_clip_in_place_without_autograd():
    D = Discriminator(32, ndf=8, norm="none")
    ptrs = [p.data_ptr() for p in D.parameters()]
    assert max(p.abs().max().item() for p in D.parameters()) > 0.01
    WeightClip(0.01)(D)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
    assert [p.data_ptr() for p in D.parameters()] == ptrs
    assert all(p.requires_grad and p.grad is None and p.grad_fn is None for p in D.parameters())
    for bad in (0, -1.0, float("inf"), True, "0.01"):
        with pytest.raises(ValueError, match="positive number"): WeightClip(bad)


def test_clip_holds_after_every_critic_step():
    D = Discriminator(32, ndf=8)
    WeightClip(0.01)(D)
    rec = MaxAbsRecorder(WeightClip(0.01))
    t = small_trainer(D, {**wgan_settings(lr=1e-3), "constraints": [rec]})
    t.fit(4)
    assert len(rec.seen) == 4 * 5
    assert all(m <= 0.01 for m in rec.seen)
    # without the clip, from the same clipped start, the optimiser leaves the box at every critic step
    D2 = Discriminator(32, ndf=8)
    WeightClip(0.01)(D2)
    free = MaxAbsRecorder()
    small_trainer(D2, {**wgan_settings(lr=1e-3), "constraints": [free]}).fit(4)
    assert len(free.seen) == 20 and all(m > 0.01 for m in free.seen)


def test_wgan_settings_are_the_papers():
    s = wgan_settings()
    opt = s["opt_d"](nn.Linear(2, 1).parameters())
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 5e-5
    assert isinstance(s["opt_g"](nn.Linear(2, 1).parameters()), torch.optim.RMSprop)
    assert s["n_critic"] == 5 and isinstance(s["constraints"][0], WeightClip) and s["constraints"][0].c == 0.01


def test_points_dataset_and_estimate():
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0])
    ds = points_dataset(x)
    assert ds.images.shape == (4, 1, 1, 1) and ds.images.dtype == torch.uint8
    back = ds.images.float() / 127.5 - 1
    assert (back.flatten() - x).abs().max() <= 1 / 255 + 1e-6
    assert points_dataset(torch.zeros(5, 2)).images.shape == (5, 2, 1, 1)
    with pytest.raises(ValueError, match="N or N x d"): points_dataset(torch.zeros(2, 2, 2))
    crit = LinearCritic(torch.tensor([2.0]))
    assert estimate_wasserstein(crit, x.view(-1, 1, 1, 1) + 1, x.view(-1, 1, 1, 1)) == pytest.approx(2.0)


# WGAN-GP -------------------------------------------------------------------------------------
def test_alpha_per_sample_and_uniform():
    gp = AlphaRecorder()
    t = small_trainer(Discriminator(32, ndf=8, norm="layer"), {**wgan_gp_settings(), "penalties": [gp]}, batch_size=32)
    t.fit(3)
    assert len(gp.alphas) == 15 and all(a.shape == (32,) and len(a.unique()) == 32 for a in gp.alphas)
    torch.manual_seed(1)
    a = torch.cat(gp.alphas + [gp.sample_alpha(500) for _ in range(40)]).double().sort().values
    n = len(a)
    assert a.min() >= 0 and a.max() <= 1
    assert abs(a.mean().item() - 0.5) < 4 * math.sqrt(1 / 12 / n)
    assert abs(a.var().item() - 1 / 12) < 0.005
    ks = (a - torch.arange(n) / n).abs().max().item()
    assert ks < 1.63 / math.sqrt(n)                                    # Kolmogorov-Smirnov, 1% level


def test_interpolation_is_per_sample():
    seen = {}

    class Spy(nn.Module):
        def __init__(self): super().__init__(); self.w = nn.Parameter(torch.ones(()))
        def forward(self, x): seen["x"] = x.detach().clone(); return self.w * x.flatten(1).sum(1)

    gp = AlphaRecorder()
    gp(Spy(), torch.ones(10, 3, 4, 4), torch.zeros(10, 3, 4, 4))
    alpha = gp.alphas[0]
    assert torch.allclose(seen["x"], alpha.view(10, 1, 1, 1).expand(10, 3, 4, 4))
    r, f, a = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3), torch.tensor([0.0, 0.25, 0.5, 1.0])
    x_hat = GradientPenalty.interpolate(r, f, a)
    for i in range(4): assert torch.allclose(x_hat[i], a[i] * r[i] + (1 - a[i]) * f[i])


@pytest.mark.parametrize("norm_w, weight, expected", [(1.0, 10.0, 0.0), (2.0, 10.0, 10.0), (0.5, 4.0, 1.0)])
def test_penalty_of_a_linear_critic(batch_pair, norm_w, weight, expected):
    real, fake = batch_pair
    w = torch.randn(3 * 8 * 8)
    p = GradientPenalty(weight)(LinearCritic(norm_w * w / w.norm()), real, fake)
    assert p.item() == pytest.approx(expected, abs=1e-5)


def test_penalty_gradient_reaches_the_weights(batch_pair):
    real, fake = torch.rand(6, 3, 32, 32) * 2 - 1, torch.rand(6, 3, 32, 32) * 2 - 1
    torch.manual_seed(0)
    D = Discriminator(32, ndf=8, norm="layer")
    GradientPenalty()(D, real, fake).backward()
    weights = [p for n, p in D.named_parameters() if n.endswith("weight")]
    assert len(weights) == 6 and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)
    # the exact gradient, for a linear critic: d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w||
    r, f = batch_pair
    w = torch.randn(3 * 8 * 8)
    crit = LinearCritic(w.clone())
    GradientPenalty(10.0)(crit, r, f).backward()
    assert torch.allclose(crit.w.grad, 20 * (w.norm() - 1) * w / w.norm(), rtol=1e-4, atol=1e-5)
    # without create_graph the norms are constants: nothing would reach the weights
    assert not critic_grad_norms(D, real, create_graph=False).requires_grad


@pytest.mark.parametrize("critic", [lambda: LinearCritic(torch.zeros(3 * 8 * 8)), ConstantCritic],
                         ids=["zero weights", "constant output"])
def test_no_nan_when_the_gradient_is_zero(batch_pair, critic):
    real, fake = batch_pair
    D = critic()
    p = GradientPenalty()(D, real, fake)
    assert math.isfinite(p.item()) and p.item() == pytest.approx(10.0, abs=1e-4)
    loss = WassersteinLoss().d_loss(D(real), D(fake)) + p
    loss.backward()
    assert all(torch.isfinite(q.grad).all() for q in D.parameters())


@pytest.mark.parametrize("make", [lambda: Discriminator(32, ndf=8, norm="batch"),
                                  lambda: nn.Sequential(nn.Flatten(), nn.BatchNorm1d(3 * 32 * 32), nn.Linear(3 * 32 * 32, 1)),
                                  lambda: nn.Sequential(nn.SyncBatchNorm(3), nn.Flatten(), nn.Linear(3 * 32 * 32, 1))])
def test_batchnorm_critic_refused(make):
    x = torch.randn(4, 3, 32, 32)
    with pytest.raises(ValueError, match="BatchNorm.*norm='layer'"): GradientPenalty()(make(), x, x)


def test_batchnorm_refused_before_any_update():
    D = Discriminator(32, ndf=8, norm="batch")
    before = [p.clone() for p in D.parameters()]
    t = small_trainer(D, wgan_gp_settings())
    with pytest.raises(ValueError, match="BatchNorm at 'features.3'"): t.fit(2)
    assert t.step == 0 and all(torch.equal(p, q) for p, q in zip(D.parameters(), before))


@pytest.mark.parametrize("norm", ["layer", "instance", "none"])
def test_per_sample_critics_accepted(norm):
    x = torch.randn(4, 3, 32, 32)
    assert math.isfinite(GradientPenalty()(Discriminator(32, ndf=8, norm=norm), x, -x).item())


def test_modules_checked_once(monkeypatch, batch_pair):
    calls = []
    real_check = wgan_gp.check_no_batchnorm
    monkeypatch.setattr(wgan_gp, "check_no_batchnorm", lambda c: (calls.append(c), real_check(c)))
    gp, D = GradientPenalty(), LinearCritic(torch.randn(3 * 8 * 8))
    for _ in range(3): gp(D, *batch_pair)
    assert calls == [D]
    gp(LinearCritic(torch.randn(3 * 8 * 8)), *batch_pair)
    assert len(calls) == 2                                             # a new critic is checked


def test_bad_input(batch_pair):
    real, fake = batch_pair
    with pytest.raises(ValueError, match="differ in shape"): GradientPenalty()(LinearCritic(torch.randn(192)), real, fake[:3])
    for bad in (0, -1, float("nan"), True):
        with pytest.raises(ValueError, match="positive number"): GradientPenalty(bad)


def test_gp_in_the_trainer_and_settings(batch_pair):
    s = wgan_gp_settings()
    opt = s["opt_d"](nn.Linear(2, 1).parameters())
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 1e-4 and opt.defaults["betas"] == (0.0, 0.9)
    assert s["n_critic"] == 5 and s["penalties"][0].weight == 10.0 and s["penalties"][0].name == "gp"
    t = small_trainer(Discriminator(32, ndf=8, norm="layer"), wgan_gp_settings())
    rec = t.fit(2)
    assert len(t.history["gp"]) == 2 and all(math.isfinite(v) and v >= 0 for v in t.history["gp"])
    assert rec["penalties"] == ["gp"] and rec["loss"] == "wasserstein"
    gp = pickle.loads(pickle.dumps(GradientPenalty(3.0)))
    assert gp(LinearCritic(torch.zeros(192)), *batch_pair).item() == pytest.approx(3.0, abs=1e-4)
