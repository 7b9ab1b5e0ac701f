"""What chapters 16 and 16a cannot check: saves and index writes that fail halfway (patched writers), and the
classify_views experiment run by papermill (toycars, a hand-labelled folder, bad parameters)."""
import csv
import hashlib
import json
import os
from pathlib import Path

import papermill as pm
import pytest
import torch

from conftest import NBS
from test_experiments import run_nb
from gan_notes import classify as C
from gan_notes import sorting as S
from gan_notes.core import save_png
from gan_notes.catalogue import load_dataset


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


# --- a failed save ---------------------------------------------------------------------------------------------------

def test_a_failed_save_keeps_the_old_checkpoint(tmp_path, untrained, monkeypatch):
    path = C.save_classifier(untrained, tmp_path / "c.pt")
    before = path.read_bytes()
    def boom(*a, **k): raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", boom)
    with pytest.raises(OSError, match="No space left"): C.save_classifier(untrained, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["c.pt"]


# --- a failed index write --------------------------------------------------------------------------------------------

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
