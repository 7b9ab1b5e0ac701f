import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"


def pytest_configure(config):
    config.addinivalue_line("markers", "drawings: needs the Debian packages of the drawing datasets; skipped, with the reason, "
                                       "where `python3 dev.py test` could not install them (GAN_NOTES_NO_DRAWINGS)")


def pytest_collection_modifyitems(config, items):
    why = os.environ.get("GAN_NOTES_NO_DRAWINGS")   # set by dev.py's set-up step only when it could not install them
    if why:
        for item in items:
            if "drawings" in item.keywords: item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture
def smoke_env(monkeypatch, tmp_path):
    "The environment of the test command: experiments shrink to seconds; decoded folders cache in tmp_path."
    monkeypatch.setenv("GAN_NOTES_SMOKE", "1")
    monkeypatch.setenv("GAN_NOTES_CACHE", str(tmp_path / "folder-cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # papermill's kernel is started as plain `python`: make it this interpreter
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return os.environ


@pytest.fixture
def image_folder(tmp_path):
    "A folder of 24 odd images: several sizes, modes and formats, nested, plus files that are not images."
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    d = tmp_path / "my images"
    (d / "nested").mkdir(parents=True)
    for i in range(24):
        w, h = int(rng.integers(20, 90)), int(rng.integers(20, 90))
        arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        im = Image.fromarray(arr)
        if i % 4 == 1: im = im.convert("L")
        if i % 4 == 2: im = im.convert("RGBA")
        ext = ["png", "jpg", "png", "bmp"][i % 4]
        (d / ("nested" if i % 3 == 0 else ".") / f"img_{i}.{ext}").parent.mkdir(exist_ok=True)
        im.save(d / ("nested" if i % 3 == 0 else ".") / f"img_{i}.{ext}")
    (d / "readme.txt").write_text("not an image")
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return d
