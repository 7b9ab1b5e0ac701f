"The measures of a refiner (gan_notes.realism): angular error, the domain classifier, the gaze regressor; smoke-sized."
import pytest
import torch

from gan_notes.core import to_float
from gan_notes.realism import (DOMAINS, angular_error, domain_set, gaze_error, p_real, predict_gaze, realism,
                               train_domain_classifier, train_gaze)
from gan_notes.toyeyes import make_toyeyes, make_toyeyes_pair


def test_angular_error_known_angles():
    assert angular_error(torch.tensor([[12.5, -7.0]]), torch.tensor([[12.5, -7.0]])).item() == pytest.approx(0, abs=1e-9)
    assert angular_error(torch.tensor([10.0, 0.0]), torch.tensor([0.0, 0.0])).item() == pytest.approx(10, abs=1e-9)
    assert angular_error(torch.tensor([0.0, 0.0]), torch.tensor([-10.0, 0.0])).item() == pytest.approx(10, abs=1e-9)
    # pitch alone; yaw and pitch together: 90 deg of yaw at pitch 0 against straight up is 90 deg
    err = angular_error(torch.tensor([[0.0, 5.0], [90.0, 0.0]]), torch.tensor([[0.0, -15.0], [0.0, 90.0]]))
    assert err.shape == (2,) and err.tolist() == pytest.approx([20.0, 90.0], abs=1e-9)
    with pytest.raises(ValueError, match="expected two"): angular_error(torch.zeros(3, 2), torch.zeros(3, 3))


def _flat(n, level, size=16):
    "n flat-grey uint8 images of one level, with a little noise: an easy domain."
    g = torch.Generator().manual_seed(level)
    return (level + torch.randint(-10, 11, (n, 3, size, size), generator=g)).clamp(0, 255).to(torch.uint8)


def test_domain_set_balances_and_checks():
    d = domain_set(_flat(10, 200), _flat(4, 50))
    assert d.classes == list(DOMAINS) == ["synthetic", "real"] and d.meta == {"n_real": 10, "n_synthetic": 10}
    assert (d.labels == 0).sum() == 10 and (d.labels == 1).sum() == 10 and len(d) == 20
    assert len(domain_set(_flat(10, 200), _flat(4, 50), balance=False)) == 14
    with pytest.raises(ValueError, match="differ in shape"): domain_set(_flat(4, 200, 16), _flat(4, 50, 32))
    with pytest.raises(ValueError, match="at least 2 images"): domain_set(_flat(1, 200), _flat(4, 50))


def test_realism_on_domains_with_known_answers():
    # bright "real" against dark "synthetic": a refiner that brightened everything fooled it, one that did nothing did not
    clf = train_domain_classifier(_flat(96, 200), _flat(32, 50), epochs=4, batch_size=32, width=8, seed=0)
    good = realism(clf, _flat(32, 201), _flat(32, 51), to_float(_flat(32, 202)))   # refined as float in [-1, 1]
    idle = realism(clf, _flat(32, 201), _flat(32, 51), _flat(32, 52))
    assert good["acc_real"] == idle["acc_real"] == 1 and good["acc_synthetic"] == 1
    assert good["refined_called_real"] == 1 and good["acc_real_vs_refined"] == 0.5 and good["acc_real_vs_synthetic"] == 1
    assert idle["refined_called_real"] == 0 and idle["acc_refined"] == 1 and idle["acc_real_vs_refined"] == 1
    assert torch.allclose(p_real(clf, _flat(8, 202)), p_real(clf, to_float(_flat(8, 202))), atol=1e-5)


def test_gaze_regressor_learns_and_checks():
    clean = make_toyeyes(512, 32, seed=7, style="clean")
    test_clean, test_real = make_toyeyes_pair(128, 32, seed=8)
    model = train_gaze(clean, clean.meta["gaze"], epochs=4, batch_size=32, width=8, seed=0)
    assert len(model.history["loss"]) == 4 and model.history["loss"][-1] < model.history["loss"][0]
    pred = predict_gaze(model, test_clean)
    assert pred.shape == (128, 2) and pred.dtype == torch.float32
    guess = angular_error(torch.zeros(128, 2), test_clean.meta["gaze"]).mean().item()   # always "straight ahead"
    assert gaze_error(model, test_clean)["mean"] < 0.7 * guess                          # it learnt the gaze
    assert set(gaze_error(model, test_real)) == {"mean", "median"}
    with pytest.raises(ValueError, match="gaze must be N x 2"): train_gaze(clean, clean.meta["gaze"][:10])
    with pytest.raises(ValueError, match="epochs must be a positive integer"): train_gaze(clean, clean.meta["gaze"], epochs=0)
    with pytest.raises(ValueError, match="takes 3 x 32 x 32"): predict_gaze(model, make_toyeyes(4, 64, seed=0).images)
    with pytest.raises(ValueError, match="no gaze"): gaze_error(model, domain_set(_flat(4, 1, 32), _flat(4, 2, 32)))
