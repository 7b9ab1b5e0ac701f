"The toyeyes dataset: shapes, seeds, shared geometry across styles, gaze in the pixels, the webcam look."
from pathlib import Path

import pytest
import torch

from gan_notes.toyeyes import (BLOCK, STYLES, blockiness, blur, edge_strength, find_pupil, gaussian_kernels,
                               gaze_vector, iris_ellipse, jpeg, lid_curves, make_toyeyes, make_toyeyes_pair,
                               noise_floor, random_eyes)

ROOT = Path(__file__).resolve().parents[1]
EYES = next((p for p in [ROOT.parent / "shared" / "data" / "eyes", Path("/work/shared/data/eyes")]
             if (p / "real").is_dir()), None)


def corr(a, b): return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


@pytest.fixture(scope="module")
def pair():
    "1,024 eyes at 64 px in both styles (about a second)."
    return make_toyeyes_pair(1024, 64, seed=5)


def test_shapes_dtypes_and_meta(pair):
    clean, real = pair
    for ds, style in zip(pair, STYLES):
        assert ds.images.shape == (1024, 3, 64, 64) and ds.images.dtype == torch.uint8
        assert ds.labels is None and ds.name == f"toyeyes-{style}" and ds.meta["style"] == style
        assert ds.meta["gaze"].shape == (1024, 2) and ds.meta["gaze"].dtype == torch.float32
        assert ds.meta["iris"].shape == (1024, 2) and ds.images.float().std() > 20
    gaze = clean.meta["gaze"]
    assert gaze[:, 0].abs().max() <= 30 and gaze[:, 1].abs().max() <= 20
    assert gaze[:, 0].std() > 15 and gaze[:, 1].std() > 10          # spread over the range, not a constant
    assert torch.equal(clean.meta["gaze"], real.meta["gaze"])


@pytest.mark.parametrize("size", [16, 48, 128])
@pytest.mark.parametrize("style", STYLES)
def test_any_size_from_16(size, style):
    assert make_toyeyes(6, size, seed=1, style=style).images.shape == (6, 3, size, size)


def test_deterministic_by_seed_and_independent_of_n(pair):
    a, b, c = (make_toyeyes(BLOCK + 10, 32, seed=s) for s in (2, 2, 3))
    assert torch.equal(a.images, b.images) and torch.equal(a.meta["gaze"], b.meta["gaze"])
    assert (a.images.float() - c.images.float()).abs().mean() > 15
    assert torch.equal(make_toyeyes(2 * BLOCK, 32, seed=2).images[:BLOCK + 10], a.images)
    real = make_toyeyes(100, 64, seed=5, style="real")
    assert torch.equal(real.images, pair[1].images[:100])          # make_toyeyes_pair is make_toyeyes per style
    assert torch.equal(make_toyeyes(100, 64, seed=5).images, pair[0].images[:100])


def test_errors():
    with pytest.raises(ValueError, match="n must be a positive integer"): make_toyeyes(0)
    with pytest.raises(ValueError, match="n must be a positive integer"): make_toyeyes(2.5)
    with pytest.raises(ValueError, match="at least 16"): make_toyeyes(4, image_size=8)
    with pytest.raises(ValueError, match="style must be one of 'clean', 'real'"): make_toyeyes(4, style="photo")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"): make_toyeyes(4, seed=-1)
    with pytest.raises(ValueError, match="style must be one of"): make_toyeyes(4, style=None)


def test_eyeball_geometry():
    p = random_eyes(5000, torch.Generator().manual_seed(0))
    yaw, pitch = torch.deg2rad(p["yaw"]), torch.deg2rad(p["pitch"])
    assert torch.allclose(gaze_vector(p["yaw"], p["pitch"]).norm(dim=-1), torch.ones(5000), atol=1e-5)
    m, e, cos = iris_ellipse(p)
    assert torch.allclose(m[:, 0] - p["cx"], p["R"] * torch.sin(yaw) * torch.cos(pitch), atol=1e-5)
    assert torch.allclose(p["cy"] - 0.06 - m[:, 1], p["R"] * torch.sin(pitch), atol=1e-5)
    assert torch.allclose(cos, torch.cos(yaw) * torch.cos(pitch), atol=1e-5)
    straight = iris_ellipse({**p, "yaw": torch.zeros(5000), "pitch": torch.zeros(5000)})
    assert torch.equal(straight[1], torch.tensor([[1.0, 0.0]]).expand(5000, 2)) and torch.allclose(straight[2], torch.ones(5000))
    x = p["cx"][:, None, None]
    up = lid_curves({**p, "pitch": torch.full((5000,), 15.0)}, x)
    down = lid_curves({**p, "pitch": torch.full((5000,), -15.0)}, x)
    assert (up[0] < down[0]).all() and (up[0] < up[1]).all()       # the upper lid rises with the gaze


def test_gaze_is_recoverable_from_pixels(pair):
    clean, real = pair
    gaze = clean.meta["gaze"]
    for ds in pair:
        found = find_pupil(ds.images)
        assert corr(found[:, 0], gaze[:, 0]) > 0.9
        assert corr(found[:, 1], gaze[:, 1]) < -0.85                 # y points down, pitch up
    err = (find_pupil(clean.images) - clean.meta["iris"]).norm(dim=1)
    assert err.median() < 1.5


def test_same_geometry_across_styles(pair):
    clean, real = pair
    shift = (find_pupil(clean.images) - find_pupil(real.images)).norm(dim=1)
    assert shift.mean() < 1.5 and shift.median() < 0.75
    other = find_pupil(make_toyeyes(1024, 64, seed=6, style="real").images)
    assert (find_pupil(clean.images) - other).norm(dim=1).mean() > 5 * shift.mean()


def test_webcam_look_differs(pair):
    clean, real = pair
    assert noise_floor(real.images).mean() > 5 * noise_floor(clean.images).mean()
    assert edge_strength(real.images).mean() < 0.8 * edge_strength(clean.images).mean()
    assert blockiness(real.images) > 1.2 and abs(blockiness(clean.images) - 1) < 0.05


def test_blur_and_jpeg_helpers():
    k = gaussian_kernels(torch.tensor([0.5, 1.0, 2.0]), 6)
    assert torch.allclose(k.sum(1), torch.ones(3)) and torch.equal(k, k.flip(1))
    flat = torch.full((2, 3, 20, 20), 0.4)
    assert torch.allclose(blur(flat, torch.tensor([0.7, 1.5])), flat, atol=1e-6)   # a flat image stays flat
    spot = torch.zeros(2, 1, 21, 21); spot[:, :, 10, 10] = 1
    out = blur(spot, torch.tensor([0.5, 2.0]))
    assert out[0, 0, 10, 10] > out[1, 0, 10, 10] and torch.allclose(out.sum((1, 2, 3)), torch.ones(2), atol=1e-5)
    img = (torch.rand(3, 3, 32, 32) * 255).to(torch.uint8)
    low, high = jpeg(img, [10, 10, 10]), jpeg(img, [95, 95, 95])
    assert low.shape == img.shape and low.dtype == torch.uint8
    assert (low.float() - img.float()).abs().mean() > (high.float() - img.float()).abs().mean()


def test_registered():
    from gan_notes.data import DATASETS
    from gan_notes.catalogue import load_dataset
    assert "toyeyes" in DATASETS
    ds = load_dataset("toyeyes", image_size=32, n=10, seed=1, style="real")
    assert ds.images.shape == (10, 3, 32, 32) and ds.meta["gaze"].shape == (10, 2)


@pytest.mark.skipif(EYES is None, reason="the eyes test data (shared/data/eyes) is not on this machine")
def test_real_style_is_closer_to_the_webcam_crops(pair):
    from gan_notes.download import load_eyes
    crops = load_eyes(64, root=EYES, domain="real", progress=False, cache=False).images.float() / 255

    def dist(images):
        x = images.float() / 255
        h, hr = torch.histc(x.mean(1), 32, 0, 1), torch.histc(crops.mean(1), 32, 0, 1)
        return (x.mean((0, 2, 3)) - crops.mean((0, 2, 3))).norm(), (h / h.sum() - hr / hr.sum()).abs().sum()

    (m_clean, h_clean), (m_real, h_real) = dist(pair[0].images), dist(pair[1].images)
    assert m_real < m_clean and h_real < h_clean
