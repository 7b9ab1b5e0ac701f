"train_wgan.ipynb as a user runs it: per category, both variants, DiffAugment, and bad input."
import json

import papermill as pm
import pytest

from conftest import NBS
from test_experiments import run_nb


@pytest.mark.parametrize("variant, policy", [("wgan", ""), ("wgan-gp", "color,translation,cutout")])
def test_wgan_on_one_toycars_viewpoint(smoke_env, tmp_path, variant, policy):
    run_nb(NBS / "train_wgan.ipynb", tmp_path / "r.ipynb", tmp_path, dataset="toycars", category="front",
           variant=variant, diffaugment=policy, out_dir="o", device="cpu")
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["dataset"] == "toycars/front" and m["n_images"] == 1250 and m["variant"] == variant
    assert m["diffaugment"] == policy and m["steps"] == 6
    rec = json.loads((tmp_path / "o" / "run.json").read_text())
    assert rec["loss"] == "wasserstein" and rec["n_critic"] == 2 and rec["ema"] == 0.999
    assert (rec["penalties"], rec["constraints"]) == (([], ["clip"]) if variant == "wgan" else (["gp"], []))
    assert (rec["augment"] is not None) == bool(policy)
    for f in ["samples.png", "losses.png"]: assert (tmp_path / "o" / f).is_file()


@pytest.mark.parametrize("params, ename, message", [
    ({"variant": "wgan-lp"}, "ValueError", "variant 'wgan-lp' is not one of 'wgan', 'wgan-gp'"),
    ({"dataset": "toycars", "category": "top"}, "ValueError", "no category 'top': use one of front, front-left"),
    ({"category": "x", "dataset": "sprites"}, "ValueError", "no category 'x'"),
    ({"diffaugment": "colour"}, "ValueError", "colour"),
    ({"ema": 1.5}, "ValueError", "ema must be 0 (off) or a decay"),
])
def test_bad_wgan_parameters(smoke_env, tmp_path, params, ename, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "train_wgan.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", **params)
    assert e.value.ename == ename and message in e.value.evalue


def test_wgan_on_a_category_of_a_sorted_index(smoke_env, tmp_path):
    "The car project's pipeline: a classifier sorted a folder of photos; one WGAN trains on what it put in 'front'."
    import torch
    from gan_notes.classify import ViewClassifier
    from gan_notes.sorting import sort_images
    from gan_notes.core import save_png
    from gan_notes.data import load_image_folder
    from gan_notes.catalogue import load_dataset
    cars = load_dataset("toycars", image_size=32)
    front, rear = cars.classes.index("front"), cars.classes.index("rear")
    pick = torch.cat([torch.nonzero(cars.labels == front)[:28, 0], torch.nonzero(cars.labels == rear)[:28, 0]])
    photos = tmp_path / "photos"
    for i in pick.tolist(): save_png(cars.images[i:i + 1], photos / f"car_{i:05d}.png", nrow=1)
    pile = load_image_folder(photos, image_size=32)
    truth = torch.tensor([cars.labels[int(f.split("_")[-1][:5])].item() == rear for f in pile.files]).long()
    # probabilities a classifier might give: right, and confident except for every fourth image
    conf = torch.where(torch.arange(len(pile)) % 4 == 0, 0.6, 0.95)
    probs = torch.stack([torch.where(truth == 0, conf, 1 - conf), torch.where(truth == 1, conf, 1 - conf)], 1)
    before = {f: open(f, "rb").read() for f in pile.files}
    sort_images(ViewClassifier(["front", "rear"], image_size=32), pile, tmp_path / "sorted", probs=probs)  # its probabilities given
    run_nb(NBS / "train_wgan.ipynb", tmp_path / "r.ipynb", tmp_path, dataset=str(photos), category="front",
           index=str(tmp_path / "sorted" / "index.csv"), out_dir="o", device="cpu", image_size=32)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    kept_front = int(((truth == 0) & (conf >= 0.7)).sum())
    assert m["n_images"] == kept_front and 16 <= kept_front < 28 and m["steps"] == 6
    assert {f: open(f, "rb").read() for f in pile.files} == before        # the user's photos are untouched
    with pytest.raises(pm.PapermillExecutionError, match="is not a file"):
        run_nb(NBS / "train_wgan.ipynb", tmp_path / "bad.ipynb", tmp_path, dataset=str(photos), category="front",
               index=str(tmp_path / "nowhere.csv"), out_dir="o2")


def test_wgan_on_a_sorted_generated_dataset(smoke_env, tmp_path):
    "classify_views' default pile is 4,000 toycars made in memory: its index (positions, no files) must train train_wgan as it is."
    import torch
    from gan_notes.classify import ViewClassifier
    from gan_notes.sorting import sort_images
    from gan_notes.catalogue import load_dataset
    cars = load_dataset("toycars", image_size=32, n=160)          # not the default 10,000: the index says how many
    probs = torch.nn.functional.one_hot(cars.labels, 8).float() * 0.9 + 0.0125
    sort_images(ViewClassifier(cars.classes, image_size=32), cars, tmp_path / "sorted", probs=probs)
    run_nb(NBS / "train_wgan.ipynb", tmp_path / "r.ipynb", tmp_path, dataset="toycars", category="rear",
           index=str(tmp_path / "sorted" / "index.csv"), out_dir="o", device="cpu", image_size=32)
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["n_images"] == int((cars.labels == cars.classes.index("rear")).sum()) == 20, m["n_images"]
    assert m["steps"] == 6 and "view_agreement" in m, sorted(m)
