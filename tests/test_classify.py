"The viewpoint classifier (thresholds, flips, calibration, checkpoints) and the sorting (gan_notes.sorting: without touching the sources; the experiment)."
import csv
import hashlib
import json
import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import papermill as pm
import pytest
import torch
import torch.nn as nn

from conftest import NBS
from test_experiments import run_nb
from gan_notes import classify as C
from gan_notes import sorting as S
from gan_notes.core import save_png
from gan_notes.data import ImageSet, load_image_folder
from gan_notes.catalogue import load_dataset
from gan_notes.checkpoint import CheckpointError, save_checkpoint


def snapshot(folder: Path) -> dict:
    "Every file under folder: bytes (hash), size and modification time; links as their target."
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink(): out[rel] = ("link", os.readlink(p))
        elif p.is_file(): out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size, p.stat().st_mtime_ns)
        else: out[rel] = ("dir",)
    return out


@pytest.fixture(scope="module")
def cars():
    return load_dataset("toycars", image_size=32, n=96, seed=3)


@pytest.fixture
def untrained(cars):
    "A classifier with random weights: sorting needs no accuracy, and it is built in milliseconds."
    torch.manual_seed(0)
    return C.ViewClassifier(cars.classes, image_size=32).eval()


@pytest.fixture
def photos(tmp_path, cars):
    "96 toycars as PNG files in two subfolders, plus a text file: the user's photos."
    src = tmp_path / "photos"
    for i in range(len(cars)): save_png(cars.images[i], src / f"batch{i % 2}" / f"car_{i:03d}.png")
    (src / "notes.txt").write_text("not an image")
    return src


# --- the threshold ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_threshold_at_above_below(dtype):
    t = 0.7
    at = torch.tensor(t, dtype=dtype)                                  # 0.7 as this dtype stores it
    up, down = torch.nextafter(at, torch.tensor(1.0, dtype=dtype)), torch.nextafter(at, torch.tensor(0.0, dtype=dtype))
    probs = torch.stack([torch.stack([c, 1 - c]) for c in (at, up, down)])
    pred, conf, kept = C.assign(probs, t)
    assert kept.tolist() == [True, True, False]                        # >= t kept: exactly at it too
    assert C.categories(probs, ["a", "b"], t) == ["a", "a", C.UNKNOWN]
    assert pred.tolist() == [0, 0, 0]


def test_threshold_bounds_and_bad_values():
    p = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]])
    assert C.assign(p, 0.0)[2].all()                                   # 0 keeps everything
    assert C.assign(p, 1.0)[2].tolist() == [False, True, False]        # 1: certainties only
    assert C.categories(p, ["a", "b"], 0.5) == ["a", "a", "b"]         # a tie at exactly t is kept (argmax: first)
    for bad in (-0.1, 1.01, "0.7", True, float("nan")):
        with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"): C.assign(p, bad)


def test_index_keeps_the_decision_made_in_float32(tmp_path, untrained, cars):
    "A float32 probability equal to 0.7 is kept, and the index says so even though 0.699999988 < 0.7 in float64."
    probs = torch.full((len(cars), 8), 0.3 / 7)
    probs[:, 0] = 0.7
    probs[1::2, 0], probs[1::2, 1] = 0.69, 0.3 / 7 + 0.01
    S.sort_images(untrained, cars, tmp_path / "s", threshold=0.7, probs=probs)
    rows = S.read_index(tmp_path / "s" / "index.csv")
    assert [r["kept"] for r in rows] == [i % 2 == 0 for i in range(len(cars))]
    assert rows[0]["probability"] < 0.7 and rows[0]["kept"] and rows[0]["category"] == "front"
    assert torch.tensor(rows[0]["probability"], dtype=torch.float32) == torch.tensor(0.7)  # 9 digits: exact float32
    assert rows[1]["category"] == C.UNKNOWN and rows[1]["predicted"] == "front"


# --- flips -----------------------------------------------------------------------------------------------------------

def test_mirror_map_of_both_class_lists():
    assert C.mirror_map(["front", "front-left", "left", "rear-left", "rear", "rear-right", "right", "front-right"]).tolist() \
        == [0, 7, 6, 5, 4, 3, 2, 1]
    # the car project's classes: no right side, so left views have no mirror and are never flipped
    assert C.mirror_map(["front", "front-left", "left", "rear", "rear-left", "rear-right", "other"]).tolist() \
        == [0, -1, -1, 3, 5, 4, 6]


def test_a_flip_always_comes_with_the_mirror_label():
    "Images bright on their left half; after augmentation the bright half says whether the image was flipped."
    classes = ["front", "front-left", "left", "rear", "rear-left", "rear-right", "other"]
    n = 700
    labels = torch.arange(n) % len(classes)
    x = torch.zeros(n, 3, 32, 32, dtype=torch.uint8)
    x[..., :16] = 255
    torch.manual_seed(0)
    xa, ya = C.Augment(32, classes, colour=0.0)(x, labels)
    flipped = xa[..., 16:].float().mean((1, 2, 3)) > xa[..., :16].float().mean((1, 2, 3))
    mirror = C.mirror_map(classes)
    assert torch.equal(ya, torch.where(flipped, mirror[labels], labels))
    assert not flipped[mirror[labels] < 0].any()                       # front-left and left: never flipped
    share = flipped[mirror[labels] >= 0].float().mean().item()
    assert 0.4 < share < 0.6                                           # the others: half the time
    xo, yo = C.Augment(32, classes, flip=False, colour=0.0)(x, labels)
    assert torch.equal(yo, labels) and (xo[..., :16].float().mean() > xo[..., 16:].float().mean())


# --- calibration -----------------------------------------------------------------------------------------------------

def test_reliability_ece_equals_torchmetrics():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3000, 5, generator=g) * 3
    z[:200, 0] = 60.0                                                  # float32 softmax of exactly 1.0
    probs = torch.softmax(z, 1)
    labels = torch.where(torch.rand(3000, generator=g) < 0.8, probs.argmax(1), torch.randint(0, 5, (3000,), generator=g))
    assert (probs.max(1).values == 1.0).sum() >= 200
    for bins in (5, 10, 15):
        rel = C.reliability(probs, labels, bins)
        assert abs(rel["ece"] - C.calibration_error(probs, labels, bins)) < 1e-6
        assert int(rel["count"].sum()) == 3000 and int(rel["count"][-1]) >= 200


def test_ece_by_hand_and_confusion_with_unknown():
    p = torch.tensor([[0.6, 0.4], [0.35, 0.65], [0.9, 0.1], [0.05, 0.95]])
    y = torch.tensor([0, 0, 0, 1])
    # bins [0.6, 0.7): |1/2 - 0.625|; [0.9, 1.0): |1 - 0.925|; each with 2 of 4 predictions
    assert abs(C.reliability(p, y)["ece"] - (0.5 * 0.125 + 0.5 * 0.075)) < 1e-6
    assert C.confusion(p, y).tolist() == [[2, 1], [0, 1]]
    assert C.confusion(p, y, 0.7).tolist() == [[1, 0, 2], [0, 1, 0]]
    m = C.evaluate(p, y, ["a", "b"], 0.7)
    assert (m["kept"], m[C.UNKNOWN], m["accuracy"], m["accuracy_kept"]) == (2, 2, 0.75, 1.0)
    assert m["per_class_accuracy"] == {"a": 0.6667, "b": 1.0}


class _Table(nn.Module):
    "A 'network' that looks up fixed logits by the image number written into its first two pixels."
    def __init__(self, table): super().__init__(); self.table = table
    def forward(self, x):
        u = ((x[:, 0, 0, :2] + 1) * 127.5).round().long()           # undo to_float
        return self.table[u[:, 0] * 256 + u[:, 1]]


def test_fit_temperature_recovers_a_known_temperature():
    g = torch.Generator().manual_seed(1)
    n, K, T0 = 4000, 4, 2.5
    z = torch.randn(n, K, generator=g) * 4
    y = torch.multinomial(torch.softmax(z / T0, 1), 1, generator=g).squeeze(1)   # labels drawn from softmax(z / T0)
    images = torch.zeros(n, 3, 4, 4, dtype=torch.uint8)
    images[:, 0, 0, 0], images[:, 0, 0, 1] = torch.arange(n) // 256, torch.arange(n) % 256
    clf = C.ViewClassifier(["a", "b", "c", "d"], image_size=4)
    clf.net = _Table(z)
    T = C.fit_temperature(clf, ImageSet(images, y, ["a", "b", "c", "d"]))
    assert abs(T - T0) < 0.15 and abs(clf.temperature.item() - T) < 1e-6
    torch.testing.assert_close(C.logits(clf, images), z / T)
    with pytest.warns(UserWarning, match="poorly determined"):          # no mistakes: T drifts toward 0
        C.fit_temperature(clf, ImageSet(images[:50], z[:50].argmax(1), ["a", "b", "c", "d"]))


# --- predictions -----------------------------------------------------------------------------------------------------

def test_predict_takes_uint8_floats_any_size(untrained, cars):
    p = C.predict(untrained, cars)
    assert p.shape == (96, 8) and p.dtype == torch.float32 and torch.allclose(p.sum(1), torch.ones(96))
    torch.testing.assert_close(C.predict(untrained, cars.images.float() / 127.5 - 1), p)
    assert C.predict(untrained, torch.zeros(2, 3, 48, 48)).shape == (2, 8)   # resized to 32
    assert untrained.training is False
    untrained.train()
    C.predict(untrained, cars.images[:4])
    assert untrained.training is True                                  # the mode it had is given back
    with pytest.raises(ValueError, match="N x 3 x H x W"): C.predict(untrained, torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="knows no 'top'"): C.view_agreement(untrained, cars.images, "top")


def test_training_is_seeded_and_learns_something(cars):
    a = C.train_classifier(cars, epochs=2, batch_size=32, seed=5, device="cpu", progress=False)
    b = C.train_classifier(cars, epochs=2, batch_size=32, seed=5, device="cpu", progress=False)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()): assert torch.equal(va, vb), k
    assert a.steps == 2 * 3 and len(a.history["loss"]) == 2 and not a.training
    with pytest.raises(ValueError, match="no labels"): C.train_classifier(ImageSet(cars.images), progress=False)
    with pytest.raises(ValueError, match="epochs must be a positive integer"): C.train_classifier(cars, epochs=0)
    with pytest.raises(ValueError, match="device"): C.train_classifier(cars, device="tpu", progress=False)


# --- backbones and checkpoints ---------------------------------------------------------------------------------------

def test_backbone_from_scratch_and_missing_weights(monkeypatch, tmp_path, cars):
    clf = C.ViewClassifier(cars.classes, image_size=32, arch="resnet18")
    assert clf(torch.zeros(2, 3, 32, 32)).shape == (2, 8)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(C.WeightsMissingError, match="resnet18-f37072fd.pth") as e:
        C.ViewClassifier(cars.classes, arch="resnet18", pretrained=True)
    assert isinstance(e.value, ValueError) and str(tmp_path / "empty") in str(e.value) and "pretrained=False" in str(e.value)
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").rglob("*.pth"))   # nothing fetched
    with pytest.raises(ValueError, match="neither 'small' nor a torchvision"): C.ViewClassifier(cars.classes, arch="resnet-18")
    path = C.save_classifier(clf, tmp_path / "rn.pt")                 # reloads without any ImageNet weights
    back = C.load_classifier(path)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(back(x), clf.eval()(x))


def test_checkpoint_round_trip_and_refusals(tmp_path, untrained, cars):
    untrained.temperature.fill_(0.4)
    untrained.history, untrained.steps = {"epoch": [1], "loss": [2.0], "accuracy": [0.1]}, 7
    path = C.save_classifier(untrained, tmp_path / "c.pt")
    back = C.load_classifier(path)
    assert back.classes == cars.classes and back.steps == 7 and back.temperature.item() == pytest.approx(0.4)
    assert back.history == untrained.history and not back.training
    torch.testing.assert_close(C.predict(back, cars), C.predict(untrained, cars))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]           # no temporary file left
    torch.save({"step": 1, "kind": C.CHECKPOINT_KIND, "x": SimpleNamespace(a=1)}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="pickled Python objects"): C.load_classifier(tmp_path / "pickled.pt")
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"): C.load_classifier(tmp_path / "cut.pt")
    save_checkpoint({"step": 3, "G": {}}, tmp_path / "gan.pt")
    with pytest.raises(CheckpointError, match="not a viewpoint classifier"): C.load_classifier(tmp_path / "gan.pt")
    with pytest.raises(CheckpointError, match="does not exist"): C.load_classifier(tmp_path / "none.pt")


def test_a_failed_save_keeps_the_old_checkpoint(tmp_path, untrained, monkeypatch):
    path = C.save_classifier(untrained, tmp_path / "c.pt")
    before = path.read_bytes()
    def boom(*a, **k): raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", boom)
    with pytest.raises(OSError, match="No space left"): C.save_classifier(untrained, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["c.pt"]


# --- sorting ---------------------------------------------------------------------------------------------------------

def _median_threshold(clf, data):
    "A threshold that sends about half of the images to unknown, whatever the (untrained) classifier predicts."
    return C.predict(clf, data).max(1).values.median().item()


@pytest.mark.parametrize("mode", ["symlink", "copy"])
def test_sort_never_moves_or_changes_the_sources(tmp_path, photos, untrained, mode):
    before = snapshot(photos)
    data = load_image_folder(photos, image_size=32, cache=False)
    t = _median_threshold(untrained, data)
    s = S.sort_images(untrained, data, tmp_path / "out", threshold=t, folders=mode)
    assert snapshot(photos) == before                                 # same names, bytes and times; nothing moved
    assert 0 < s[C.UNKNOWN] < 96 and sum(s["counts"].values()) == 96
    rows = S.read_index(tmp_path / "out" / "index.csv")
    assert [os.path.basename(r["file"]) for r in rows] == [os.path.basename(f) for f in data.files]
    entries = sorted((tmp_path / "out" / "folders").rglob("*.png"))
    assert len(entries) == 96
    for r in rows:
        e = tmp_path / "out" / "folders" / r["category"] / S._entry(r)
        assert e.is_symlink() == (mode == "symlink")
        assert e.read_bytes() == Path(r["file"]).read_bytes()
        if mode == "symlink": assert os.readlink(e) == r["file"] and os.path.isabs(r["file"])
    back = load_image_folder(tmp_path / "out" / "folders", image_size=32, cache=False)
    assert len(back) == 96 and set(back.classes) == {c for c, n in s["counts"].items() if n}
    json_meta = json.loads((tmp_path / "out" / "index.json").read_text())
    assert json_meta["threshold"] == t and json_meta["counts"] == s["counts"] and json_meta["folders"] == mode


def test_existing_output_is_not_clobbered(tmp_path, photos, untrained):
    data = load_image_folder(photos, image_size=32, cache=False)
    t = _median_threshold(untrained, data)
    out = tmp_path / "out"
    S.sort_images(untrained, data, out, threshold=t, folders="copy")
    state = snapshot(out)
    with pytest.raises(S.SortExistsError, match="overwrite=True"):
        S.sort_images(untrained, data, out, threshold=0.0, folders="copy")
    assert snapshot(out) == state                                     # refused before anything was written
    # the user adds notes to a category folder and edits one of the copies
    cat = next(p for p in (out / "folders").iterdir() if p.name != C.UNKNOWN)
    (cat / "my_notes.txt").write_text("mine")
    edited = next(cat.glob("*.png"))
    edited.write_bytes(edited.read_bytes() + b"edited")
    with pytest.raises(ValueError, match="is not what sort_images would put there"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S.sort_images(untrained, data, out, threshold=t, folders="copy", overwrite=True)
    assert (cat / "my_notes.txt").read_text() == "mine" and edited.read_bytes().endswith(b"edited")
    # with the edited copy moved away by its owner, a new threshold re-sorts; only sort_images' own files go
    edited.rename(tmp_path / "kept.png")
    with pytest.warns(UserWarning, match="did not make"):
        s = S.sort_images(untrained, data, out, threshold=0.0, folders="copy", overwrite=True)
    assert s[C.UNKNOWN] == 0 and not (out / "folders" / C.UNKNOWN).exists()
    assert (cat / "my_notes.txt").read_text() == "mine"
    assert len(list((out / "folders").rglob("*.png"))) == 96
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []   # no temporary files


def test_index_is_written_atomically(tmp_path, untrained, cars, monkeypatch):
    out = tmp_path / "out"
    S.sort_images(untrained, cars, out)
    before = (out / "index.csv").read_bytes()
    real_writer = csv.writer
    class Failing:
        def __init__(self, f): self.w, self.n = real_writer(f), 0
        def writerow(self, row):
            self.n += 1
            if self.n > 10: raise OSError(28, "No space left on device")
            self.w.writerow(row)
    monkeypatch.setattr(S.csv, "writer", Failing)
    with pytest.raises(OSError, match="No space left"):
        S.sort_images(untrained, cars, out, threshold=0.0, overwrite=True)
    assert (out / "index.csv").read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["index.csv", "index.json"]


def test_sorted_folders_inside_the_sources_are_refused(photos, untrained):
    data = load_image_folder(photos, image_size=32, cache=False)
    with pytest.raises(ValueError, match="inside the images' folder"):
        S.sort_images(untrained, data, photos / "sorted", folders="symlink")
    assert not (photos / "sorted").exists()
    S.sort_images(untrained, data, photos / "sorted")                 # an index alone is no image: allowed
    assert (photos / "sorted" / "index.csv").is_file()


def test_in_memory_datasets(tmp_path, untrained, cars):
    with pytest.raises(ValueError, match="folders='copy'"):
        S.sort_images(untrained, cars, tmp_path / "a", folders="symlink")
    s = S.sort_images(untrained, cars, tmp_path / "b", folders="copy", threshold=0.0)
    pngs = sorted((tmp_path / "b" / "folders").rglob("*.png"))
    assert len(pngs) == 96 and s[C.UNKNOWN] == 0
    img = load_image_folder(tmp_path / "b" / "folders", image_size=32, cache=False)
    first = next(p for p in pngs if p.name == "000000.png")
    assert torch.equal(img.images[[str(f) for f in img.files].index(str(first))], cars.images[0])


# --- reading the index back ------------------------------------------------------------------------------------------

def test_load_sorted_from_files_and_from_data(tmp_path, photos, untrained, cars):
    data = load_image_folder(photos, image_size=32, cache=False)
    s = S.sort_images(untrained, data, tmp_path / "out", threshold=0.0)
    index = tmp_path / "out" / "index.csv"
    cat = max(s["counts"], key=s["counts"].get)
    one = S.load_sorted(index, cat, image_size=32)
    assert len(one) == s["counts"][cat] and one.classes == [cat] and (one.labels == 0).all()
    where = {os.path.abspath(f): i for i, f in enumerate(data.files)}
    for f, img in zip(one.files, one.images): assert torch.equal(img, data.images[where[f]])
    big = S.load_sorted(index, cat, image_size=64)                     # any size: read from the files again
    assert big.images.shape[1:] == (3, 64, 64) and len(big) == len(one)
    same = S.load_sorted(index, cat, data=data)                        # matched by path
    assert torch.equal(same.images, one.images)
    shuffled = C.subset(data, torch.randperm(len(data)))               # in another order: still matched by path
    got = S.load_sorted(index, cat, data=shuffled)
    assert sorted(got.files) == sorted(one.files)
    for f, img in zip(got.files, got.images): assert torch.equal(img, data.images[where[f]])
    with pytest.raises(ValueError, match=r"no images in category 'top': it has .*\(\d+\)"): S.load_sorted(index, "top")
    with pytest.raises(ValueError, match="does not exist: run sort_images"): S.load_sorted(tmp_path / "x.csv", cat)
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an index written by sort_images"): S.load_sorted(tmp_path / "other.csv", cat)
    # an in-memory dataset: the same images must be passed back
    S.sort_images(untrained, cars, tmp_path / "mem", threshold=0.0)
    mem = S.read_index(tmp_path / "mem" / "index.csv")
    cat2 = mem[0]["category"]
    got = S.load_sorted(tmp_path / "mem" / "index.csv", cat2, data=cars)
    assert torch.equal(got.images, cars.images[[r["index"] for r in mem if r["category"] == cat2]])
    with pytest.raises(ValueError, match="pass it as data="): S.load_sorted(tmp_path / "mem" / "index.csv", cat2)
    with pytest.raises(ValueError, match="pass the dataset the index was made from"):
        S.load_sorted(tmp_path / "mem" / "index.csv", cat2, data=C.subset(cars, range(10)))


def test_load_sorted_skips_files_deleted_since(tmp_path, photos, untrained):
    data = load_image_folder(photos, image_size=32, cache=False)
    S.sort_images(untrained, data, tmp_path / "out", threshold=0.0)
    rows = S.read_index(tmp_path / "out" / "index.csv")
    cat = rows[0]["category"]
    n = sum(r["category"] == cat for r in rows)
    Path(rows[0]["file"]).unlink()
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        got = S.load_sorted(tmp_path / "out" / "index.csv", cat, image_size=32)
    assert len(got) == n - 1 and len(got.skipped) == 1


# --- the experiment notebook -----------------------------------------------------------------------------------------

def test_classify_views_smoke_on_toycars(smoke_env, tmp_path):
    run_nb(NBS / "classify_views.ipynb", tmp_path / "r.ipynb", tmp_path, out_dir="o", device="cpu")
    out = tmp_path / "o"
    m = json.loads((out / "metrics.json").read_text())
    assert m["smoke"] is True and m["n_images"] == 240 and m["n_labelled"] == 96 and m["n_scored"] == 144
    assert (m["n_train"], m["n_calibration"]) == (72, 24) and m["steps"] == 2 * (72 // 16)
    assert sum(m["counts"].values()) == 240 and m["kept"] + m["unknown"] == 240
    assert 0 <= m["unknown_scored"] <= 144 and 0 <= m["accuracy"] <= 1 and m["threshold"] == 0.7
    rows = S.read_index(out / "index.csv")
    assert len(rows) == 240 and all(r["file"] == "" for r in rows)
    for f in ["classifier.pt", "index.json", "confusion.png", "reliability.png"]: assert (out / f).is_file(), f
    assert C.load_classifier(out / "classifier.pt").classes == m["classes"]


def test_classify_views_with_a_hand_labelled_folder(smoke_env, tmp_path):
    "The car project's layout: hand-labelled images in category folders, and a pile of photos to sort, by links."
    cars = load_dataset("toycars", image_size=32, n=120, seed=7)
    for i in range(64):                                               # 8 of each viewpoint, by hand
        save_png(cars.images[i], tmp_path / "labelled" / cars.classes[cars.labels[i]] / f"{i}.png")
    for i in range(64, 120): save_png(cars.images[i], tmp_path / "pile" / f"photo_{i}.png")
    before = snapshot(tmp_path / "pile")
    run_nb(NBS / "classify_views.ipynb", tmp_path / "r.ipynb", tmp_path, dataset="pile", labelled="labelled",
           folders="symlink", out_dir="o", device="cpu")
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["n_images"] == 56 and m["n_labelled"] == 64 and "accuracy" not in m   # the pile has no labels to score
    assert sorted(m["classes"]) == sorted(cars.classes)
    assert len(list((tmp_path / "o" / "folders").rglob("*.png"))) == 56
    assert snapshot(tmp_path / "pile") == before
    front = S.load_sorted(tmp_path / "o" / "index.csv", S.read_index(tmp_path / "o" / "index.csv")[0]["category"], 32)
    assert len(front) >= 1


@pytest.mark.parametrize("params, message", [
    ({"threshold": 1.5}, "threshold must be a number in [0, 1]"),
    ({"folders": "move"}, "folders 'move' is not one of"),
    ({"labelled": "no_such_folder"}, "category subfolders"),
    ({"calibration": 1.0}, "calibration must be in [0, 1)"),
    ({"arch": "resnet-18"}, "neither 'small' nor a torchvision"),
])
def test_bad_classify_parameters(smoke_env, tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as e:
        run_nb(NBS / "classify_views.ipynb", tmp_path / "bad.ipynb", tmp_path, out_dir="o", device="cpu", **params)
    assert e.value.ename in ("ValueError", "WeightsMissingError") and message in e.value.evalue
