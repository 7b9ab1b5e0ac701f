"""Packaging from settings.ini (nbdev 2 layout), without pkg_resources.

nbdev's template imported pkg_resources, which current setuptools no longer ships;
everything needed here is in the standard library. pyproject.toml holds only the
build system (settings.ini's `update_pyproject = False` keeps nbdev from writing one).
"""
import re
import shutil
from configparser import ConfigParser
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

here = Path(__file__).parent
cfg = ConfigParser(delimiters=["="])
cfg.read(here / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

for key in ("lib_name", "version", "description", "author", "min_python", "git_url"):
    assert cfg.get(key), f"settings.ini lacks {key}"

# SPDX expressions (PEP 639): setuptools refuses license classifiers beside one
licenses = {"apache2": "Apache-2.0", "mit": "MIT", "bsd3": "BSD-3-Clause", "gpl3": "GPL-3.0-only"}
# settings.ini's `status` N is the trove classifier "Development Status :: N - <name>"
statuses = {1: "Planning", 2: "Pre-Alpha", 3: "Alpha", 4: "Beta", 5: "Production/Stable", 6: "Mature", 7: "Inactive"}
py_versions = ["3.10", "3.11", "3.12", "3.13"]
min_python = cfg["min_python"]
lib = cfg["lib_name"]
status = int(cfg.get("status", "3"))
scripts = [s.strip() for s in cfg.get("console_scripts", "").split("\n") if s.strip()]
# The experiment notebooks travel inside the package (gan_notes/notebooks/), so that `gan-notes run train_dcgan`
# and `gan-notes notebooks DIR` work without a checkout. Copied at build time: nbs/ stays their one source.
EXPERIMENTS = ("train_*.ipynb", "compare_*.ipynb", "classify_*.ipynb")


def requirements(name):
    return cfg.get(f"{name}_requirements" if name else "requirements", "").split()


# `<name>_requirements` in settings.ini is the extra <name>; dev is every extra plus the test tools
extras = {k[: -len("_requirements")]: cfg[k].split() for k in cfg if k.endswith("_requirements") and k != "dev_requirements"}
extras["dev"] = list(dict.fromkeys(r for reqs in [*extras.values(), requirements("dev")] for r in reqs))


def absolute_links(markdown, git_url, branch):
    "The README for a package index: relative images point at the raw files, other relative links at GitHub's pages."
    raw = git_url.rstrip("/").replace("https://github.com/", "https://raw.githubusercontent.com/") + f"/{branch}/"
    blob = git_url.rstrip("/") + f"/blob/{branch}/"
    relative = r"(?!https?:|mailto:|#|/|data:)([^)\s]+)"
    markdown = re.sub(r"(!\[[^\]]*\]\()" + relative, lambda m: m[1] + raw + m[2], markdown)       # ![alt](path)
    markdown = re.sub(r"(<img\s[^>]*src=[\"'])" + relative, lambda m: m[1] + raw + m[2], markdown)  # <img src="path">
    return re.sub(r"((?<!!)\[[^\]]*\]\()" + relative, lambda m: m[1] + blob + m[2], markdown)     # [text](path)


class build_py_with_notebooks(build_py):
    "build_py, then the experiment notebooks of nbs/ into the built package (not for editable installs: they read nbs/)."
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False) or self.dry_run: return
        dest = Path(self.build_lib) / lib / "notebooks"
        nbs = sorted(p for g in EXPERIMENTS for p in (here / cfg.get("nbs_path", "nbs")).glob(g))
        assert nbs, f"no experiment notebooks in {here / cfg.get('nbs_path', 'nbs')}"
        dest.mkdir(parents=True, exist_ok=True)
        for nb in nbs: shutil.copyfile(nb, dest / nb.name)


readme = here / "README.md"
long_description = readme.read_text(encoding="utf-8") if readme.exists() else ""

setup(
    name=lib,
    version=cfg["version"],
    description=cfg["description"],
    long_description=absolute_links(long_description, cfg["git_url"], cfg.get("branch", "main")),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg.get("author_email", ""),
    url=cfg["git_url"],
    project_urls={"Documentation": cfg.get("doc_host", "") + cfg.get("doc_baseurl", ""), "Source": cfg["git_url"]},
    license_expression=licenses.get(cfg.get("license", "").lower(), cfg.get("license")),
    license_files=cfg.get("license_files", "LICENSE").split(),
    keywords=cfg.get("keywords", ""),
    classifiers=[
        f"Development Status :: {status} - {statuses[status]}",
        "Intended Audience :: " + cfg.get("audience", "Developers").title(),
        "Natural Language :: " + cfg.get("language", "English").title(),
        "Programming Language :: Python :: 3",
    ]
    + ["Programming Language :: Python :: " + v for v in py_versions if tuple(map(int, v.split("."))) >= tuple(map(int, min_python.split(".")))],
    python_requires=">=" + min_python,
    packages=find_packages(include=[lib, lib + ".*"]),
    include_package_data=False,
    cmdclass={"build_py": build_py_with_notebooks},
    install_requires=requirements(""),
    extras_require=extras,
    entry_points={"console_scripts": scripts, "nbdev": [f"{lib}={lib}._modidx:d"]},
    zip_safe=False,
)
