#!/usr/bin/env python3
"""The project's commands, runnable on a fresh machine with only Python 3.

    python3 dev.py demo    # train a small DCGAN on the built-in sprites (CPU, < 10 min)
    python3 dev.py test    # every test: nbdev_test (smoke settings), then pytest tests/
    python3 dev.py setup   # what both call first: the Debian drawing packages, then the environment
    python3 dev.py sync    # fail if nbdev_export or nbdev_clean would change a tracked file
    eval "$(python3 dev.py shell)"   # activate the environment in this shell

Each command creates (once) and reuses a virtual environment, by default in
~/.cache/gan_notes/venv (GAN_NOTES_VENV overrides), and installs this checkout
into it. `setup` (which demo and test call) also installs the Debian packages of
the drawing datasets with apt-get, as root or through sudo; where it cannot, it
prints the command to run and `test` skips what needs them, saying why. Only the
standard library is used here.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("GAN_NOTES_VENV", Path.home() / ".cache" / "gan_notes" / "venv"))
# The release the project is tested with. A bare `torch` would let pip pick the
# newest release, a multi-GB download on machines that keep an older one on disk.
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
DEMO_OUT = os.environ.get("GAN_NOTES_DEMO_OUT", "runs/demo")  # relative to the checkout
# The drawing datasets (gan_notes.drawings) read files of these packages: openclipart's PNGs, Noto Color Emoji,
# Unicode's emoji-test.txt; libfribidi0 lets Pillow draw joined emoji sequences.
DEBS = ("openclipart-png", "fonts-noto-color-emoji", "unicode-data", "libfribidi0")
DRAWING_FILES = {"openclipart-png": "/usr/share/openclipart/png", "fonts-noto-color-emoji": "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
                 "unicode-data": "/usr/share/unicode/emoji/emoji-test.txt"}
# What `test` leaves out when those files are missing: the chapters and experiment that load drawings
# (nbdev_test's --skip_file_re), and pytest's tests marked `drawings` (tests/conftest.py). The reason travels in
# GAN_NOTES_NO_DRAWINGS.
DRAWING_NOTEBOOKS = ("07_drawings", "11_diffaugment", "12_filters", "13_metrics", "19_diverse", "train_diverse")


def _bin(name):
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def _env():
    env = dict(os.environ)
    # the venv first on PATH: Jupyter's kernel spec starts plain `python`
    env["PATH"] = str(_bin("")).rstrip(os.sep) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _run(*cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=kw.pop("cwd", ROOT), env=kw.pop("env", _env()), **kw)


def _check(*cmd, **kw):
    r = _run(*cmd, **kw)
    if r.returncode:
        sys.exit(r.returncode)


def _stamp(*parts):
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure_env():
    "Create the venv and install dependencies when they changed; install this checkout. Output goes to stderr."
    py = _bin("python")
    if not py.exists():
        print(f"creating a virtual environment in {VENV}", file=sys.stderr, flush=True)
        VENV.parent.mkdir(parents=True, exist_ok=True)
        if _run(sys.executable, "-m", "venv", VENV, stdout=sys.stderr).returncode:
            shutil.rmtree(VENV, ignore_errors=True)  # no half-made environment for the next call to trust
            sys.exit(f"could not create a virtual environment with {sys.executable}. On Debian or Ubuntu install "
                     "the venv module first: sudo apt-get install python3-venv")
    deps = _stamp(*TORCH, (ROOT / "settings.ini").read_text(), (ROOT / "setup.py").read_text())
    deps_file, here_file = VENV / ".gan_notes_deps", VENV / ".gan_notes_checkout"
    if not deps_file.exists() or deps_file.read_text() != deps:
        _check(py, "-m", "pip", "install", "-q", *TORCH, stdout=sys.stderr)
        _check(py, "-m", "pip", "install", "-q", "-e", ".[dev]", stdout=sys.stderr)
        deps_file.write_text(deps)
        here_file.write_text(str(ROOT))
    if not here_file.exists() or here_file.read_text() != str(ROOT):
        # the venv is shared between checkouts: point the editable install at this one
        _check(py, "-m", "pip", "install", "-q", "--no-deps", "-e", ".", stdout=sys.stderr)
        here_file.write_text(str(ROOT))
    return py


def _missing_debs():
    "The packages of DEBS not installed (dpkg's view), or, without dpkg, those whose drawing files are missing."
    if shutil.which("dpkg-query"):
        def installed(d):
            r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", d], capture_output=True, text=True)
            return r.returncode == 0 and r.stdout.strip().endswith(" installed")
        return [d for d in DEBS if not installed(d)]
    return [d for d, f in DRAWING_FILES.items() if not Path(f).exists()]


def _apt_prefix():
    "How to run apt-get as root here: [] as root, ['sudo', ...] where sudo works; None where neither does."
    if hasattr(os, "geteuid") and os.geteuid() == 0: return []
    if not shutil.which("sudo"): return None
    if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0: return ["sudo", "-n"]
    return ["sudo"] if sys.stdin.isatty() else None   # it asks for a password in a terminal


def install_debs():
    "Install the missing DEBS with apt-get; '' when the drawing files are there, else why not and what to run."
    missing = _missing_debs()
    if not missing: return ""
    apt = shutil.which("apt-get")
    prefix = _apt_prefix() if apt else None
    if prefix is not None:
        print(f"installing the Debian packages of the drawing datasets: {' '.join(missing)}", file=sys.stderr, flush=True)
        apt_get = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]   # sudo does not pass the environment on
        if _run(*apt_get, "update", "-qq", stdout=sys.stderr).returncode == 0:
            _run(*apt_get, "install", "-y", "-qq", *missing, stdout=subprocess.DEVNULL)   # its errors go to stderr
        missing = _missing_debs()
    sudo = "" if prefix == [] else "sudo "
    cmd = f"{sudo}apt-get update && {sudo}apt-get install -y {' '.join(missing)}"
    lacking = [d for d, f in DRAWING_FILES.items() if not Path(f).exists()]
    if not lacking:
        if missing: print(f"note: {' '.join(missing)} is not installed (to install it: {cmd}); the drawing datasets work "
                          "without it, joined emoji sequences excepted", file=sys.stderr)
        return ""
    if not apt: how = ("this is not Debian or Ubuntu: put openclipart's PNGs, Noto Color Emoji and Unicode's emoji-test.txt "
                       f"at {', '.join(DRAWING_FILES[d] for d in lacking)}, or on Debian or Ubuntu run")
    elif prefix is None: how = "installing them needs root or sudo; run"
    else: how = "apt-get did not install them (see its messages above); run"
    why = f"the drawing datasets' Debian packages {', '.join(lacking)} are not installed: {how}: {cmd}"
    print(f"\nnote: {why}\n", file=sys.stderr, flush=True)
    return why


def setup():
    "The Debian packages of the drawing datasets (when missing), then the virtual environment. Returns why drawings are missing, or ''."
    why = install_debs()
    ensure_env()
    return why


def setup_command(args):
    "`python3 dev.py setup`: what demo and test do first."
    why = setup()
    print("ready" + (f", without the drawing datasets: {why}" if why else ": the environment and the drawing datasets"))


def demo(args):
    "Train the DCGAN chapter's experiment on sprites, 32 px, on the CPU."
    setup()
    out = Path(DEMO_OUT)
    (ROOT / out).mkdir(parents=True, exist_ok=True)
    # --log-output streams the notebook's printed lines here, among them a plain progress bar every 10 s
    # (steps, losses, time left; GAN_NOTES_PROGRESS=text) instead of a widget nobody sees
    _check(_bin("papermill"), "nbs/train_dcgan.ipynb", out / "train_dcgan.ipynb", "--log-output",
           "-p", "dataset", "sprites", "-p", "image_size", "32", "-p", "device", "cpu",
           "-p", "recipe", "ttur",   # on the 96 sprite modes TTUR's take-off is regular (the training-fast chapter)
           "-p", "out_dir", str(out), *args, env=dict(_env(), GAN_NOTES_PROGRESS="text"))
    print(f"\ndone: {out}/ holds the executed notebook, samples.png, losses.png, coverage.png, run.json, metrics.json "
          "and the last checkpoints (a second call resumes from them; add `-p resume False` to start afresh)")
    print((ROOT / out / "metrics.json").read_text())


def test(args):
    "nbdev_test over the chapters with smoke settings, then pytest."
    why = setup()
    env = _env()
    env["GAN_NOTES_SMOKE"] = "1"
    skip = []
    if why:  # the chapters that load drawings are left out; pytest skips its `drawings` tests with this reason
        env["GAN_NOTES_NO_DRAWINGS"] = why
        skip = ["--skip_file_re", r"^([_.]|(" + "|".join(DRAWING_NOTEBOOKS) + r")\.ipynb$)"]  # '^[_.]': nbdev's own default
        print(f"skipping {', '.join(DRAWING_NOTEBOOKS)}: {why}", file=sys.stderr, flush=True)
    # nbdev_test runs one notebook per core: one thread each, or they fight over the cores
    workers = max(1, min(os.cpu_count() or 1, 8))
    nb_env = dict(env, OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"))
    _check(_bin("nbdev_test"), "--n_workers", workers, "--do_print", "--timing", *skip, env=nb_env)
    r = _run(_bin("python"), "-m", "pytest", "tests", *args, env=env)
    if why: print(f"\nskipped {', '.join(DRAWING_NOTEBOOKS)} and the tests marked drawings: {why}", file=sys.stderr)
    sys.exit(r.returncode)


def sync(args):
    "Fail when the library or the stored notebooks are out of step with nbdev."
    ensure_env()
    if not shutil.which("git"):
        sys.exit("git is needed to compare the tree")

    def status():  # the state of the tracked and new files, contents included
        git = lambda *a: _run("git", *a, "--", "gan_notes", "nbs", capture_output=True, text=True).stdout
        return git("status", "--porcelain") + git("diff")
    before = status()
    _check(_bin("nbdev_export"))
    _check(_bin("nbdev_clean"))
    after = status()
    if before != after:
        print("nbdev_export / nbdev_clean changed files; commit what they wrote:\n" + after)
        sys.exit(1)
    print("library and notebooks are in step")


def shell(args):
    ensure_env()
    print(f"source {_bin('activate')}")


COMMANDS = {"demo": demo, "test": test, "setup": setup_command, "sync": sync, "shell": shell}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
