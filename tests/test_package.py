"The package as PyPI and its users get it: metadata PyPI accepts, declared imports, the notebooks inside, the API reference, the release."
import ast
import configparser
import email
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import NBS, ROOT

EXPERIMENTS = ("train_", "compare_", "classify_")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    "The sdist, then the wheel built from it, as the release workflow builds them (without downloading a build backend)."
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (whl,), (sdist,) = out.glob("gan_notes-*.whl"), out.glob("gan_notes-*.tar.gz")
    names = zipfile.ZipFile(whl).namelist()
    meta = email.message_from_bytes(zipfile.ZipFile(whl).read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    return {"wheel": whl, "sdist": sdist, "names": names, "meta": meta}


def settings():
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini")
    return cfg["DEFAULT"]


def dist_name(req: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", req)[0]).lower()


def requires(meta) -> dict[str, set[str]]:
    "{extra ('' for the base install): the distributions it requires}."
    out = {}
    for r in meta.get_all("Requires-Dist") or []:
        m = re.search(r"extra == [\"'](\w+)[\"']", r)
        out.setdefault(m[1] if m else "", set()).add(dist_name(r))
    return out


def test_classifiers_are_trove_classifiers(built):
    import trove_classifiers
    cls = built["meta"].get_all("Classifier")
    assert cls and [c for c in cls if c not in trove_classifiers.classifiers] == []
    assert "Development Status :: 3 - Alpha" in cls     # settings.ini's status = 3


def test_licence(built):
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and settings()["license"] == "apache2"
    assert built["meta"]["License-Expression"] == "Apache-2.0" and built["meta"]["License-File"] == "LICENSE"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in built["names"])


def test_build_system_and_nbdev_leaves_it_alone():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert py["build-system"]["build-backend"] == "setuptools.build_meta"
    assert "project" not in py                          # the metadata is settings.ini's, read by setup.py
    assert settings()["update_pyproject"] == "False"     # nbdev_export would otherwise add a [project] table


def test_long_description_has_absolute_links(built):
    text = built["meta"].get_payload()
    assert "![" in text
    relative = re.findall(r"!?\[[^\]]*\]\((?!https?://|mailto:|#)([^)\s]+)\)|<img\s[^>]*src=[\"'](?!https?://)([^\"']+)", text)
    assert relative == []


def test_every_import_is_declared(built):
    "What the library imports at module level is in the base install; what it imports inside functions is in an extra."
    from importlib.metadata import packages_distributions
    dists = {k: [dist_name(d) for d in v] for k, v in packages_distributions().items()}
    reqs = requires(built["meta"])
    everything = set().union(*reqs.values())

    def tops(nodes):
        nodes = list(nodes)
        mods = {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
        mods |= {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module}
        return {m.split(".")[0] for m in mods} - set(sys.stdlib_module_names) - {"gan_notes"}

    def at_import(tree):   # the module's body and its if/try/with blocks, not the bodies of functions and classes
        out, todo = [], list(tree.body)
        while todo:
            n = todo.pop()
            if isinstance(n, (ast.Import, ast.ImportFrom)): out.append(n)
            elif not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for field in ("body", "orelse", "finalbody", "handlers"): todo.extend(getattr(n, field, None) or [])
        return out

    for f in sorted((ROOT / "gan_notes").glob("*.py")):
        tree = ast.parse(f.read_text())
        for mod in tops(at_import(tree)):
            assert set(dists.get(mod, [mod.lower()])) & reqs[""], f"{f.name} imports {mod} at module level: add it to requirements"
        for mod in tops(n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))):
            assert set(dists.get(mod, [mod.lower()])) & everything, f"{f.name} imports {mod}: declare it in settings.ini"


def test_install_sets(built):
    reqs = requires(built["meta"])
    assert {"torch", "torchvision", "numpy", "scipy", "pillow", "opencv-python", "imagehash", "torchmetrics"} <= reqs[""]
    assert not {"nbdev", "papermill", "ipykernel", "torch-fidelity", "jupyterlab"} & reqs[""]   # a library user needs none of them
    assert {"papermill", "ipykernel", "ipywidgets", "jupyterlab"} <= reqs["notebooks"]
    assert {"nbdev", "execnb", "fastcore", "ghapi"} <= reqs["site"] and reqs["data"] == {"kagglehub"}
    assert reqs["metrics"] == {"torch-fidelity"}
    assert set().union(*(v for k, v in reqs.items() if k not in ("", "dev"))) <= reqs["dev"]   # .[dev] is all of them
    site = [r for r in built["meta"].get_all("Requires-Dist") if "extra == \"site\"" in r]
    assert any(r.startswith("nbdev") and "<3" in r and ">=2.4.14" in r for r in site)          # nbdev 2's pins


def test_wheel_holds_the_library_and_the_experiment_notebooks(built):
    names = built["names"]
    lib = sorted(p.name for p in (ROOT / "gan_notes").glob("*.py"))
    assert sorted(n.split("/")[1] for n in names if re.fullmatch(r"gan_notes/[^/]+\.py", n)) == lib
    shipped = {Path(n).name: zipfile.ZipFile(built["wheel"]).read(n) for n in names if n.startswith("gan_notes/notebooks/")}
    experiments = {p.name: p.read_bytes() for p in NBS.glob("*.ipynb") if p.name.startswith(EXPERIMENTS)}
    assert shipped == experiments and "train_dcgan.ipynb" in shipped
    assert not [n for n in names if n.startswith(("tests/", "nbs/")) or "conftest" in n or "/results/" in n]
    console = zipfile.ZipFile(built["wheel"]).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "gan-notes = gan_notes.runner:main" in console


def test_api_reference_is_current():
    from gan_notes.site import api_problems
    problems = api_problems(NBS)
    assert not problems, "regenerate the API reference with `gan-notes api-docs`, then commit nbs/api/:\n" + "\n".join(problems)


def test_release_workflow_and_ci_smoke_test():
    wf = (ROOT / ".github" / "workflows" / "release.yaml").read_text()
    for step in ["tags:", "python -m build", "twine check", "python3 .ci/wheel_smoke.py", "pypa/gh-action-pypi-publish",
                 "id-token: write", "needs: smoke"]:
        assert step in wf, step
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".ci/wheel_smoke.py" in ci and "--deps-from" in ci and "python -m build" in ci
