#!/usr/bin/env python3
"""The project's commands, runnable on a fresh machine with only Python 3.

    python3 dev.py demo    # train a small DCGAN on the built-in sprites (CPU, < 10 min)
    python3 dev.py test    # every test: nbdev_test (smoke settings), then pytest tests/
    python3 dev.py sync    # fail if nbdev_export or nbdev_clean would change a tracked file
    eval "$(python3 dev.py shell)"   # activate the environment in this shell

Each command creates (once) and reuses a virtual environment, by default in
~/.cache/gan_notes/venv (GAN_NOTES_VENV overrides), and installs this checkout
into it. Only the standard library is used here.
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


def demo(args):
    "Train the DCGAN chapter's experiment on sprites, 32 px, on the CPU."
    ensure_env()
    out = Path(DEMO_OUT)
    (ROOT / out).mkdir(parents=True, exist_ok=True)
    _check(_bin("papermill"), "nbs/train_dcgan.ipynb", out / "train_dcgan.ipynb",
           "-p", "dataset", "sprites", "-p", "image_size", "32", "-p", "device", "cpu",
           "-p", "out_dir", str(out), *args)
    print(f"\ndone: {out}/ holds the executed notebook, samples.png, losses.png, coverage.png, run.json, metrics.json "
          "and the last checkpoints (a second call resumes from them; add `-p resume False` to start afresh)")
    print((ROOT / out / "metrics.json").read_text())


def test(args):
    "nbdev_test over the chapters with smoke settings, then pytest."
    ensure_env()
    env = _env()
    env["GAN_NOTES_SMOKE"] = "1"
    # nbdev_test runs one notebook per core: one thread each, or they fight over the cores
    workers = max(1, min(os.cpu_count() or 1, 8))
    nb_env = dict(env, OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"))
    _check(_bin("nbdev_test"), "--n_workers", workers, "--do_print", "--timing", env=nb_env)
    r = _run(_bin("python"), "-m", "pytest", "tests", *args, env=env)
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


COMMANDS = {"demo": demo, "test": test, "sync": sync, "shell": shell}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
