"DiffAugment: shapes on every device, gradients, the distributions of the random parameters, and the training loop."
import pytest
import torch

from gan_notes.augment import (POLICIES, CriticLogits, DiffAugment, brightness, contrast, cutout, parse_policy,
                               saturation, translation)
from gan_notes.core import seed_everything
from gan_notes.sprites import make_sprites
from gan_notes.dcgan import BCELoss, Discriminator, Generator
from gan_notes.train import Trainer

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
OPS = [brightness, saturation, contrast, translation, cutout]
ALL_POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]


def numbered(n: int, H: int, W: int, **kw) -> torch.Tensor:
    "n x 1 x H x W images whose pixel (i, j) holds i W + j + 1."
    return torch.arange(1.0, H * W + 1, **kw).view(1, 1, H, W).repeat(n, 1, 1, 1)


def measured_shifts(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    "The (down, right) shift of each translated `numbered` image, read from its first pixel still in the image."
    W = out.shape[-1]
    flat = out[:, 0].flatten(1)
    first = (flat > 0).float().argmax(1)
    src = flat.gather(1, first[:, None])[:, 0].long() - 1
    return first // W - src // W, first % W - src % W


def hole_extent(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    "Rows, columns and pixel count of the zeroed part of each image of ones after cutout."
    holes = (out == 0).all(1)
    return holes.any(2).sum(1), holes.any(1).sum(1), holes.sum((1, 2))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("policy", ALL_POLICIES)
@pytest.mark.parametrize("shape", [(5, 3, 32, 32), (2, 1, 20, 28), (1, 3, 64, 64)])
def test_shape_dtype_device_kept(device, policy, shape):
    # seeded: one 64 px image is left unshifted with probability 1/81, which once failed CI
    torch.manual_seed(0)
    x = torch.rand(shape, device=device) * 2 - 1
    y = DiffAugment(policy)(x)
    assert y.shape == shape and y.dtype == x.dtype and y.device == x.device
    assert not torch.equal(y, x)


@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_same_output(device):
    aug, x = DiffAugment(), torch.rand(6, 3, 32, 32, device=device)
    torch.manual_seed(11); a = aug(x)
    torch.manual_seed(11); b = aug(x)
    torch.manual_seed(12); c = aug(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_gradients_exact(op):
    x = torch.rand(3, 3, 6, 10, dtype=torch.float64, requires_grad=True)

    def seeded(x):
        torch.manual_seed(5)
        return op(x)
    assert torch.autograd.gradcheck(seeded, (x,))


def test_translation_gradient_follows_pixels():
    x = numbered(64, 16, 16).requires_grad_()
    y = translation(x)
    (y * 2).sum().backward()
    ty, tx = measured_shifts(y.detach())
    assert set(x.grad.unique().tolist()) == {0.0, 2.0}
    assert torch.equal((x.grad[:, 0] == 2).sum((1, 2)), (16 - ty.abs()) * (16 - tx.abs()))


def test_cutout_gradient_zero_in_hole_only():
    x = (torch.rand(32, 3, 16, 16) + 0.5).requires_grad_()
    w = torch.rand_like(x)
    y = cutout(x)
    (y * w).sum().backward()
    hole = y.detach() == 0
    assert (x.grad[hole] == 0).all() and torch.equal(x.grad[~hole], w[~hole])


@pytest.mark.parametrize("H, W, sy, sx", [(16, 16, 2, 2), (32, 32, 4, 4), (64, 64, 8, 8), (20, 28, 3, 4)])
def test_translation_range(H, W, sy, sx):
    torch.manual_seed(0)
    ty, tx = measured_shifts(translation(numbered(3000, H, W)))
    assert sorted(set(ty.tolist())) == list(range(-sy, sy + 1))
    assert sorted(set(tx.tolist())) == list(range(-sx, sx + 1))
    counts = torch.bincount(tx + sx).float() / len(tx)
    assert (counts - 1 / (2 * sx + 1)).abs().max() < 0.03


@pytest.mark.parametrize("size", [16, 32, 64])
def test_cutout_square_is_half_the_image(size):
    torch.manual_seed(0)
    rows, cols, area = hole_extent(cutout(torch.ones(3000, 2, size, size)))
    half = size // 2
    assert torch.equal(area, rows * cols)  # one rectangle
    assert rows.max() == half and cols.max() == half
    assert rows.min() == half - half // 2 and cols.min() == half - half // 2
    whole = ((rows == half) & (cols == half)).float().mean().item()
    p_inside = (size - half + 1) / (size + 1)  # starts -half/2 .. size - half/2, of which 0 .. size - half keep it inside
    assert abs(whole - p_inside ** 2) < 0.03


def test_colour_factor_ranges():
    torch.manual_seed(0)
    n = 5000
    b = brightness(torch.full((n, 3, 2, 2), -1.0)) + 1
    assert (b == b[:, :1, :1, :1]).all()
    assert b.min() >= -0.5 and b.max() <= 0.5 and b.min() < -0.49 and b.max() > 0.49
    chroma = torch.tensor([0.2, -0.1, -0.1]).view(1, 3, 1, 1)  # channel mean 0
    s = saturation(chroma.repeat(n, 1, 3, 3))[:, 0, 0, 0] / 0.2
    assert 0 <= s.min() < 0.01 and 1.99 < s.max() <= 2
    ramp = torch.linspace(-1, 1, 4).view(1, 1, 1, 4)  # image mean 0
    k = contrast(ramp.repeat(n, 3, 4, 1))[:, 1, 2, 3]
    assert 0.5 <= k.min() < 0.51 and 1.49 < k.max() <= 1.5


def test_identity_and_probability():
    x = torch.rand(4, 3, 16, 16)
    state = torch.get_rng_state()
    assert DiffAugment("")(x) is x and DiffAugment(None)(x) is x and DiffAugment(p=0)(x) is x
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(0)
    left = (DiffAugment("translation,cutout", p=0.25)(torch.ones(4000, 1, 16, 16)) == 1).flatten(1).all(1)
    assert abs(left.float().mean().item() - 0.75 ** 2) < 0.03  # each of two transforms skipped with probability 0.75


def test_bad_input():
    assert parse_policy("CUTOUT , color") == ("cutout", "color")
    with pytest.raises(ValueError, match="unknown augmentation 'rotate', 'Flip'.*color, translation, cutout"):
        DiffAugment("rotate,color, Flip")
    with pytest.raises(ValueError, match="probability"):
        DiffAugment(p=-0.1)
    with pytest.raises(ValueError, match="to_float"):
        DiffAugment()(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="N x C x H x W"):
        DiffAugment()(torch.zeros(3, 8, 8))
    assert set(POLICIES) == {"color", "translation", "cutout"}


def trainer(augment, seed=2, out_dir=None, **kw):
    seed_everything(seed)
    return Trainer(Generator(32, ngf=8), Discriminator(32, ndf=8), make_sprites(128, 32), BCELoss(), batch_size=16,
                   device="cpu", augment=augment, seed=seed, out_dir=out_dir, progress=False, **kw)


def weights(t):
    return [*t.G.state_dict().values(), *t.D.state_dict().values()]


def test_identity_policy_leaves_the_loop_unchanged():
    runs = []
    for a in (None, DiffAugment(""), DiffAugment("color")):  # each built and trained in turn: z comes from the global RNG
        runs.append(trainer(a)); runs[-1].fit(4)
    assert all(torch.equal(u, v) for u, v in zip(weights(runs[0]), weights(runs[1])))
    assert not all(torch.equal(u, v) for u, v in zip(weights(runs[0]), weights(runs[2])))


def test_resume_exact_with_augmentation(tmp_path):
    straight = trainer(DiffAugment(), out_dir=tmp_path / "a", checkpoint_every=3)
    straight.fit(6)
    first = trainer(DiffAugment(), out_dir=tmp_path / "b", checkpoint_every=3)
    first.fit(3)
    again = trainer(DiffAugment(), seed=9, out_dir=tmp_path / "b", checkpoint_every=3)
    assert again.resume() and again.step == 3
    again.fit(6)
    assert all(torch.equal(u, v) for u, v in zip(weights(straight), weights(again)))


def test_critic_sees_holes_samples_do_not():
    t = trainer(DiffAugment("cutout"))
    inputs = []
    t.D.register_forward_pre_hook(lambda m, inp: inputs.append(inp[0].detach()))
    t.fit(2)
    assert len(inputs) == 2 * 3  # real, fake, fake again for G: all through the critic
    for x in inputs:
        rows, cols, _ = hole_extent(x)
        assert (rows >= 8).all() and (cols >= 8).all()
    s = t.sample()
    t.G.eval()
    with torch.no_grad(): assert torch.equal(s, t.G(t.fixed))
    assert not (s == 0).all(1).any()


def test_critic_logits_changes_nothing():
    t = trainer(DiffAugment(), evaluate=CriticLogits(make_sprites(40, 32).images, make_sprites(40, 32, seed=1).images),
                eval_every=2)
    t.fit(2)
    before = [b.clone() for b in t.D.buffers()]
    rng = torch.get_rng_state()
    m = t.evaluate(t)
    assert set(m) == {"d_train", "d_held_out", "d_fake"}
    assert all(torch.equal(a, b) for a, b in zip(before, t.D.buffers()))
    assert torch.equal(rng, torch.get_rng_state())
    assert [e["step"] for e in t.metrics] == [2]
