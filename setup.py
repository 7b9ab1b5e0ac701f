"""Packaging from settings.ini (nbdev 2 layout), without pkg_resources.

nbdev's template imported pkg_resources, which current setuptools no longer ships;
everything needed here is in the standard library.
"""
from configparser import ConfigParser
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
cfg = ConfigParser(delimiters=["="])
cfg.read(here / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

for key in ("lib_name", "version", "description", "author", "min_python", "git_url"):
    assert cfg.get(key), f"settings.ini lacks {key}"

# SPDX expressions: setuptools deprecates license classifiers
licenses = {"apache2": "Apache-2.0", "mit": "MIT", "bsd3": "BSD-3-Clause", "gpl3": "GPL-3.0-only"}
statuses = ["Planning", "Pre-Alpha", "Alpha", "Beta", "Production/Stable", "Mature", "Inactive"]
py_versions = ["3.10", "3.11", "3.12", "3.13"]
min_python = cfg["min_python"]
lic = licenses.get(cfg.get("license", "").lower())
scripts = [s.strip() for s in cfg.get("console_scripts", "").split("\n") if s.strip()]
readme = here / "README.md"

setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else "",
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg.get("author_email", ""),
    url=cfg["git_url"],
    license=lic or cfg.get("license"),
    keywords=cfg.get("keywords", ""),
    classifiers=[
        "Development Status :: " + cfg.get("status", "3") + " - " + statuses[int(cfg.get("status", "3"))],
        "Intended Audience :: " + cfg.get("audience", "Developers").title(),
        "Natural Language :: " + cfg.get("language", "English").title(),
    ]
    + ["Programming Language :: Python :: " + v for v in py_versions if v >= min_python],
    python_requires=">=" + min_python,
    packages=find_packages(include=[cfg["lib_name"], cfg["lib_name"] + ".*"]),
    include_package_data=False,
    install_requires=cfg.get("requirements", "").split(),
    extras_require={"dev": cfg.get("dev_requirements", "").split()},
    entry_points={"console_scripts": scripts, "nbdev": [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"]},
    zip_safe=False,
)
