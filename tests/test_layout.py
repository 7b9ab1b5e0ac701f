"The project's shape: nbdev 2 settings, packaging, the Quarto config, the README's promise."
import ast
import configparser
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import NBS, ROOT


def settings():
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini")
    return cfg["DEFAULT"]


def test_settings_nbdev2():
    s = settings()
    assert s["lib_name"] == "gan_notes" and s["nbs_path"] == "nbs" and s["lib_path"] == "gan_notes"
    assert s["allowed_cell_metadata_keys"].split() == ["tags"]  # nbdev_clean keeps papermill's tag
    assert {"slow", "cuda"} <= set(s["tst_flags"].split())
    reqs = s["requirements"].split()
    for pin in ["nbdev>=2.4.14,<3", "execnb<0.2", "fastcore<2", "ghapi<2"]:
        assert pin in reqs, pin
    for pkg in ["torch", "torchvision", "matplotlib", "imagehash", "opencv-python", "papermill", "ipywidgets"]:
        assert any(re.match(rf"{pkg}\b", r) for r in reqs), pkg


def test_installed_nbdev_is_2():
    import execnb
    import fastcore
    import nbdev
    assert nbdev.__version__.startswith("2."), nbdev.__version__
    assert fastcore.__version__.split(".")[0] == "1" and execnb.__version__.startswith("0.1")


def test_setup_py_needs_no_pkg_resources():
    tree = ast.parse((ROOT / "setup.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m and m.startswith("pkg_resources") for m in imported)


def test_wheel_holds_the_library_only(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (whl,) = tmp_path.glob("gan_notes-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    lib = sorted(p.name for p in (ROOT / "gan_notes").glob("*.py"))
    assert sorted(n.split("/")[1] for n in names if n.startswith("gan_notes/")) == lib
    assert not [n for n in names if n.startswith(("tests/", "nbs/")) or "conftest" in n]
    meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: nbdev<3,>=2.4.14" in meta or "Requires-Dist: nbdev>=2.4.14,<3" in meta


def test_quarto_config_is_the_top_level_one():
    top, link = ROOT / "_quarto.yml", NBS / "_quarto.yml"
    assert top.is_file() and link.is_symlink()
    assert link.resolve() == top.resolve()          # nbdev_docs renders nbs/ with the top-level file
    text = top.read_text()
    assert "type: website" in text and "metadata-files: [nbdev.yml, sidebar.yml]" in text


def _readme_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    return [l.strip() for l in lines[:12] if l.strip().startswith("python3 dev.py")]


def test_readme_starts_with_two_commands():
    cmds = _readme_commands()
    assert [c.split("#")[0].split()[2] for c in cmds] == ["demo", "test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py test" in ci  # CI runs the README's test command


def test_index_notebook_gives_the_same_commands():
    nb = json.loads((NBS / "index.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    idx = [l.strip() for l in text.splitlines() if l.strip().startswith("python3 dev.py")]
    assert idx[:2] == _readme_commands()


@pytest.mark.parametrize("nb", sorted(p.name for g in ("train_*", "compare_*", "classify_*") for p in NBS.glob(g + ".ipynb")))
def test_experiment_parameters_cell(nb):
    "papermill needs one cell tagged parameters, of plain literals, each explained by a comment."
    cells = json.loads((NBS / nb).read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    for node in ast.parse(src).body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), ast.unparse(node)
    for line in src.splitlines():
        assert "#" in line, f"no comment: {line}"


def test_notebooks_are_stored_clean():
    "nbdev_clean's rules: no execution counts or outputs in chapters, only allowed metadata."
    for nb in sorted(NBS.glob("*.ipynb")):
        data = json.loads(nb.read_text())
        for c in data["cells"]:
            if c["cell_type"] == "code":
                assert c["execution_count"] is None and c["outputs"] == [], nb.name
            assert set(c.get("metadata", {})) <= {"tags"}, (nb.name, c.get("metadata"))


def test_reports_are_not_rerun_by_nbdev_test():
    "Executed reports are outputs: nbdev_test skips a notebook only when a `.notest` file sits beside it (not above)."
    reports = list((NBS / "results").rglob("*.ipynb"))
    assert reports
    assert [str(nb.relative_to(NBS)) for nb in reports if not (nb.parent / ".notest").is_file()] == []
