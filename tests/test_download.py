"""What the download and fetch chapters cannot check: an interrupted unpacking (a patched zipfile), Kaggle's own
clients (a stand-in kagglehub module, a `kaggle` script on the PATH) and the command line in its own process."""
import hashlib
import io
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_notes import download as dl
from gan_notes import fetch
from gan_notes.testing import serve_folder

ROOT = Path(__file__).resolve().parents[1]
TOKEN = ("ada", "s3cret")


# ---------------------------------------------------------------- fixtures: archives in the sources' real layouts

def jpg(seed: int, w: int = 24, h: int = 18, fmt: str = "JPEG") -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def zip_of(path: Path, files: dict, symlinks: dict = {}) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items(): zf.writestr(name, data)
        for name, target in symlinks.items():
            info = zipfile.ZipInfo(name)
            info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    "Decoded fixture images are cached in tmp_path, not in the user's cache."
    monkeypatch.setenv("GAN_NOTES_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def site(tmp_path):
    "A mirror folder: a Kaggle-style OWNER/NAME zip of Stanford Cars and a GitHub-style archive of the eyes."
    s = tmp_path / "site"
    zip_of(s / "jessicali9530" / "stanford-cars-dataset",
           {**{f"cars_train/cars_train/{i:05d}.jpg": jpg(i) for i in range(1, 6)},
            **{f"cars_test/cars_test/{i:05d}.jpg": jpg(10 + i) for i in range(1, 4)},
            "cars_annos.mat": b"MATLAB 5.0 MAT-file (stand-in)"})
    zip_of(s / "gh" / "appl-eye-gan-main.zip",
           {**{f"appl-eye-gan-main/training_eye/eye{1 + i % 3}_scene{i:05d}.png": jpg(60 + i, fmt="PNG") for i in range(7)},
            **{f"appl-eye-gan-main/training_generated/run1/render_{i}.png": jpg(80 + i, fmt="PNG") for i in range(4)},
            "appl-eye-gan-main/README.md": b"# appl-eye-gan\n", "appl-eye-gan-main/train.py": b"print()\n"})
    return s


@pytest.fixture
def kaggle_token(monkeypatch):
    "A Kaggle token in the environment, and Kaggle's own URL (no mirror)."
    monkeypatch.setenv("KAGGLE_USERNAME", TOKEN[0]); monkeypatch.setenv("KAGGLE_KEY", TOKEN[1])
    monkeypatch.delenv("GAN_NOTES_KAGGLE_URL", raising=False)


@pytest.fixture
def sources_env(site, kaggle_token, monkeypatch, tmp_path):
    "Kaggle and GitHub pointed at local servers, a token in the environment, data in tmp_path/data."
    with serve_folder(site, auth=TOKEN) as kaggle, serve_folder(site) as github:
        monkeypatch.setenv("GAN_NOTES_KAGGLE_URL", kaggle.url)
        monkeypatch.setenv("GAN_NOTES_EYES_URL", f"{github.url}/gh/appl-eye-gan-main.zip")
        monkeypatch.setenv("GAN_NOTES_DATA", str(tmp_path / "data"))
        yield kaggle


def sha(path) -> str: return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- safe extraction: a failure halfway

def test_interrupted_extraction_leaves_no_half_folder(tmp_path, monkeypatch):
    z = zip_of(tmp_path / "big.zip", {f"images/{i}.jpg": jpg(i) for i in range(5)})
    real_extract, calls = zipfile.ZipFile.extract, []
    def failing(self, member, path=None, pwd=None):
        calls.append(member)
        if len(calls) == 3: raise OSError(28, "No space left on device")
        return real_extract(self, member, path, pwd)
    monkeypatch.setattr(zipfile.ZipFile, "extract", failing)
    with pytest.raises(OSError, match="No space left"):
        fetch.safe_extract(z, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.zip"]   # no out/, no hidden .out.*.partial


# ---------------------------------------------------------------- Kaggle's own clients

def test_kagglehub_is_used_when_installed(kaggle_token, tmp_path, monkeypatch):
    "kagglehub's documented call, dataset_download(handle) -> folder, played by a module of the same name."
    cached = tmp_path / "kagglehub-cache" / "splcher" / "animefacedataset" / "versions" / "3"
    (cached / "images").mkdir(parents=True)
    for i in range(4): (cached / "images" / f"{i}_2010.jpg").write_bytes(jpg(i, 96, 96))
    mods = tmp_path / "mods"; mods.mkdir()
    (mods / "kagglehub.py").write_text(f"calls = []\ndef dataset_download(handle):\n    calls.append(handle)\n    return {str(cached)!r}\n")
    monkeypatch.syspath_prepend(str(mods))
    monkeypatch.delitem(sys.modules, "kagglehub", raising=False)
    try:
        data = dl.load_anime(32, root=tmp_path / "anime", download=True, progress=False)
        assert sys.modules["kagglehub"].calls == ["splcher/animefacedataset"]
    finally:
        sys.modules.pop("kagglehub", None)
    assert len(data) == 4 and (tmp_path / "anime" / "kagglehub").resolve() == cached   # linked, not copied


def test_kaggle_command_is_used_when_on_the_path(site, kaggle_token, tmp_path, monkeypatch):
    "The CLI's documented call, `kaggle datasets download OWNER/NAME -p DIR` -> DIR/NAME.zip, played by a script."
    monkeypatch.setattr(dl, "_kagglehub_available", lambda: False)
    bindir = tmp_path / "bin"; bindir.mkdir()
    (bindir / "kaggle").write_text(f"#!{sys.executable}\nimport shutil, sys\nargs = sys.argv[1:]\n"
                                   "assert args[:2] == ['datasets', 'download'], args\n"
                                   "ref, out = args[2], args[args.index('-p') + 1]\n"
                                   f"shutil.copy({str(site)!r} + '/' + ref, out + '/' + ref.split('/')[1] + '.zip')\n")
    (bindir / "kaggle").chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ["PATH"])
    root = dl.fetch("cars", tmp_path / "cars", progress=False)
    assert len(dl.load_cars(32, root=root, progress=False)) == 8
    assert fetch.recorded_sha256(root / "checksums.json", "stanford-cars-dataset.zip") == sha(site / "jessicali9530/stanford-cars-dataset")
    assert sorted(p.name for p in root.iterdir()) == ["checksums.json", "stanford-cars-dataset"]


# ---------------------------------------------------------------- the command line, in its own process

def test_command_line(sources_env, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "gan_notes.download", "eyes", "--root", str(tmp_path / "e"), "--quiet"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "eyes: ready (real: 7 images" in r.stdout and "synthetic: 4 images" in r.stdout
    env.update(KAGGLE_USERNAME="", KAGGLE_KEY="", KAGGLE_CONFIG_DIR=str(tmp_path / "none"))
    r = subprocess.run([sys.executable, "-m", "gan_notes.download", "cars", "--quiet"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1 and "needs a Kaggle API token" in r.stderr and "Traceback" not in r.stderr
    assert sources_env.requests == []                                   # nothing was tried without a token
