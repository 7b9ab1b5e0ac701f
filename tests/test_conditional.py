"Class-conditional GAN pieces (chapter 18) and the per-category vs conditional report (compare_views)."
import json

import papermill as pm
import pytest
import torch
import torch.nn as nn

from conftest import NBS
from test_experiments import run_nb
from gan_notes.conditional import (COLOURS, ConditionalBatchNorm2d, ConditionalGenerator, ProjectionDiscriminator,
                                   colour_classes, nearest_colour)
from gan_notes.core import seed_everything
from gan_notes.dcgan import BCELoss
from gan_notes.train import Conditioned, Trainer
from gan_notes.wgan_gp import GradientPenalty


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_at_every_size(size):
    G = ConditionalGenerator(5, image_size=size, nz=12, ngf=4)
    D = ProjectionDiscriminator(5, image_size=size, ndf=4, norm="layer")
    y = torch.tensor([0, 4, 2])
    x = G(torch.randn(3, 12), y)
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1           # tanh output
    assert D(x, y).shape == (3,)
    assert D.feature_dim == 4 * 2 ** (size.bit_length() - 4) * 16         # 4 x 4 map of ndf * 2^(blocks-1) channels


def test_conditional_batchnorm_starts_plain_and_scales_per_class():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, n_classes=2)
    h, y = torch.randn(8, 3, 4, 4) * 5 - 2, torch.tensor([0, 1] * 4)
    plain = nn.BatchNorm2d(3, affine=False)(h)
    torch.testing.assert_close(cbn(h, y), plain)                           # gain 1, bias 0
    with torch.no_grad(): cbn.gain.weight[1] = 3.0; cbn.bias.weight[1] = -1.0
    out = cbn(h, y)
    torch.testing.assert_close(out[y == 1], 3 * plain[y == 1] - 1)
    torch.testing.assert_close(out[y == 0], plain[y == 0])


def test_projection_term_depends_on_the_label():
    torch.manual_seed(0)
    D = ProjectionDiscriminator(4, image_size=32, ndf=8, norm="none")
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    s = torch.stack([D(x, torch.full((6,), k)) for k in range(4)])          # 4 x 6: each image scored as each class
    assert (s.std(0) > 1e-4).all()                                         # the label changes every image's score
    phi = D.phi(x).flatten(1)
    psi = D.head(D.phi(x)).view(6)
    for k in range(4):                                                     # D(x, y) = v_y . phi(x) + psi(phi(x))
        torch.testing.assert_close(s[k], phi @ D.embed.weight[k] + psi, rtol=1e-5, atol=1e-5)


def test_bad_labels_and_class_counts_are_refused():
    G, D = ConditionalGenerator(3, 32, nz=8, ngf=4), ProjectionDiscriminator(3, 32, ndf=4)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"): G(torch.randn(2, 8), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="int64 tensor of 2 class indices"): D(torch.zeros(2, 3, 32, 32), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="int64 tensor of 2 class indices"): D(torch.zeros(2, 3, 32, 32), torch.tensor([0]))
    with pytest.raises(ValueError, match="n_classes must be a positive integer"): ConditionalGenerator(0, 32)


def test_gradient_penalty_through_the_conditioned_critic():
    torch.manual_seed(0)
    D = ProjectionDiscriminator(3, image_size=32, ndf=8, norm="layer")
    y = torch.tensor([2, 2, 0])
    gp = GradientPenalty(10.0)(Conditioned(D, y), torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32))
    gp.backward()
    g = D.embed.weight.grad
    assert torch.isfinite(gp) and g[[0, 2]].abs().sum() > 0 and g[1].abs().sum() == 0  # only the batch's classes
    with pytest.raises(ValueError, match="BatchNorm"):
        GradientPenalty()(Conditioned(ProjectionDiscriminator(3, 32, ndf=8, norm="batch"), y),
                          torch.zeros(3, 3, 32, 32), torch.zeros(3, 3, 32, 32))


def test_colour_toy_set_is_separable():
    toy = colour_classes(64, seed=3)
    assert toy.classes == list(COLOURS) and toy.labels.bincount().tolist() == [16] * 4
    assert (nearest_colour(toy.images) == toy.labels).all()
    assert (nearest_colour(torch.zeros(2, 3, 32, 32) + torch.tensor([1.0, -1, -1]).view(1, 3, 1, 1)) == 0).all()  # red, in [-1, 1]


def test_short_conditional_run_draws_the_requested_colour():
    "A Trainer(conditional=True) run of 200 steps on four flat colours: >= 90% of samples nearest the requested colour."
    toy = colour_classes(512)
    seed_everything(0)
    tr = Trainer(ConditionalGenerator(4, 32, nz=16, ngf=8), ProjectionDiscriminator(4, 32, ndf=8, norm="none"), toy, BCELoss(),
                 batch_size=32, lr=2e-3, conditional=True, device="cpu", progress=False, n_samples=16)
    tr.fit(200)
    torch.manual_seed(1)
    requested = torch.arange(400) % 4
    got = nearest_colour(tr.sample(400, labels=requested))
    per_class = [(got[requested == k] == k).float().mean().item() for k in range(4)]
    assert (got == requested).float().mean() >= 0.9 and min(per_class) >= 0.8, per_class
    # an unconditional draw (the labels shuffled after generation) would match a quarter of the time
    assert (got == requested[torch.randperm(400, generator=torch.Generator().manual_seed(0))]).float().mean() < 0.5


def test_compare_views_smoke_and_reuse(smoke_env, tmp_path):
    run_nb(NBS / "compare_views.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", device="cpu")
    out = tmp_path / "o"
    m = json.loads((out / "metrics.json").read_text())
    assert m["smoke"] is True and m["steps_total"] == 16 and m["steps_each"] == 2 and len(m["classes"]) == 8
    assert len(m["rows"]) == 16 and {r["model"] for r in m["rows"]} == {"per-category", "conditional"}
    assert all(0 <= r["agreement"] <= 1 and r["swd"] > 0 for r in m["rows"])
    for f in ["table.md", "grids.png", "classifier.pt", "s0/conditional/run.json", "s0/front/run.json"]:
        assert (out / f).is_file(), f
    assert json.loads((out / "s0" / "front" / "run.json").read_text())["steps"] == 2
    assert "| **mean** |" in (out / "table.md").read_text()
    # again, into the same folder: the classifier and every run are taken as they are
    run_nb(NBS / "compare_views.ipynb", tmp_path / "r2.ipynb", tmp_path, out_dir="o", device="cpu")
    text = "".join("".join(o.get("text", "")) for c in json.loads((tmp_path / "r2.ipynb").read_text())["cells"]
                   for o in c.get("outputs", []))
    assert "reused" in text and text.count("(reused)") == 9
    assert json.loads((out / "metrics.json").read_text())["rows"] == m["rows"]   # the same models, the same numbers


@pytest.mark.parametrize("params, message", [
    ({"steps_total": 12}, "steps_total 12 must be a multiple of the 8 categories"),
    ({"steps_total": 0}, "steps_total must be a positive integer"),
    ({"seeds": "0,x"}, "seeds must be distinct non-negative integers"),
    ({"n_eval": 0}, "n_eval must be a positive integer"),
])
def test_compare_views_bad_parameters(smoke_env, tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "compare_views.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", device="cpu", **params)
    assert e.value.ename == "ValueError" and message in e.value.evalue
