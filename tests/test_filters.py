"""What chapter 12 (nbs/12_filters.ipynb) does not check: Pillow's Lanczos thumbnail swept over 195 sizes, with Pillow 13's
pass-order rule, and `popcount` where numpy lacks `bitwise_count` (monkeypatched)."""
import numpy as np
import PIL
import pytest
import torch
from PIL import Image

from gan_notes import filters as F


def rand_u8(shape, seed):
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


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


def test_popcount_without_bitwise_count(monkeypatch):
    x = np.random.default_rng(4).integers(0, 2 ** 64 - 1, (50, 7), dtype=np.uint64, endpoint=True)
    want = np.vectorize(lambda v: bin(int(v)).count("1"))(x)
    assert np.array_equal(F.popcount(x), want)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert np.array_equal(F.popcount(x), want)                                   # the byte table
    assert F.popcount(np.uint64(2 ** 64 - 1)) == 64 and F.popcount(x[:0]).shape == (0, 7)
    assert F.nearest_hamming(x[:, 0], x[:, 1])[1].tolist() == [min(bin(int(a) ^ int(b)).count("1") for b in x[:, 1]) for a in x[:, 0]]
