"The project's shape: nbdev 2 settings, packaging, the Quarto config, the README's promise."
import ast
import configparser
import json
import re
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
    site, reqs, notebooks = s["site_requirements"].split(), s["requirements"].split(), s["notebooks_requirements"].split()
    for pin in ["nbdev>=2.4.14,<3", "execnb<0.2", "fastcore<2", "ghapi<2"]:
        assert pin in site, pin                  # the extra [site]; [dev] (what dev.py installs) holds every extra
    for pkg in ["torch", "torchvision", "matplotlib", "imagehash", "opencv-python"]:
        assert any(re.match(rf"{pkg}\b", r) for r in reqs), pkg
    for pkg in ["papermill", "ipywidgets"]:
        assert pkg in notebooks, pkg


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
    "papermill needs one cell tagged parameters, of plain literals, each declared with a check and explained by a comment."
    cells = json.loads((NBS / nb).read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    for node in ast.parse(src).body:   # name: Check = literal
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), ast.unparse(node)
        assert isinstance(node.annotation, (ast.Name, ast.Subscript)), ast.unparse(node)
    for line in src.splitlines():
        assert "#" in line, f"no comment: {line}"


VERDICT_FIRST = ("train_diverse", "train_simgan", "compare_views", "compare_wgan", "compare_diversity")   # reports with a computed verdict


@pytest.mark.parametrize("nb", sorted(p.name for g in ("train_*", "compare_*") for p in NBS.glob(g + ".ipynb")))
def test_reports_open_with_their_answer(nb):
    "The runner copies the cells tagged verdict and main-figure under the record: a report opens with its answer."
    tags = [t for c in json.loads((NBS / nb).read_text())["cells"] for t in c.get("metadata", {}).get("tags", [])]
    wanted = ["main-figure"] + (["verdict"] if nb.removesuffix(".ipynb") in VERDICT_FIRST else [])
    assert sorted(t for t in tags if t in ("verdict", "main-figure")) == sorted(wanted), (nb, tags)


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


def test_home_page_says_what_the_readme_says():
    "README.md is the one source: nbs/index.ipynb is written from it by `gan-notes home` (see the site chapter)."
    from gan_notes.site import write_home
    assert write_home(ROOT, check=True), "nbs/index.ipynb differs from README.md: run `gan-notes home` and commit both"


def test_the_site_build_leaves_the_readme_alone():
    "nbdev_docs re-renders README.md from the home page unless README.md is newer: the deploy workflow makes it so."
    deploy = (ROOT / ".github" / "workflows" / "deploy.yaml").read_text()
    assert deploy.index("touch README.md") < deploy.index("nbdev_docs\n"), deploy


def _gan_notes_imports() -> dict[str, set[str]]:
    "Each gan_notes module and the gan_notes modules it imports anywhere in its code (inside functions too)."
    import ast
    mods = {p.stem: p for p in (ROOT / "gan_notes").glob("*.py") if p.stem != "_modidx"}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.ImportFrom) and (n.level == 1 or (n.module or "").startswith("gan_notes")):
                mod = (n.module or "").removeprefix("gan_notes").lstrip(".")
                deps |= {mod.split(".")[0]} if mod else {a.name for a in n.names}
            elif isinstance(n, ast.Import):
                deps |= {a.name.split(".")[1] for a in n.names if a.name.startswith("gan_notes.")}
        graph[name] = (deps & set(mods)) - {name}
    return graph


def test_no_import_cycle():
    "Layers upright: no gan_notes module imports, directly or through others, a module that imports it."
    graph, state, cycles = _gan_notes_imports(), {}, []
    def visit(v, path):
        state[v] = "open"
        for w in sorted(graph[v]):
            if state.get(w) == "open": cycles.append(" -> ".join(path[path.index(w):] + [w]))
            elif w not in state: visit(w, path + [w])
        state[v] = "done"
    for v in sorted(graph):
        if v not in state: visit(v, [v])
    assert not cycles, cycles
    assert {"download", "toycars", "drawings", "toyeyes", "sprites"} <= graph["catalogue"], graph["catalogue"]   # the catalogue above them


def test_every_chapter_draws_a_figure():
    "The site check wants a figure on every chapter: a chapter that draws none is caught here, before CI executes them all."
    from gan_notes.site import page_kind, site_pages
    draws = re.compile(r"plt\.|show_images\(|\.show\(|imshow\(|!\[[^\]]*\]\(|<img\s")
    bare = [p.name for p in site_pages(NBS) if page_kind(p, NBS) == "chapter"
            and not any(draws.search("".join(c["source"])) for c in json.loads(p.read_text())["cells"])]
    assert not bare, f"chapters without a figure: {bare}"


def _bool_test_eqs(source: str) -> list[str]:
    "`test_eq(x, True)` and `test_eq(x, False)` calls in `source`: on failure they say `False != True` and show no value."
    try: tree = ast.parse(source)
    except SyntaxError: return []
    return [ast.unparse(n)[:120] for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "test_eq"
            and len(n.args) == 2 and isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, bool)]


def test_checks_show_values():
    "A check compares values, or asserts with the values in its message: no `test_eq(<condition>, True)`."
    found = []
    for nb in sorted(NBS.glob("*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            if c["cell_type"] == "code":
                src = "\n".join(l for l in "".join(c["source"]).splitlines() if not l.lstrip().startswith(("%", "!")))
                found += [f"{nb.name}: {s}" for s in _bool_test_eqs(src)]
    found += [f"{f.name}: {s}" for f in sorted((ROOT / "tests").glob("*.py")) for s in _bool_test_eqs(f.read_text())]
    assert not found, "\n".join(found)
