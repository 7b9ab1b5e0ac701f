"The toycars dataset: shapes, seeds, balance, options, mirror symmetry, front/rear cues, learnability."
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_notes.toycars import (BODY_NAMES, VIEWPOINTS, ToyCars, camera, car_parts, make_toycars, mirror_views,
                               random_cars, random_views, render_cars, soft_iou)


@pytest.fixture(scope="module")
def toycars_small():
    "2,400 cars at 32 px: enough for statistics, made in about a second."
    return make_toycars(2400, 32, seed=11)


def test_shapes_dtypes_and_balance(toycars_small):
    ds = toycars_small
    assert isinstance(ds, ToyCars)
    assert ds.images.shape == (2400, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.dtype == torch.int64 and ds.classes == list(VIEWPOINTS)
    assert torch.bincount(ds.labels).tolist() == [300] * 8
    assert ds.body_classes == list(BODY_NAMES) and set(ds.body.tolist()) == set(range(len(BODY_NAMES)))
    assert ((ds.azimuth - 45 * ds.labels).abs() <= 10).all()
    assert ((ds.elevation >= 4) & (ds.elevation <= 24)).all()
    assert ds.images.float().std() > 20                      # not blank


@pytest.mark.parametrize("size", [16, 48, 128])
def test_any_size_from_16(size):
    assert make_toycars(8, size, seed=1).images.shape == (8, 3, size, size)


def test_deterministic_by_seed():
    a, b, c = (make_toycars(40, 32, seed=s) for s in (5, 5, 6))
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) and torch.equal(a.body, b.body)
    assert (a.images.float() - c.images.float()).abs().mean() > 20


def test_viewpoint_subset_and_errors():
    ds = make_toycars(40, 32, viewpoints=["right", "front"])
    assert ds.classes == ["front", "right"] and torch.bincount(ds.labels).tolist() == [20, 20]
    assert ((ds.azimuth - torch.tensor([0.0, 270.0])[ds.labels]).abs() <= 10).all()
    for bad in (["left", "sideways"], ["left", "left"], []):
        with pytest.raises(ValueError, match="distinct names"): make_toycars(8, 32, viewpoints=bad)
    with pytest.raises(ValueError, match="n must be positive"): make_toycars(0)
    with pytest.raises(ValueError, match="at least 16"): make_toycars(4, image_size=12)
    with pytest.raises(ValueError, match="jitter"): make_toycars(4, jitter=45)


def test_registered():
    from gan_notes.data import DATASETS
    assert "toycars" in DATASETS
    ds = DATASETS["toycars"].loader(image_size=32, n=16, seed=0, viewpoints="left")
    assert ds.images.shape == (16, 3, 32, 32) and ds.classes == ["left"]


def test_camera_above_the_body():
    rng = np.random.default_rng(0)
    cars, views = random_cars(5000, rng), random_views(rng.integers(0, 8, 5000), rng)
    parts = car_parts(cars)
    assert (camera(views, parts.height)[0][:, 2] - parts.body_top).min() > 0.1


def test_left_and_right_are_mirror_images():
    m, rng = 120, np.random.default_rng(2)
    cars, left = random_cars(m, rng), random_views(np.full(m, 2), rng)
    img_l, mask_l = render_cars(cars, left, 48, mask=True)
    img_r, mask_r = render_cars(cars, mirror_views(left, -left["azimuth"]), 48, mask=True)
    assert soft_iou(mask_l, mask_r.flip(-1)).min() > 0.99          # the mirrored scene is the flipped image
    assert (img_l.float() - img_r.flip(-1).float()).abs().mean() < 0.5
    # with independent +-10 degree jitter: a flipped right view matches as well as another left view
    jitter = lambda v, c: {**v, "azimuth": c + rng.uniform(-10, 10, m)}
    mask_l2 = render_cars(cars, jitter(left, 90.0), 48, mask=True)[1]
    mask_r2 = render_cars(cars, jitter(mirror_views(left, 0), 270.0), 48, mask=True)[1]
    ref, flipped = soft_iou(mask_l, mask_l2).mean(), soft_iou(mask_l, mask_r2.flip(-1)).mean()
    assert flipped > 0.85 and abs(flipped - ref) < 0.03
    assert flipped > soft_iou(mask_l, mask_r2).mean() + 0.05        # unflipped, the silhouettes differ


def test_front_and_rear_differ():
    m, rng = 150, np.random.default_rng(3)
    cars = random_cars(m, rng)
    front = render_cars(cars, random_views(np.zeros(m, int), rng), 48).float() / 255
    rear = render_cars(cars, random_views(np.full(m, 4), rng), 48).float() / 255
    red = lambda x: ((x[:, 0] > 0.6) & (x[:, 1] < 0.2) & (x[:, 2] < 0.2)).float().mean((1, 2))
    assert red(rear).mean() > 10 * red(front).mean()
    assert (red(rear) > red(front)).float().mean() > 0.95


def test_viewpoints_are_linearly_learnable(toycars_small):
    ds = toycars_small
    x = F.avg_pool2d(ds.images.float() / 255, 4).flatten(1)        # 8 x 8 thumbnails
    x = (x - x[:2000].mean(0)) / (x[:2000].std(0) + 1e-3)
    xtr, ytr, xte, yte = x[:2000], ds.labels[:2000], x[2000:], ds.labels[2000:]
    W = torch.zeros(x.shape[1], 8, requires_grad=True)
    b = torch.zeros(8, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(xtr @ W + b, ytr) + 1e-3 * W.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    acc = ((xte @ W + b).argmax(1) == yte).float().mean().item()
    assert acc > 0.7, acc                                           # chance is 1/8
