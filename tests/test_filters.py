"""gan_notes.filters against the libraries it reproduces, on more images than its chapter: OpenCV (grey levels,
Laplacian variance), Pillow (grey levels, the Lanczos thumbnail) and imagehash (pHash bits)."""
import cv2
import imagehash
import numpy as np
import PIL
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from gan_notes import filters as F
from gan_notes.core import to_float
from gan_notes.sprites import make_sprites


@pytest.fixture(scope="module")
def animals():
    "The 402 animal drawings at 64 px (Debian packages that .ci/run installs)."
    from gan_notes.catalogue import load_dataset
    from gan_notes.drawings import DrawingsNotInstalled
    try:
        return load_dataset("animals", image_size=64).images
    except DrawingsNotInstalled as e:
        pytest.skip(str(e))


def rand_u8(shape, seed):
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def cv2_blur(x):
    "The textbook OpenCV blur score, image by image."
    out = []
    for im in x.permute(0, 2, 3, 1).numpy():
        g = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) if im.shape[2] == 3 else np.ascontiguousarray(im[:, :, 0])
        out.append(cv2.Laplacian(g, cv2.CV_64F).var())
    return np.array(out)


def test_grey_levels_equal_opencv_and_pil_on_every_colour():
    r = torch.arange(2 ** 24, dtype=torch.int32)
    rgb = torch.stack([(r >> 16) & 255, (r >> 8) & 255, r & 255]).to(torch.uint8).view(3, 4, 1024, 4096).transpose(0, 1)
    for part in rgb:                                              # 4 images of 1024 x 4096: all 2^24 colours
        hwc = part.permute(1, 2, 0).contiguous().numpy()
        assert np.array_equal(F.grey_levels(part[None], "opencv")[0].numpy(), cv2.cvtColor(hwc, cv2.COLOR_RGB2GRAY))
        assert np.array_equal(F.grey_levels(part[None], "pil")[0].numpy(), np.asarray(Image.fromarray(hwc).convert("L")))


def test_blur_score_agrees_with_opencv(animals):
    sets = [animals, make_sprites(200, 64).images, F.bench_images(150, 64, seed=5), rand_u8((20, 3, 45, 70), 1),
            rand_u8((20, 1, 33, 17), 2), rand_u8((10, 3, 1, 9), 3), rand_u8((10, 3, 9, 1), 4), rand_u8((10, 3, 2, 2), 5),
            rand_u8((5, 3, 1, 1), 6), torch.full((4, 3, 16, 16), 77, dtype=torch.uint8)]
    for x in sets:
        ref = cv2_blur(x)
        # the torch path is the correctly rounded variance of the exact integer Laplacian; OpenCV's and numpy's float64
        # sums round at every step, about 1e-16 relative each: 1e-12 relative leaves a wide margin
        for backend in ("opencv", "torch"):
            np.testing.assert_allclose(F.blur_score(x, backend), ref, rtol=1e-12, atol=1e-12)
        lap = F.laplacian(F.grey_levels(x)).double().numpy()
        assert all(np.array_equal(l, cv2.Laplacian(g.numpy(), cv2.CV_64F)) for l, g in zip(lap, F.grey_levels(x)))


def test_blur_falls_with_gaussian_blur(animals):
    s0 = F.blur_score(animals)
    s1 = F.blur_score(TF.gaussian_blur(animals, kernel_size=7, sigma=1.0))
    assert (s1 < s0).all() and np.median(s1) < np.median(s0) / 5


def test_contrast_values():
    flat = torch.stack([torch.full((3, 8, 8), v, dtype=torch.uint8) for v in (0, 1, 200, 255)])
    assert F.rms_contrast(flat).tolist() == [0.0] * 4 and F.michelson_contrast(flat).tolist() == [0.0] * 4
    halves = torch.zeros(1, 3, 8, 8, dtype=torch.uint8); halves[..., 4:] = 255
    assert F.rms_contrast(halves).tolist() == [0.5] and F.michelson_contrast(halves).tolist() == [1.0]
    x = rand_u8((30, 3, 20, 24), 7)
    g = F.grey_levels(x).double().numpy() / 255
    np.testing.assert_allclose(F.rms_contrast(x), g.std((1, 2)), rtol=1e-12)
    hi, lo = g.max((1, 2)), g.min((1, 2))
    np.testing.assert_allclose(F.michelson_contrast(x), (hi - lo) / (hi + lo), rtol=1e-12)
    stats = F.filter_stats(x)
    assert set(stats) == set(F.MEASURES) and all(len(v) == 30 for v in stats.values())
    assert all(len(v) == 0 for v in F.filter_stats(x[:0]).values())


def test_thresholds_and_clear_mask(animals):
    stats = F.filter_stats(animals)
    t = F.calibrate_thresholds(animals, percentile=5)
    assert t == F.calibrate_thresholds(stats, 5)
    assert t.rms == np.percentile(stats["rms"], 5)
    kept = F.clear_mask(animals, t)
    assert kept.dtype == torch.bool and 0.85 <= kept.float().mean() <= 0.95
    assert not F.clear_mask(TF.gaussian_blur(animals, kernel_size=13, sigma=2.0), t).any()
    assert not F.clear_mask(torch.full((3, 3, 64, 64), 128, dtype=torch.uint8), t).any()
    assert F.clear_mask(animals, F.calibrate_thresholds(stats, 0)).all()        # the minimum: everything passes


@pytest.mark.parametrize("h", [1, 2, 5, 16, 31, 32, 33, 40, 47, 48, 64, 65, 96, 150, 257])
def test_thumbnail_equals_pillow(h):
    for w in [1, 3, 8, 20, 31, 32, 33, 47, 48, 64, 80, 100, 200]:
        g = rand_u8((2, h, w), h * 1000 + w)
        want = np.stack([np.asarray(Image.fromarray(im).resize((32, 32), Image.Resampling.LANCZOS)) for im in g.numpy()])
        assert np.array_equal(F.pil_resize(g).numpy(), want), (h, w)
        hv, vh = (F._resize_torch(g.float(), order)[0] for order in ("hv", "vh"))
        if int(PIL.__version__.split(".")[0]) == 13 and not torch.equal(hv.transpose(1, 2), vh):
            # where the order matters, Pillow 13's rule (Pillow#9549): height first when it shrinks much more
            assert F.resize_plan(h, w) == ("vh" if h > 32 and h - 32 > 2 * (w - 32) else "hv"), (h, w)


def test_thumbnail_of_large_reductions_is_exact():
    assert F._split_weights(10_000)[2] is None and F._split_weights(1500)[2] == 8 and F._split_weights(64)[2] == 12
    for shape in [(10_000, 24), (24, 10_000), (1500, 40)]:
        g = rand_u8((2,) + shape, 9)
        want = np.stack([np.asarray(Image.fromarray(im).resize((32, 32), Image.Resampling.LANCZOS)) for im in g.numpy()])
        assert np.array_equal(F.pil_resize(g).numpy(), want)


def test_phash_is_bit_identical_to_imagehash_on_1400_images(animals):
    ramp = torch.linspace(0, 255, 48).round().to(torch.uint8)
    grads = torch.stack([ramp.expand(48, 48), ramp[:, None].expand(48, 48), ramp.flip(0).expand(48, 48),
                         ((ramp[None].int() + ramp[:, None].int()) // 2).to(torch.uint8),
                         ((ramp[None].int() * ramp[:, None].int()) // 255).to(torch.uint8)])[:, None]
    sets = {
        "animals 64": animals, "animals 32": TF.resize(animals, [32, 32], antialias=True),
        "animals 50x70": TF.resize(animals[:100], [50, 70], antialias=True),
        "sprites": make_sprites(200, 64).images, "bench": F.bench_images(300, 64, seed=11),
        "bench 40": F.bench_images(60, 40, seed=12), "noise": rand_u8((40, 3, 64, 64), 13),
        "flat": torch.arange(0, 256, 8, dtype=torch.uint8).view(32, 1, 1, 1).expand(32, 3, 24, 24),
        "flat grey": torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 1, 40, 40),
        "gradients": grads, "gradients rgb": grads.expand(5, 3, 48, 48),
        "tall": rand_u8((10, 3, 120, 36), 14), "wide": rand_u8((10, 1, 36, 120), 15), "small": rand_u8((10, 3, 9, 7), 16),
    }
    total, ties = 0, {}
    for name, x in sets.items():
        ours, tie = F.phash(x, chunk=128, return_ties=True)
        ref = F.phash_imagehash(x)
        differ = int(F.hamming(ours, ref).sum())
        assert differ == 0, f"{name}: {differ} bits differ"
        total += len(x); ties[name] = int(tie.sum())
    assert total >= 1400
    assert ties["flat"] == 32 and ties["animals 64"] == 0
    floats = to_float(animals[:50])                                              # generator output in [-1, 1]
    assert np.array_equal(F.phash(floats), F.phash_imagehash(animals[:50]))


def test_packed_value_is_imagehash_hex(animals):
    for im in animals[:20]:
        h = imagehash.phash(Image.fromarray(im.permute(1, 2, 0).numpy()))
        v = int(F.phash(im[None])[0])
        assert v == int(str(h), 16) and f"{v:016x}" == str(h)
        assert np.array_equal(F.unpack_bits(np.array([v], dtype=np.uint64))[0], h.hash.flatten())


def test_nearest_hamming_equals_brute_force():
    rng = np.random.default_rng(3)
    r = rng.integers(0, 2 ** 64 - 1, 700, dtype=np.uint64, endpoint=True)
    r[500:] = r[:200]                                                            # duplicates: the first index wins
    q = r[rng.integers(0, 700, 300)] ^ (np.uint64(1) << rng.integers(0, 64, 300).astype(np.uint64))
    d = np.array([[bin(int(a) ^ int(b)).count("1") for b in r] for a in q])     # 300 x 700
    for block in (1, 700, 5000, 1 << 20):
        idx, dist = F.nearest_hamming(q, r, block=block)
        assert idx.tolist() == d.argmin(1).tolist() and dist.tolist() == d.min(1).tolist()
    idx, dist = F.nearest_hamming(r[:200], r[:200], exclude_self=True)
    assert (idx != np.arange(200)).all()


def test_popcount_without_bitwise_count(monkeypatch):
    x = np.random.default_rng(4).integers(0, 2 ** 64 - 1, (50, 7), dtype=np.uint64, endpoint=True)
    want = np.vectorize(lambda v: bin(int(v)).count("1"))(x)
    assert np.array_equal(F.popcount(x), want)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert np.array_equal(F.popcount(x), want)                                   # the byte table
    assert F.popcount(np.uint64(2 ** 64 - 1)) == 64 and F.popcount(x[:0]).shape == (0, 7)
    assert F.nearest_hamming(x[:, 0], x[:, 1])[1].tolist() == [min(bin(int(a) ^ int(b)).count("1") for b in x[:, 1]) for a in x[:, 0]]


def test_bad_input_is_refused():
    x = rand_u8((2, 3, 8, 8), 0)
    with pytest.raises(ValueError, match="x\\[None\\]"): F.phash(x[0])
    with pytest.raises(ValueError, match="C = 1 or 3"): F.blur_score(torch.zeros(1, 4, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="torch.Tensor"): F.phash(x.numpy())
    with pytest.raises(ValueError, match="dtype torch.int64"): F.rms_contrast(x.long())
    with pytest.raises(ValueError, match="backend is"): F.blur_score(x, "scipy")
    with pytest.raises(ValueError, match="percentile"): F.calibrate_thresholds(F.filter_stats(x), -1)
    with pytest.raises(ValueError, match="empty training set"): F.calibrate_thresholds(x[:0])
    assert len(F.phash(x[:0])) == 0 and len(F.blur_score(x[:0])) == 0


def test_bench_filters_prints_its_lines(capsys):
    out = F.bench_filters(n_hash=24, n_search=300, n_blur=24, image_size=32)
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line.split(":")[0] for line in lines]
    assert names == ["phash imagehash (24 images 32 px)", "phash gan_notes", "phash identical bits", "nearest 300 x 300",
                     "blur opencv (24 images 32 px)", "blur torch"]
    assert "identical bits: True" in lines[2] and out["phash_bits_differing"] == 0
