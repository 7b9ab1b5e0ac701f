"SimGAN pieces: refiner and patch critic shapes, the local loss on known logits, self-regularisation, the history buffer (fills, is drawn from, replaces, survives checkpoints), pre-fitting, and the pieces in Trainer."
import io
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gan_notes.core import seed_everything, to_float, to_uint8
from gan_notes.data import ImageSet
from gan_notes.catalogue import load_dataset
from gan_notes.toyeyes import make_toyeyes
from gan_notes.checkpoint import load_checkpoint
from gan_notes.train import Trainer
from gan_notes.simgan import (HistoryBuffer, LocalAdversarialLoss, PatchDiscriminator, Refiner, RefinerAugment,
                              SelfRegularisation, SyntheticSource, nearest, prefit_refiner, refinement_stats,
                              simgan_settings)

ROOT = Path(__file__).resolve().parents[1]
EYES = next((p for p in [ROOT.parent / "shared" / "data" / "eyes", Path("/work/shared/data/eyes")]
             if (p / "real").is_dir() and (p / "synthetic").is_dir()), None)


@pytest.fixture(scope="module")
def eyes16():
    "64 toy eyes at 16 px: rendered (seed 0) and webcam-style other eyes (seed 1)."
    return make_toyeyes(64, 16, seed=0), make_toyeyes(64, 16, seed=1, style="real")


def level_batch(level: int, n: int = 4) -> torch.Tensor:
    "n constant 1 x 2 x 2 images whose 8-bit grey level is `level`."
    return torch.full((n, 1, 2, 2), level / 127.5 - 1)


def levels(x: torch.Tensor) -> list[int]:
    return to_uint8(x)[:, 0, 0, 0].tolist()


# networks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (1, 3, 35, 55), (3, 1, 32, 32), (1, 3, 17, 16)])
def test_refiner_keeps_size(shape):
    out = Refiner(nc=shape[1], features=8, blocks=3)(torch.rand(shape) * 2 - 1)
    assert out.shape == shape and out.abs().max() < 1


def test_refiner_is_local():
    "No striding or pooling: a pixel changed far away leaves an output pixel unchanged (receptive field 3 + 4 * blocks)."
    torch.manual_seed(0)
    R = Refiner(features=8, blocks=2)                                  # receptive field 11: 5 pixels either side
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    y = x.clone(); y[..., 16, 22] = -x[..., 16, 22]
    with torch.no_grad(): a, b = R(x), R(y)
    changed = (a != b).any(1)[0]                                       # 32 x 32
    cols = changed.any(0).nonzero().flatten()
    assert changed[16, 22] and cols.min() >= 22 - 5 and cols.max() <= 22 + 5


def test_refiner_refuses_wrong_channels():
    with pytest.raises(ValueError, match="N x 3 x H x W"): Refiner()(torch.zeros(2, 1, 8, 8))


@pytest.mark.parametrize("size,width,out", [((64, 64), 1.0, (16, 16)), ((35, 55), 0.25, (9, 14)), ((32, 32), 0.5, (8, 8))])
def test_patch_critic_map(size, width, out):
    assert PatchDiscriminator(width=width)(torch.zeros(2, 3, *size)).shape == (2, 1, *out)


def test_patch_receptive_field_is_23():
    torch.manual_seed(0)
    x = torch.randn(16, 3, 64, 64, requires_grad=True)
    PatchDiscriminator()(x)[:, 0, 8, 8].sum().backward()
    seen = x.grad.abs().sum((0, 1)) > 0
    rows = seen.any(1).nonzero().flatten()
    assert (rows.min().item(), rows.max().item()) == (21, 43) and seen.sum().item() == 23 * 23


# losses ----------------------------------------------------------------------------------------
def test_local_loss_known_values():
    loss = LocalAdversarialLoss()
    zero = torch.zeros(4, 1, 5, 5)
    assert loss.d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert loss.g_loss(zero).item() == pytest.approx(math.log(2))
    real, fake = torch.full((2, 1, 3, 3), 3.0), torch.full((2, 1, 3, 3), -3.0)
    assert loss.d_loss(real, fake).item() == pytest.approx(2 * math.log1p(math.exp(-3)))
    assert loss.g_loss(fake).item() == pytest.approx(math.log1p(math.exp(3)))


def test_local_loss_mean_and_sum():
    "One patch wrong by 20 in 2 images of 3 x 3 patches: 20/18 with the mean, 20/2 with the per-image sum."
    sure = torch.full((2, 1, 3, 3), 30.0)
    one_wrong = torch.full((2, 1, 3, 3), -30.0); one_wrong[0, 0, 1, 1] = 20.0
    assert LocalAdversarialLoss().d_loss(sure, one_wrong).item() == pytest.approx(20 / 18, abs=1e-4)
    assert LocalAdversarialLoss("sum").d_loss(sure, one_wrong).item() == pytest.approx(20 / 2, abs=1e-4)
    logits = torch.zeros(2, 1, 4, 4, requires_grad=True)
    LocalAdversarialLoss().g_loss(logits).backward()
    assert torch.allclose(logits.grad, torch.full_like(logits, -0.5 / 32))


def test_local_loss_is_the_two_way_softmax():
    a, b = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    two_way = F.cross_entropy(torch.cat([a, b], 1), torch.zeros(3, 4, 4, dtype=torch.long))   # class 0: real
    assert LocalAdversarialLoss().g_loss(a - b).item() == pytest.approx(two_way.item(), rel=1e-6)


def test_local_loss_refuses_image_logits():
    with pytest.raises(ValueError, match="N x 1 x h x w"): LocalAdversarialLoss().d_loss(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="reduction"): LocalAdversarialLoss("max")


def test_self_regularisation_features():
    x0 = torch.zeros(2, 3, 8, 8)
    assert SelfRegularisation(2.0)(x0, x0 + 0.5).item() == pytest.approx(1.0)
    cast = x0 + torch.tensor([0.3, 0.0, -0.3]).view(1, 3, 1, 1)
    assert SelfRegularisation(1.0, "mean")(x0, cast).item() == pytest.approx(0.0, abs=1e-7)
    assert SelfRegularisation(1.0)(x0, cast).item() == pytest.approx(0.2)
    checker = ((torch.arange(8).view(8, 1) + torch.arange(8)) % 2) * 0.2 - 0.1
    assert SelfRegularisation(1.0, "pool", pool=2)(x0, x0 + checker).item() == pytest.approx(0.0, abs=1e-7)
    assert SelfRegularisation(1.0)(x0, x0 + checker).item() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="identity, mean, pool"): SelfRegularisation(feature="sobel")
    with pytest.raises(ValueError, match="differ in shape"): SelfRegularisation()(x0, x0[:, :1])


# the history buffer ----------------------------------------------------------------------------
def test_buffer_fills_then_serves_half():
    torch.manual_seed(0)
    buf = HistoryBuffer(capacity=6)
    assert levels(buf(level_batch(10))) == [10] * 4 and len(buf) == 2          # empty: all fresh, 2 stored
    assert levels(buf(level_batch(20))) == [20, 20, 10, 10] and len(buf) == 4  # 2 fresh + 2 old
    buf(level_batch(30))
    assert len(buf) == 6 and sorted(levels(buf.images)) == [10, 10, 20, 20, 30, 30]
    out = levels(buf(level_batch(40)))
    assert out[:2] == [40, 40] and set(out[2:]) <= {10, 20, 30}            # old ones: drawn before the new go in
    assert len(buf) == 6 and buf.served == 6 and buf.added == 8


def test_buffer_replaces_random_entries():
    torch.manual_seed(1)
    buf = HistoryBuffer(capacity=6)
    for v in (10, 20, 30): buf(level_batch(v))
    places = []
    for _ in range(20):
        before = buf.images.clone()
        buf(level_batch(50))
        changed = (buf.images != before).flatten(1).any(1)
        places.append(changed)
        assert changed.sum() <= 2 and len(buf) == 6
    assert levels(buf.images) == [50] * 6                              # every first entry replaced
    first = buf.images.clone(); buf(level_batch(60))
    assert (buf.images != first).flatten(1).any(1).sum() == 2           # exactly 2 of the 50s become 60s


def test_buffer_samples_uniformly():
    torch.manual_seed(2)
    buf = HistoryBuffer(capacity=6)
    buf.push(torch.cat([level_batch(v, 1) for v in range(60, 120, 10)]))
    draws = torch.tensor([levels(buf.sample(2)) for _ in range(3000)])
    assert all(len(set(row.tolist())) == 2 for row in draws[:100])      # distinct within a draw
    freq = torch.bincount(draws.flatten(), minlength=120)[60::10].float() / draws.numel()
    assert torch.allclose(freq, torch.full((6,), 1 / 6), atol=0.02)


def test_buffer_state_round_trip():
    torch.manual_seed(3)
    empty = HistoryBuffer(capacity=6)
    blob = io.BytesIO(); torch.save(empty.state_dict(), blob); blob.seek(0)
    HistoryBuffer(capacity=6).load_state_dict(torch.load(blob, weights_only=True))   # before any image: no tensor at all
    buf = HistoryBuffer(capacity=6)
    for v in (10, 20, 30, 40, 50): buf(level_batch(v))
    snapshot = buf.state_dict()
    blob = io.BytesIO(); torch.save(snapshot, blob); blob.seek(0)
    state = torch.load(blob, weights_only=True)
    copy = HistoryBuffer(capacity=6); copy.load_state_dict(state)
    assert torch.equal(copy.images, buf.images) and (copy.added, copy.served) == (buf.added, buf.served)
    torch.manual_seed(9); a = buf(level_batch(70))
    torch.manual_seed(9); b = copy(level_batch(70))
    assert torch.equal(a, b) and torch.equal(copy.images, buf.images)
    assert torch.equal(snapshot["images"], state["images"]) and not torch.equal(snapshot["images"], buf.images)  # a copy
    with pytest.raises(ValueError, match="saved settings"): HistoryBuffer(capacity=8).load_state_dict(state)


def test_buffer_bad_input():
    with pytest.raises(ValueError, match="capacity"): HistoryBuffer(0)
    with pytest.raises(ValueError, match="fraction"): HistoryBuffer(4, fraction=1.5)
    buf = HistoryBuffer(4); buf(level_batch(10))
    with pytest.raises(ValueError, match="holds images of shape"): buf(torch.zeros(4, 3, 2, 2))
    none = HistoryBuffer(4, fraction=0); b = level_batch(1)
    assert none(b) is b and len(none) == 0


# source, augmentation, pre-fitting -------------------------------------------------------------
def test_source_draws_from_the_set(eyes16):
    syn, _ = eyes16
    src = SyntheticSource(syn)
    a, b = src(8, "cpu", torch.Generator().manual_seed(1)), src(8, "cpu", torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.dtype == torch.float32 and a.min() >= -1 and a.max() <= 1
    assert torch.equal(to_uint8(a), syn.images[nearest(a, syn.images)])
    with pytest.raises(ValueError, match="empty"): SyntheticSource(ImageSet(syn.images[:0]))


def test_augment_per_image_flip_and_gradient(eyes16):
    x = to_float(eyes16[0].images[:4])
    torch.manual_seed(0)
    out = RefinerAugment()(x[:1].repeat(8, 1, 1, 1))
    assert out.shape == (8, 3, 16, 16) and len({o.flatten().tolist().__str__() for o in out}) > 4
    assert torch.allclose(RefinerAugment(shear=0, translate=0, flip=1.0)(x), x.flip(-1), atol=1e-5)
    assert torch.allclose(RefinerAugment(shear=0, translate=0, flip=0.0)(x), x, atol=1e-5)
    xg = x.clone().requires_grad_()
    RefinerAugment()(xg).square().sum().backward()
    assert xg.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="float batch"): RefinerAugment()(eyes16[0].images[:2])


def test_prefit_lowers_l1(eyes16):
    seed_everything(1)
    R, src = Refiner(features=8, blocks=1), SyntheticSource(eyes16[0])
    probe = src(32, "cpu", torch.Generator().manual_seed(3))
    l1 = lambda: SelfRegularisation().l1(probe, R(probe).detach()).item()
    start = l1()
    losses = prefit_refiner(R, src, steps=40, batch_size=16)
    assert len(losses) == 40 and l1() < start / 2 and losses[-1] < losses[0] / 2
    assert prefit_refiner(R, src, steps=0) == []


def test_refinement_stats_identity(eyes16):
    syn, real = eyes16
    st = refinement_stats(syn.images, syn.images, real.images, truth=syn.images)
    assert st["l1_input"] == 0 and st["pupil_shift"] == 0 and st["l1_truth"] == 0 and st["colour_gap"] > 0


# in the training loop --------------------------------------------------------------------------
def tiny_trainer(eyes16, out_dir=None, augment=False, **kw):
    syn, real = eyes16
    seed_everything(3)
    return Trainer(Refiner(features=4, blocks=1), PatchDiscriminator(width=0.25), real, LocalAdversarialLoss(),
                   batch_size=8, device="cpu", seed=3, progress=False, out_dir=out_dir, n_samples=8,
                   **simgan_settings(syn, capacity=12, augment=augment), **kw)


def test_trainer_critic_sees_half_history(eyes16):
    t = tiny_trainer(eyes16)
    t.fit(4)
    assert len(t.fake_pool) == 12 and t.history["self_reg"][0] > 0
    inputs = []
    hook = t.D.register_forward_pre_hook(lambda m, inp: inputs.append(inp[0].detach().clone()))
    t.train_step(); hook.remove()
    _, fake_d, fake_g = inputs
    assert torch.equal(fake_d[:4], fake_g[:4])                          # this step's refinements
    assert torch.equal(fake_d[4:], to_float(to_uint8(fake_d[4:])))      # history: 8-bit images
    rec = t.record()
    assert rec["fake_pool"] == "history" and rec["loss"] == "local_bce"


def test_trainer_resume_restores_buffer(eyes16, tmp_path):
    straight = tiny_trainer(eyes16, tmp_path / "a", augment=True, checkpoint_every=3); straight.fit(6)
    first = tiny_trainer(eyes16, tmp_path / "b", augment=True, checkpoint_every=3); first.fit(3)
    saved = load_checkpoint(tmp_path / "b" / "checkpoint-0000003.pt")["pieces"]["fake_pool"]
    assert saved["images"].shape == (12, 3, 16, 16) and saved["images"].dtype == torch.uint8
    resumed = tiny_trainer(eyes16, tmp_path / "b", augment=True, checkpoint_every=3)
    assert len(resumed.fake_pool) == 0 and resumed.begin()
    assert torch.equal(resumed.fake_pool.images, first.fake_pool.images)
    resumed.fit(6)
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()): assert torch.equal(a, b)
    assert torch.equal(straight.fake_pool.images, resumed.fake_pool.images) and straight.history == resumed.history


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
