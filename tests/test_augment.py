"DiffAugment on CUDA: shapes, dtype and device kept, and the same seed giving the same draws; the chapter 11_diffaugment checks the rest on the CPU."
import pytest
import torch

from gan_notes.augment import DiffAugment

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; the chapter checks the CPU")
ALL_POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]


@cuda
@pytest.mark.parametrize("policy", ALL_POLICIES)
@pytest.mark.parametrize("shape", [(5, 3, 32, 32), (2, 1, 20, 28), (1, 3, 64, 64)])
def test_shape_dtype_device_kept(policy, shape):
    # seeded: one 64 px image is left unshifted with probability 1/81, which once failed CI
    torch.manual_seed(0)
    x = torch.rand(shape, device="cuda") * 2 - 1
    y = DiffAugment(policy)(x)
    assert y.shape == shape and y.dtype == x.dtype and y.device == x.device
    assert not torch.equal(y, x)


@cuda
def test_same_seed_same_output():
    aug, x = DiffAugment(), torch.rand(6, 3, 32, 32, device="cuda")
    torch.manual_seed(11); a = aug(x)
    torch.manual_seed(11); b = aug(x)
    torch.manual_seed(12); c = aug(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
