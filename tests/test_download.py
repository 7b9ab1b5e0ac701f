"Downloads, checksums, resumption, safe unpacking and the dataset loaders, against a server on 127.0.0.1 only."
import hashlib
import http.client
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_notes import download as dl
from gan_notes import fetch
from gan_notes.testing import serve_folder
from gan_notes.catalogue import load_dataset

ROOT = Path(__file__).resolve().parents[1]
TOKEN = ("ada", "s3cret")
EYES_TEST_DATA = next((p for p in [ROOT.parent / "shared" / "data" / "eyes", Path("/work/shared/data/eyes")]
                       if p.is_dir()), None)


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


def tar_of(path: Path, members: list) -> Path:
    "members: (name, bytes) for files, or a ready TarInfo."
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo): tf.addfile(m)
            else:
                ti = tarfile.TarInfo(m[0]); ti.size = len(m[1]); tf.addfile(ti, io.BytesIO(m[1]))
    return path


def tarinfo(name: str, type_, linkname: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name); ti.type = type_; ti.linkname = linkname
    return ti


CC_NAMES = ["Acura_ILX_2013_28_16_110_15_4_70_55_179_39_FWD_5_4_4dr_aWg.jpg",
            "BMW_3-Series_2016_33_17_180_20_4_71_56_182_27_RWD_5_4_4dr_Kq0.jpg",
            "Chevrolet_Express Cargo_2019_33_16_285_43_6_79_84_224_nan_RWD_2_3_Van_b7T.jpg",
            "Ford_F-150_2019_28_17_290_33_6_80_77_209_20_RWD_6_4_Pickup_Zz9.jpg",
            "Mazda_MX-5 Miata_2017_25_16_155_20_4_68_49_154_29_RWD_2_2_Convertible_pQ1.jpg",
            "Acura_MDX_2014_42_18_290_35_6_77_67_193_20_FWD_7_4_SUV_oiQ.jpg",
            "DSC_0042.jpg"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    "Decoded fixture images are cached in tmp_path, not in the user's cache."
    monkeypatch.setenv("GAN_NOTES_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def site(tmp_path):
    "A mirror folder: Kaggle-style OWNER/NAME zips and a GitHub-style archive of the eyes."
    s = tmp_path / "site"
    zip_of(s / "jessicali9530" / "stanford-cars-dataset",
           {**{f"cars_train/cars_train/{i:05d}.jpg": jpg(i) for i in range(1, 6)},
            **{f"cars_test/cars_test/{i:05d}.jpg": jpg(10 + i) for i in range(1, 4)},
            "cars_annos.mat": b"MATLAB 5.0 MAT-file (stand-in)"})
    zip_of(s / "prondeau" / "the-car-connection-picture-dataset", {n: jpg(20 + i) for i, n in enumerate(CC_NAMES)})
    zip_of(s / "splcher" / "animefacedataset", {f"images/{i}_2005.jpg": jpg(40 + i, 96, 96) for i in range(6)})
    zip_of(s / "gh" / "appl-eye-gan-main.zip",
           {**{f"appl-eye-gan-main/training_eye/eye{1 + i % 3}_scene{i:05d}.png": jpg(60 + i, fmt="PNG") for i in range(7)},
            **{f"appl-eye-gan-main/training_generated/run1/render_{i}.png": jpg(80 + i, fmt="PNG") for i in range(4)},
            "appl-eye-gan-main/README.md": b"# appl-eye-gan\n", "appl-eye-gan-main/train.py": b"print()\n"})
    return s


@pytest.fixture
def server(site):
    "Kaggle's stand-in: wants the token."
    with serve_folder(site, auth=TOKEN) as srv:
        yield srv


@pytest.fixture
def github(site):
    "GitHub's stand-in: no token."
    with serve_folder(site) as srv:
        yield srv


@pytest.fixture
def kaggle_token(monkeypatch):
    "A Kaggle token in the environment, and Kaggle's own URL (no mirror)."
    monkeypatch.setenv("KAGGLE_USERNAME", TOKEN[0]); monkeypatch.setenv("KAGGLE_KEY", TOKEN[1])
    monkeypatch.delenv("GAN_NOTES_KAGGLE_URL", raising=False)


@pytest.fixture
def sources_env(server, github, kaggle_token, monkeypatch, tmp_path):
    "Kaggle and GitHub pointed at the local servers, a token in the environment, data in tmp_path/data."
    monkeypatch.setenv("GAN_NOTES_KAGGLE_URL", server.url)
    monkeypatch.setenv("GAN_NOTES_EYES_URL", f"{github.url}/gh/appl-eye-gan-main.zip")
    monkeypatch.setenv("GAN_NOTES_DATA", str(tmp_path / "data"))
    return server


@pytest.fixture
def blob(tmp_path):
    "A 256 kB random file in its own served folder."
    d = tmp_path / "files"; d.mkdir()
    data = np.random.default_rng(1).integers(0, 256, 256_000, dtype=np.uint8).tobytes()
    (d / "blob.bin").write_bytes(data)
    return d, data, hashlib.sha256(data).hexdigest()


def sha(path) -> str: return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- the server itself answers ranges as HTTP says

def test_mirror_answers_ranges(blob):
    folder, data, _ = blob
    with serve_folder(folder) as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        def get(headers):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/blob.bin", headers=headers)
            r = c.getresponse(); body = r.read(); c.close()
            return r.status, r.getheader("Content-Range"), body
        assert get({}) == (200, None, data)
        assert get({"Range": "bytes=1000-"}) == (206, f"bytes 1000-{len(data) - 1}/{len(data)}", data[1000:])
        assert get({"Range": "bytes=10-19"}) == (206, f"bytes 10-19/{len(data)}", data[10:20])
        assert get({"Range": f"bytes={len(data)}-"})[:2] == (416, f"bytes */{len(data)}")


# ---------------------------------------------------------------- download: resumption, checksums, errors

def test_dropped_connection_is_resumed_with_range(blob, tmp_path):
    folder, data, digest = blob
    with serve_folder(folder, drop_after=100_000, drops=2) as srv:
        out = fetch.download(f"{srv.url}/blob.bin", tmp_path / "out" / "blob.bin", sha256=digest, wait=0, timeout=5, progress=False)
    assert [r["range"] for r in srv.requests] == [None, "bytes=100000-", "bytes=200000-"]
    assert sha(out) == digest and not out.with_name("blob.bin.part").exists()


def test_interrupted_download_resumes_on_the_next_call(blob, tmp_path):
    folder, data, digest = blob
    dest = tmp_path / "out" / "blob.bin"
    part = dest.with_name("blob.bin.part")
    with serve_folder(folder, drop_after=64_000) as srv:
        with pytest.raises(fetch.DownloadError, match="Run again to resume"):
            fetch.download(f"{srv.url}/blob.bin", dest, retries=0, timeout=5, progress=False)
        assert not dest.exists() and part.stat().st_size == 64_000      # a partial file never passes as complete
        assert part.read_bytes() == data[:64_000]
        fetch.download(f"{srv.url}/blob.bin", dest, sha256=digest, retries=0, timeout=5, progress=False)
    assert srv.requests[-1]["range"] == "bytes=64000-"
    assert sha(dest) == digest and not part.exists()


def test_server_without_range_support_restarts_cleanly(blob, tmp_path):
    folder, data, digest = blob
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(data[:5000])
    with serve_folder(folder, ignore_range=True) as srv:
        fetch.download(f"{srv.url}/blob.bin", dest, timeout=5, progress=False)
    assert srv.requests[0]["range"] == "bytes=5000-"                    # asked for the rest, got the whole file
    assert dest.read_bytes() == data                                    # not 5000 bytes + the whole file


def test_complete_part_file_is_finished_without_downloading(blob, tmp_path):
    folder, data, digest = blob
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(data)                  # interrupted just before the rename
    with serve_folder(folder) as srv:
        fetch.download(f"{srv.url}/blob.bin", dest, sha256=digest, timeout=5, progress=False)
    assert srv.requests[0]["range"] == f"bytes={len(data)}-" and sha(dest) == digest


def test_checksum_mismatch_leaves_no_file(blob, tmp_path):
    folder, data, digest = blob
    dest = tmp_path / "blob.bin"
    with serve_folder(folder) as srv:
        with pytest.raises(fetch.ChecksumError) as e:
            fetch.download(f"{srv.url}/blob.bin", dest, sha256="ab" * 32, timeout=5, progress=False)
    assert f"expected {'ab' * 32}, got {digest}" in str(e.value)
    assert not dest.exists() and not dest.with_name("blob.bin.part").exists()


def test_first_download_is_recorded_and_later_copies_checked(blob, tmp_path):
    folder, data, digest = blob
    sums, dest = tmp_path / "d" / "checksums.json", tmp_path / "d" / "blob.bin"
    with serve_folder(folder) as srv:
        url = f"{srv.url}/blob.bin"
        fetch.download(url, dest, checksums=sums, timeout=5, progress=False)
        rec = json.loads(sums.read_text())["blob.bin"]
        assert (rec["sha256"], rec["size"], rec["url"]) == (digest, len(data), url)
        dest.unlink()
        (folder / "blob.bin").write_bytes(data[:-1] + b"\x00")           # the source changes
        with pytest.raises(fetch.ChecksumError, match="remove its entry from"):
            fetch.download(url, dest, checksums=sums, timeout=5, progress=False)
        assert not dest.exists() and not dest.with_name("blob.bin.part").exists()
    dest.write_bytes(b"a copy put there by hand, but a wrong one")
    with pytest.raises(fetch.ChecksumError, match=f"expected {digest}"):
        fetch.download(url, dest, checksums=sums, progress=False)           # checked without any network
    assert dest.read_bytes().startswith(b"a copy")                      # and not deleted: it is the user's


def test_unreachable_server_names_url_and_place(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    dest = tmp_path / "x" / "blob.bin"
    with pytest.raises(fetch.DownloadError) as e:
        fetch.download(f"http://127.0.0.1:{port}/blob.bin", dest, timeout=5, progress=False)
    msg = str(e.value)
    assert f"could not reach http://127.0.0.1:{port}/blob.bin" in msg and f"put it at {dest}" in msg
    assert not dest.exists()


def test_missing_file_is_a_clear_http_error(blob, tmp_path):
    with serve_folder(blob[0]) as srv:
        with pytest.raises(fetch.DownloadError, match="HTTP 404: there is no such file"):
            fetch.download(f"{srv.url}/nope.zip", tmp_path / "nope.zip", timeout=5, progress=False)


# ---------------------------------------------------------------- safe extraction

def _unsafe_archives(d: Path, outside: Path):
    "Each archive tries to write `outside` (an absolute path beside the target)."
    ok = ("ok.txt", b"fine")
    return {
        "zip absolute": zip_of(d / "abs.zip", {"ok.txt": b"1", str(outside): b"x"}),
        "zip dotdot": zip_of(d / "dd.zip", {"ok.txt": b"1", "a/../../outside.txt": b"x"}),
        "zip symlink out": zip_of(d / "sl.zip", {"ok.txt": b"1"}, {"link": "../../.."}),
        "tar absolute": tar_of(d / "abs.tgz", [ok, (str(outside), b"x")]),
        "tar dotdot": tar_of(d / "dd.tgz", [ok, ("../outside.txt", b"x")]),
        "tar symlink absolute": tar_of(d / "sla.tgz", [tarinfo("link", tarfile.SYMTYPE, str(outside.parent)), ("link/outside.txt", b"x")]),
        "tar symlink out": tar_of(d / "slo.tgz", [ok, tarinfo("up", tarfile.SYMTYPE, "../..")]),
        "tar hardlink out": tar_of(d / "hl.tgz", [ok, tarinfo("hard", tarfile.LNKTYPE, "../../etc/passwd")]),
        "tar device": tar_of(d / "dev.tgz", [ok, tarinfo("null", tarfile.CHRTYPE)]),
        "tar through a link": tar_of(d / "thr.tgz", [ok, tarinfo("a", tarfile.SYMTYPE, "."), tarinfo("a/b", tarfile.SYMTYPE, "../outside.txt")]),
    }


def test_unsafe_archives_are_refused_and_write_nothing(tmp_path):
    arcs, work = tmp_path / "arcs", tmp_path / "work"
    arcs.mkdir(); work.mkdir()
    outside = tmp_path / "outside.txt"
    for what, archive in _unsafe_archives(arcs, outside).items():
        with pytest.raises(fetch.UnsafeArchiveError, match="Nothing was written") as e:
            fetch.safe_extract(archive, work / "target")
        assert archive.name in str(e.value), what
        assert list(work.iterdir()) == [], what                         # no target, no temporary folder
        assert not outside.exists() and not (tmp_path / "outside.txt").exists(), what
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arcs", "work"]


def test_safe_archives_unpack_whole(tmp_path):
    z = zip_of(tmp_path / "ok.zip", {"top/a.txt": b"a", "top/sub/b.txt": b"b"}, {"top/sub/link": "../a.txt"})
    t = tar_of(tmp_path / "ok.tgz", [("top/a.txt", b"a"), tarinfo("top/sub", tarfile.DIRTYPE), tarinfo("top/ln", tarfile.SYMTYPE, "a.txt")])
    dz, dt = fetch.safe_extract(z, tmp_path / "z"), fetch.safe_extract(t, tmp_path / "t")
    assert (dz / "top/sub/link").read_bytes() == b"a" and (dz / "top/sub/b.txt").read_bytes() == b"b"
    assert (dt / "top/ln").is_symlink() and (dt / "top/ln").read_bytes() == b"a"
    with pytest.raises(FileExistsError, match="already exists"):
        fetch.safe_extract(z, dz)


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


def test_not_an_archive(tmp_path):
    page = tmp_path / "data.zip"
    page.write_text("<html>Please sign in</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar archive"):
        fetch.safe_extract(page, tmp_path / "out")


# ---------------------------------------------------------------- Kaggle

def test_missing_kaggle_credentials_say_what_to_do(sources_env, monkeypatch, tmp_path):
    monkeypatch.delenv("KAGGLE_USERNAME"); monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))
    with pytest.raises(dl.KaggleCredentialsError) as e:
        load_dataset("anime", 32, download=True, progress=False)
    msg = str(e.value)
    token = tmp_path / "kaggle-config" / "kaggle.json"
    assert "splcher/animefacedataset needs a Kaggle API token" in msg
    assert f"save the kaggle.json it gives you as {token}" in msg and "KAGGLE_USERNAME and KAGGLE_KEY" in msg
    assert f"unpack the zip into {tmp_path / 'data' / 'anime'}" in msg
    assert sources_env.requests == []                                   # nothing was tried without a token


def test_kaggle_json_is_read_and_sent(sources_env, monkeypatch, tmp_path):
    monkeypatch.delenv("KAGGLE_USERNAME"); monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "cfg"))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "kaggle.json").write_text(json.dumps({"username": "ada", "key": "wrong"}))
    with pytest.raises(fetch.DownloadError, match="HTTP 401: the server refused the credentials"):
        dl.fetch("anime", progress=False, timeout=5)
    assert sources_env.requests[0]["authorization"] == fetch.basic_auth("ada", "wrong")["Authorization"]
    assert sources_env.requests[0]["path"] == "/splcher/animefacedataset"
    (tmp_path / "cfg" / "kaggle.json").write_text(json.dumps({"username": "ada", "key": "s3cret"}))
    assert len(load_dataset("anime", 32, download=True, progress=False)) == 6


def test_kaggle_url_can_be_given_as_a_parameter(server, kaggle_token, tmp_path):
    root = dl.fetch("anime", tmp_path / "anime", kaggle_url=server.url + "/", progress=False, timeout=5)
    assert len(dl.load_anime(32, root=root, progress=False)) == 6


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


# ---------------------------------------------------------------- each dataset: download + checksum + load

@pytest.mark.parametrize("name, kw, n, archive_path", [
    ("cars", {}, 8, "jessicali9530/stanford-cars-dataset"),
    ("carconnection", {}, len(CC_NAMES), "prondeau/the-car-connection-picture-dataset"),
    ("anime", {}, 6, "splcher/animefacedataset"),
    ("eyes", {"domain": "both"}, 11, "gh/appl-eye-gan-main.zip"),
])
def test_download_verify_and_load(sources_env, github, site, tmp_path, name, kw, n, archive_path):
    requests = lambda: sources_env.requests + github.requests
    with pytest.raises(dl.DatasetNotFound, match=f"python -m gan_notes.download {name}"):
        load_dataset(name, 32, **kw)
    assert requests() == []
    data = load_dataset(name, 32, download=True, progress=False, **kw)
    assert data.images.shape == (n, 3, 32, 32) and data.images.dtype == torch.uint8
    root = tmp_path / "data" / name
    sums = json.loads((root / "checksums.json").read_text())
    (entry,) = sums.values()
    assert entry["sha256"] == sha(site / archive_path)                 # recorded on first use
    assert not list(root.glob("*.zip")) and not list(root.rglob("*.part"))   # archive unpacked, then removed
    again = load_dataset(name, 32, progress=False, **kw)                # now on disk: no request
    assert len(requests()) == 1 and torch.equal(again.images, data.images)


def test_cars_splits_and_layouts(sources_env, tmp_path):
    assert len(load_dataset("cars", 32, split="train", download=True, progress=False)) == 5
    assert len(load_dataset("cars", 32, split="test", progress=False)) == 3
    with pytest.raises(ValueError, match="split must be"):
        load_dataset("cars", 32, split="val")
    tv = tmp_path / "tv" / "stanford_cars"                              # torchvision's layout
    for split, k in (("cars_train", 4), ("cars_test", 2)):
        (tv / split).mkdir(parents=True)
        for i in range(k): (tv / split / f"{i:05d}.jpg").write_bytes(jpg(i))
    assert [len(dl.load_cars(32, root=tmp_path / "tv", split=s, progress=False)) for s in ("train", "test", "all")] == [4, 2, 6]
    plain = tmp_path / "plain"; plain.mkdir()
    for i in range(3): (plain / f"car{i}.jpg").write_bytes(jpg(i))
    assert len(dl.load_cars(32, root=plain, progress=False)) == 3
    with pytest.raises(ValueError, match="without a train/test split"):
        dl.load_cars(32, root=plain, split="train")


def test_carconnection_labels_from_file_names(sources_env):
    data = load_dataset("carconnection", 32, download=True, progress=False)
    assert data.classes == ["4dr", "Convertible", "Pickup", "SUV", "Van", "unknown"]
    by_file = {Path(f).name: data.classes[int(l)] for f, l in zip(data.files, data.labels)}
    assert by_file["Mazda_MX-5 Miata_2017_25_16_155_20_4_68_49_154_29_RWD_2_2_Convertible_pQ1.jpg"] == "Convertible"
    assert by_file["DSC_0042.jpg"] == "unknown"                         # loaded all the same
    van = next(c for c in data.meta["cars"] if c and c["body_style"] == "Van")
    assert (van["make"], van["model"], van["year"], van["mpg"], van["passengers"]) == ("Chevrolet", "Express Cargo", 2019, None, 2)
    assert len(data.meta["cars"]) == len(data) and sum(c is None for c in data.meta["cars"]) == 1


@pytest.mark.parametrize("name, expect", [
    ("Acura_ILX_2013_28_16_110_15_4_70_55_179_39_FWD_5_4_4dr_aWg.jpg", ("Acura", "ILX", 2013, 28, 110, "FWD", "4dr")),
    ("Ram_1500_2019_33_18_305_36_6_79_77_229_18_4WD_5_4_Pickup_Xy1.jpg", ("Ram", "1500", 2019, 33, 305, "4WD", "Pickup")),
    ("Land Rover_Range_Rover_2018_nan_20_380_30_6_nan_nan_196_nan_AWD_5_4_SUV_k2.jpg", ("Land Rover", "Range_Rover", 2018, None, 380, "AWD", "SUV")),
])
def test_parse_carconnection_names(name, expect):
    p = dl.parse_carconnection_name(name)
    assert (p["make"], p["model"], p["year"], p["msrp"], p["horsepower"], p["drivetrain"], p["body_style"]) == expect


@pytest.mark.parametrize("name", ["IMG_0001.jpg", "Acura_ILX_13_28_16_110_15_4_70_55_179_39_FWD_5_4_4dr_aWg.jpg",
                                  "Acura_ILX_2013_28_16_110_15_4_70_55_179_39_FWD_5_4_nan_aWg.jpg", "Acura_2013.jpg"])
def test_unparsable_carconnection_names(name):
    assert dl.parse_carconnection_name(name) is None


def test_missing_data_without_download_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_NOTES_DATA", str(tmp_path / "data"))
    with pytest.raises(dl.DatasetNotFound) as e:
        load_dataset("cars", 64)
    msg = str(e.value)
    assert f"not in {tmp_path / 'data' / 'cars'}" in msg and "python -m gan_notes.download cars\n" in msg
    assert "load_dataset('cars', download=True)" in msg and "research only" in msg
    with pytest.raises(dl.DatasetNotFound, match=f"--root {tmp_path / 'elsewhere'}"):
        dl.load_eyes(64, root=tmp_path / "elsewhere")
    assert not (tmp_path / "data").exists() and not (tmp_path / "elsewhere").exists()   # nothing created


def test_idols_needs_your_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_NOTES_DATA", str(tmp_path / "data"))
    for kw in ({}, {"download": True}):
        with pytest.raises(dl.DatasetNotFound, match="no public download.*-p dataset /path/to/faces"):
            load_dataset("idols", 32, **kw)
    faces = tmp_path / "faces" / "nested"; faces.mkdir(parents=True)
    for i in range(3): (faces / f"{i}.jpg").write_bytes(jpg(i))
    assert len(load_dataset("idols", 32, root=tmp_path / "faces", progress=False)) == 3


@pytest.mark.skipif(EYES_TEST_DATA is None, reason="the eyes test data (shared/data/eyes) is not on this machine")
def test_eyes_test_data_counts():
    both = dl.load_eyes(32, root=EYES_TEST_DATA, domain="both", progress=False)
    assert both.classes == ["real", "synthetic"]
    assert torch.bincount(both.labels).tolist() == [729, 118]
    assert len(dl.load_eyes(32, root=EYES_TEST_DATA, domain="synthetic", progress=False)) == 118
    assert dl.load_eyes(32, root=EYES_TEST_DATA, progress=False).name == "eyes-real"



# ---------------------------------------------------------------- the command line

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


def test_decompression_bomb_is_refused_before_writing(tmp_path):
    import zipfile as zf
    from gan_notes.fetch import UnsafeArchiveError, safe_extract
    bomb = tmp_path / "bomb.zip"
    with zf.ZipFile(bomb, "w", compression=zf.ZIP_DEFLATED) as z:
        z.writestr("images/zeros.png", b"\0" * 20_000_000)   # 20 MB of zeros pack into about 20 kB
    assert bomb.stat().st_size < 100_000
    with pytest.raises(UnsafeArchiveError, match="decompression bomb"):
        safe_extract(bomb, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.zip"]   # nothing written, not even a temp folder
    safe_extract(bomb, tmp_path / "out", max_ratio=10_000)               # a caller who trusts it may raise the limit
    assert (tmp_path / "out" / "images" / "zeros.png").stat().st_size == 20_000_000
