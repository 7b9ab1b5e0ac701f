#!/usr/bin/env python3
"""Install a gan_notes wheel into a fresh virtual environment outside the checkout, and use it as a reader would.

    python3 .ci/wheel_smoke.py dist/gan_notes-0.1.0-py3-none-any.whl
        the release workflow: `pip install WHEEL[notebooks]`, every dependency from the package index
    python3 .ci/wheel_smoke.py WHEEL --deps-from ~/.cache/gan_notes/venv
        CI (.ci/run): the wheel alone (--no-deps); the project's environment lends the packages it depends on (a .pth
        line, so torch is not downloaded again), and each dependency the wheel declares for [notebooks] must be there

Then, in an empty folder: `import gan_notes` (from the new environment), `gan-notes run train_dcgan --dataset sprites
-p steps 20 -p out_dir x` (the notebook shipped in the wheel) and `gan-notes notebooks nb/`. Exits non-zero on the first
failure. Standard library only.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CHECK_DEPS = r"""
import importlib.metadata as md, re, sys
reqs = md.requires("gan_notes") or []
want = [r for r in reqs if "extra ==" not in r or re.search(r"extra == .notebooks.", r)]
names = [re.match(r"[A-Za-z0-9_.-]+", r)[0] for r in want]
missing = []
for n in names:
    try: md.version(n)
    except md.PackageNotFoundError: missing.append(n)
print(f"{len(names)} dependencies of gan_notes[notebooks] declared" + (f"; MISSING: {', '.join(missing)}" if missing else ", all installed"))
sys.exit(1 if missing else 0)
"""


def step(title, cmd, cwd, env, timeout=1800):
    print(f"\n== {title}\n+ {' '.join(map(str, cmd))}", flush=True)
    t = time.perf_counter()
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, timeout=timeout)
    print(f"   ({time.perf_counter() - t:.0f} s, exit code {r.returncode})", flush=True)
    if r.returncode: sys.exit(f"wheel smoke test failed at: {title}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path)
    ap.add_argument("--deps-from", type=Path, help="a virtual environment whose packages the new one borrows (no downloads)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args(argv)
    wheel = a.wheel.resolve()
    names = zipfile.ZipFile(wheel).namelist()
    if not any(n.startswith("gan_notes/notebooks/train_dcgan.ipynb") for n in names):
        sys.exit(f"{wheel.name} lacks the experiment notebooks (gan_notes/notebooks/)")
    tmp = Path(tempfile.mkdtemp(prefix="gan_notes_wheel."))
    venv, work = tmp / "venv", tmp / "work"
    work.mkdir()
    try:
        step("a fresh virtual environment", [sys.executable, "-m", "venv", venv], tmp, None)
        py = venv / "bin" / "python"
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv), MPLBACKEND="Agg",
                   PIP_DISABLE_PIP_VERSION_CHECK="1")
        if a.deps_from:
            lender = a.deps_from / "bin" / "python"
            version = lambda p: subprocess.run([p, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True).stdout
            if version(lender) != version(py): sys.exit(f"{a.deps_from} has another Python than {sys.executable}")
            purelib = lambda p: subprocess.run([p, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                               capture_output=True, text=True, check=True).stdout.strip()
            # a plain path line: its own .pth files (the checkout's editable install among them) are not run
            Path(purelib(py), "_borrowed_packages.pth").write_text(purelib(lender) + "\n")
            step("the wheel alone", [py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel], work, env)
        else:
            step("the wheel with [notebooks]", [py, "-m", "pip", "install", "-q", f"{wheel}[notebooks]"], work, env)
        step("its declared dependencies are installed", [py, "-c", CHECK_DEPS], work, env)
        step("import gan_notes (the installed one)", [py, "-c", "import gan_notes, sys; from pathlib import Path; "
             f"assert Path(gan_notes.__file__).is_relative_to({str(venv)!r}), gan_notes.__file__; print(gan_notes.__version__, gan_notes.__file__)"],
             work, env)
        exe = venv / "bin" / "gan-notes"
        step("gan-notes run, in an empty folder", [exe, "run", "train_dcgan", "--dataset", "sprites", "-p", "steps", "20", "-p", "out_dir", "x"],
             work, env)
        metrics = json.loads((work / "x" / "metrics.json").read_text())
        record = json.loads((work / "results" / "train_dcgan-sprites" / "record.json").read_text())
        assert record["ok"] and metrics["steps"] == 20 and record["params"]["steps"] == 20, (record, metrics)
        print(f"   trained {metrics['steps']} steps; published in {work / 'results' / 'train_dcgan-sprites'}")
        step("gan-notes notebooks", [exe, "notebooks", "nb/"], work, env)
        copied = sorted(p.name for p in (work / "nb").glob("*.ipynb"))
        shipped = sorted(Path(n).name for n in names if n.startswith("gan_notes/notebooks/") and n.endswith(".ipynb"))
        assert copied == shipped and "train_dcgan.ipynb" in copied, (copied, shipped)
        print(f"\nwheel smoke test passed: {wheel.name} outside the checkout ({len(copied)} notebooks shipped)")
    finally:
        if a.keep: print(f"kept {tmp}")
        else: shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
