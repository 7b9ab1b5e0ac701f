"dev.py's set-up step: the drawing packages it installs, what it says where it cannot, what `test` then leaves out."
import json
import re
import sys

from conftest import NBS, ROOT

sys.path.insert(0, str(ROOT))
import dev  # noqa: E402  (the repository's command file, standard library only)


def test_the_files_it_checks_are_the_ones_the_library_reads():
    from gan_notes import drawings
    assert set(dev.DRAWING_FILES) == set(drawings.DEBIAN_PACKAGES) and set(drawings.DEBIAN_PACKAGES) <= set(dev.DEBS)
    assert dev.DRAWING_FILES == {"openclipart-png": str(drawings.OPENCLIPART_ROOT),
                                 "fonts-noto-color-emoji": str(drawings.EMOJI_FONT), "unicode-data": str(drawings.EMOJI_TEST)}


def test_without_root_or_sudo_it_says_what_to_run(monkeypatch, capsys):
    monkeypatch.setattr(dev, "_missing_debs", lambda: ["openclipart-png", "unicode-data"])
    monkeypatch.setattr(dev, "_apt_prefix", lambda: None)
    monkeypatch.setattr(dev, "DRAWING_FILES", {"openclipart-png": "/no/such/png", "unicode-data": "/no/such/emoji-test.txt"})
    monkeypatch.setattr(dev.shutil, "which", lambda name: f"/usr/bin/{name}")
    why = dev.install_debs()
    assert why.endswith("installing them needs root or sudo; run: sudo apt-get update && sudo apt-get install -y "
                        "openclipart-png unicode-data"), why
    assert why in capsys.readouterr().err


def test_nothing_to_do_when_installed(monkeypatch):
    monkeypatch.setattr(dev, "_missing_debs", lambda: [])
    monkeypatch.setattr(dev, "_apt_prefix", lambda: (_ for _ in ()).throw(AssertionError("apt-get was not needed")))
    assert dev.install_debs() == ""


def test_every_notebook_that_loads_drawings_is_left_out_without_them():
    loads = re.compile(r'load_dataset\("(animals|emoji|openclipart)"|load_(animals|emoji|openclipart)\(|^dataset(: \w+)? = "animals"', re.M)
    need = {p.stem for p in NBS.glob("*.ipynb")
            if any(c["cell_type"] == "code" and loads.search("".join(c["source"])) for c in json.loads(p.read_text())["cells"])}
    assert need == set(dev.DRAWING_NOTEBOOKS), need ^ set(dev.DRAWING_NOTEBOOKS)


def test_ci_runs_the_set_up_step_and_no_apt_of_its_own():
    ci = (ROOT / ".ci" / "run").read_text()
    code = [line for line in ci.splitlines() if not line.lstrip().startswith("#")]
    assert "python3 dev.py setup" in code and not [line for line in code if "apt-get" in line or "dpkg" in line]
