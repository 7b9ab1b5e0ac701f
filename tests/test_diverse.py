"The diverse generator: latent paths, the filters' verdicts, the two feedbacks, the explorer, and train_diverse.ipynb."
import json
import math

import nbformat
import numpy as np
import papermill as pm
import pytest
import torch
import torch.nn.functional as F

from conftest import NBS
from test_experiments import run_nb
from gan_notes.core import to_float, to_uint8
from gan_notes.data import ImageSet
from gan_notes.sprites import make_sprites
from gan_notes.diverse import (BlendGenerator, NoveltyHinge, calibrate_novelty, find_clear_pair, generate, harvest,
                               latent_explorer, latent_walk, lerp, resume_from, slerp, verdict_rates,
                               verdicts, wanted_set)
from gan_notes.filters import calibrate_thresholds, phash
from gan_notes.train import NormalLatent


@pytest.fixture(scope="module")
def sprites():
    data = make_sprites(200, 32, seed=0)
    hashes = phash(data)
    return data, hashes, calibrate_thresholds(data, 5), calibrate_novelty(hashes, 10)


def angle(a, b): return math.acos(float(a.double() @ b.double() / (a.double().norm() * b.double().norm())))


def test_slerp_ends_norm_and_angle():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 64, generator=g)
    t = torch.linspace(0, 1, 11)
    for f in (lerp, slerp):
        path = f(z0, z1, t)
        assert path.shape == (11, 64) and torch.equal(path[0], z0) and torch.equal(path[-1], z1)
        assert torch.equal(f(z0, z1, 0.0), z0) and torch.equal(f(z0, z1, 1.0), z1)
    u0, u1 = F.normalize(z0, dim=0), F.normalize(z1, dim=0)
    path = slerp(u0, u1, t)
    assert torch.allclose(path.norm(dim=1), torch.ones(11), atol=1e-6)
    W = angle(u0, u1)
    assert 1.3 < W < 1.9                                                # random directions in 64-d: nearly orthogonal
    assert np.allclose([angle(u0, q) for q in path], (t.double() * W).numpy(), atol=1e-5)
    e0, e1 = torch.eye(4)[:2]
    assert math.isclose(float(lerp(e0, e1, 0.5).norm()), math.sqrt(0.5), rel_tol=1e-7)
    assert torch.allclose(slerp(e0, e1, 0.5), torch.tensor([1, 1, 0, 0.]) / math.sqrt(2))
    assert torch.equal(slerp(e0, 3 * e0, 0.25), lerp(e0, 3 * e0, 0.25))   # parallel: the straight line
    with pytest.raises(ValueError, match="same shape"): slerp(z0, z1[:3], 0.5)


def test_calibrate_novelty_on_known_hashes():
    h = np.array([0b0, 0b1, 0b11, 0xFF], dtype=np.uint64)   # nearest other: 1, 1, 1 and 6 bits
    assert calibrate_novelty(h, 0) == 1 and calibrate_novelty(h, 100) == 6
    with pytest.raises(ValueError, match="percentile"): calibrate_novelty(h, 101)


def test_verdicts_copies_and_flat_images(sprites):
    data, hashes, th, bits = sprites
    v = verdicts(data.images[:10], hashes, th, bits)
    assert (v["bits"] == 0).all() and (hashes[v["nearest"]] == hashes[:10]).all() and not v["novel"].any()
    assert all(r.startswith("copy (0 bits)") or "copy (0 bits)" in r for r in v["reasons"])
    flat = torch.full((3, 3, 32, 32), 200, dtype=torch.uint8)
    vf = verdicts(flat, hashes, th, bits)
    assert (vf["blur"] == 0).all() and not vf["clear"].any() and vf["reasons"][0].startswith("blurry, flat")
    r = verdict_rates({**v, "clear": np.array([True] * 4 + [False] * 6), "novel": np.array([True, False] * 5)})
    assert r["clear_rate"] == 0.4 and r["novelty_rate"] == 0.5
    with pytest.raises(ValueError, match="novel_bits"): verdicts(flat, hashes, th, 64)
    with pytest.raises(ValueError, match="Thresholds"): verdicts(flat, hashes, {"blur": 1}, 3)


def test_walk_pair_and_harvest_on_a_blend_generator(sprites):
    data, hashes, th, bits = sprites
    G, source = BlendGenerator(data.images[:6], nz=8), NormalLatent(8)
    z0, z1, drawn = find_clear_pair(G, source, th, batch=32, generator=torch.Generator().manual_seed(0))
    assert drawn % 32 == 0 and passes_all(G, th, z0, z1)
    walk, z = latent_walk(G, z0, z1, 6, "lerp")
    assert walk.shape == (6, 3, 32, 32) and torch.equal(z[0], z0) and torch.equal(z[-1], z1)
    assert torch.allclose(walk[-1], generate(G, z1[None])[0], atol=1e-6)
    kept, info = harvest(G, source, hashes, th, bits, n=64, walks=3, frames=6, generator=torch.Generator().manual_seed(1))
    assert info["seen"] == 64 + 3 * 4 and info["kept"] == len(kept) >= info["samples_kept"]
    if len(kept): assert verdicts(kept, hashes, th, bits)["kept"].all()
    grey = BlendGenerator(torch.full((2, 3, 32, 32), 128, dtype=torch.uint8), nz=8)
    with pytest.raises(ValueError, match="only 0 clear"): find_clear_pair(grey, source, th, batch=8, max_batches=2)
    with pytest.raises(ValueError, match="'lerp', 'slerp'"): latent_walk(G, z0, z1, 6, "arc")


def passes_all(G, th, *zs):
    from gan_notes.filters import clear_mask
    return bool(clear_mask(generate(G, torch.stack(zs)), th).all())


def test_wanted_set_share_and_trainer_swap(sprites):
    data = sprites[0]
    kept = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    w = wanted_set(data, kept, share=0.5)                   # 200 + 20 x 10: half the set
    assert len(w) == 400 and torch.equal(w.images[:200], data.images) and torch.equal(w.images[-10:], kept)
    assert len(wanted_set(data, kept[:0], 0.5)) == 200 and len(wanted_set(data, kept, 0.0)) == 200
    thin = wanted_set(data, kept, share=0.02)               # 4.1 wanted of 10 kept: 4, evenly spaced, share 4 / 204
    assert len(thin) == 204 and torch.equal(thin.images[200:], kept[[0, 3, 6, 9]])
    with pytest.raises(ValueError, match="share"): wanted_set(data, kept, 1.0)
    tr = tiny_trainer(data)
    tr.fit(2)
    w0 = tr.G.net[0].weight.detach().clone()
    tr.set_data(ImageSet(kept))
    assert tr.step == 2 and torch.equal(tr.G.net[0].weight, w0)
    batch = to_uint8(next(tr.batches))
    assert all(any(torch.equal(b, k) for k in kept) for b in batch)
    tr.fit(3)
    assert tr.step == 3 and len(tr.history["step"]) == 3
    rec = tr.record()
    assert rec["n_images"] == 10
    if "dataset_sha256" in rec: assert rec["dataset_sha256"] == tr.data.checksum()   # not the old set's cached one


def tiny_trainer(data, g_regularisers=()):
    from gan_notes.core import seed_everything
    from gan_notes.dcgan import Discriminator, Generator
    from gan_notes.train import Trainer
    from gan_notes.wgan import WassersteinLoss
    from gan_notes.wgan_gp import wgan_gp_settings
    seed_everything(0)
    return Trainer(Generator(32, nz=8, ngf=4), Discriminator(32, ndf=4, norm="layer"), data, WassersteinLoss(),
                   batch_size=8, source=NormalLatent(8), **wgan_gp_settings(n_critic=1), g_regularisers=g_regularisers,
                   device="cpu", progress=False)


def test_novelty_hinge_numbers():
    levels = torch.tensor([-1.0, 0.0, 0.5])
    train = levels.view(3, 1, 1, 1).expand(3, 3, 16, 16).contiguous()   # three flat images
    h = NoveltyHinge(train, weight=2.0)                     # nearest others: 1, 0.5, 0.5 -> median margin 0.5
    assert math.isclose(h.margin, 0.5, rel_tol=1e-6)
    fake = torch.full((2, 3, 16, 16), 0.25, requires_grad=True)   # 0.25 from the nearest: pays 2 x (0.5 - 0.25)
    loss = h(None, fake)
    assert math.isclose(loss.item(), 0.5, rel_tol=1e-5)
    loss.backward()
    assert fake.grad.abs().sum() > 0
    far = torch.full((2, 3, 16, 16), 2.0, requires_grad=True)
    h(None, far).backward()
    assert far.grad.abs().sum() == 0
    copies = train.clone().requires_grad_()
    assert math.isclose(h(None, copies).item(), 1.0, rel_tol=1e-5)   # distance 0: the whole margin
    h(None, copies).backward()
    assert torch.isfinite(copies.grad).all()
    with pytest.raises(ValueError, match="weight"): NoveltyHinge(train, weight=0)


def test_resume_from_adds_a_regulariser(sprites):
    data = sprites[0]
    base = tiny_trainer(data)
    base.fit(3)
    tr = resume_from(tiny_trainer(data, [NoveltyHinge(data, weight=1.0)]), base.state_dict())
    assert tr.step == 3 and torch.equal(tr.G.net[0].weight, base.G.net[0].weight)
    tr.fit(5)
    h = tr.history["novelty"]
    assert len(h) == len(tr.history["step"]) == 5 and all(math.isnan(x) for x in h[:3]) and all(x >= 0 for x in h[3:])


def test_explorer_follows_the_slider(sprites):
    data, hashes, th, bits = sprites
    G = BlendGenerator(data.images[:6], nz=8)
    z = NormalLatent(8)(10, "cpu", torch.Generator().manual_seed(0))
    panel = latent_explorer(G, z, hashes, th, bits)
    c, s = panel.controls, panel.state
    assert s["t"] == 0.0 and torch.allclose(s["image"], generate(G, z[:1])[0], atol=1e-6)
    first = c["image"].value
    c["b"].value = 7
    c["t"].value = 1.0
    assert s["b"] == 7 and torch.allclose(s["image"], generate(G, z[7:8])[0], atol=1e-6) and c["image"].value != first
    c["kind"].value = "lerp"; c["t"].value = 0.3
    assert torch.equal(s["z"], lerp(z[0], z[7], 0.3))
    v = verdicts(s["image"][None], hashes, th, bits)
    assert s["verdict"] == v["reasons"][0] and s["bits"] == int(v["bits"][0]) and s["verdict"] in c["label"].value


@pytest.mark.drawings
def test_train_diverse_smoke(smoke_env, tmp_path):
    run_nb(NBS / "train_diverse.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", device="cpu")
    o = tmp_path / "o"
    m = json.loads((o / "metrics.json").read_text())
    assert m["methods"] == ["wanted", "novelty"] and m["dataset"] == "animals" and m["n_images"] > 300
    for k in ("base_continued", "feedback_wanted", "feedback_novelty"):
        assert m[k]["steps"] == 8 and m[k]["n"] == 64
        for q in ("novelty_rate", "memorisation_rate", "recognisability", "ms_ssim", "clear_rate"): assert 0 <= m[k][q] <= 1
    assert m["base_at_fork"]["steps"] == 4 and [h["step"] for h in m["harvests"]["wanted"]] == [4, 6]
    assert 0 < m["novelty_margin"] < 1 and 0 < m["novel_bits"] < 64
    for f in ("diverse.png", "losses.png"): assert (o / f).is_file()
    rec = json.loads((o / "feedback-novelty" / "run.json").read_text())
    assert rec["steps"] == 8 and rec["penalties"] == ["gp"] and "novelty" in rec["final"]


@pytest.mark.drawings
def test_train_diverse_resumes(smoke_env, tmp_path):
    "Started again in the same out_dir: the base resumes, finished forks are taken as they were, an unfinished one starts again from the base and ends where the first run ended."
    run_nb(NBS / "train_diverse.ipynb", tmp_path / "r1.ipynb", tmp_path, out_dir="o", device="cpu")
    o = tmp_path / "o"
    first = json.loads((o / "metrics.json").read_text())
    (o / "feedback-wanted" / "done.json").unlink()        # as if the run had been killed during this fork
    run_nb(NBS / "train_diverse.ipynb", tmp_path / "r2.ipynb", tmp_path, out_dir="o", device="cpu")
    again = json.loads((o / "metrics.json").read_text())
    out = "\n".join(o_.get("text", "") for c in nbformat.read(str(tmp_path / "r2.ipynb"), as_version=4).cells
                    for o_ in c.get("outputs", []))
    assert "base: resumed at step 4" in out and "continued: finished earlier" in out and "feedback-novelty: finished earlier" in out
    assert "feedback-wanted: finished earlier" not in out and "wanted round 0 at step 4" in out   # trained again from the fork
    assert list((o / "feedback-wanted").glob("replaced-*/checkpoint-*.pt"))                     # its old checkpoints set aside
    same = lambda m: {k: v for k, v in m.items() if k != "train_time_s"}
    for k in ("base_at_fork", "base_continued", "feedback_wanted", "feedback_novelty"):
        assert same(again[k]) == same(first[k]), k
    assert again["harvests"] == first["harvests"]


@pytest.mark.parametrize("params, message", [
    ({"method": "wanted,magic"}, "give one or more of 'wanted', 'novelty', 'both'"),
    ({"wanted_share": 1.0}, "wanted_share must be in [0, 1)"),
    ({"dataset": "sprites", "clf_level": "group"}, "clf_level 'group': use 'kind'"),
])
def test_bad_diverse_parameters(smoke_env, tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_diverse.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", **params)
    assert e.value.ename == "ValueError" and message in e.value.evalue
