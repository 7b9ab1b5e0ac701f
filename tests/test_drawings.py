"""The drawing loaders where their Debian packages are missing. Chapter 07 (nbs/07_drawings.ipynb) checks everything else,
but `python3 dev.py test` skips it on such a machine: this check runs there too."""
import pytest

from gan_notes.drawings import DrawingsNotInstalled, load_animals, load_emoji, load_openclipart


def test_missing_packages_name_them(tmp_path):
    with pytest.raises(DrawingsNotInstalled, match="apt-get install openclipart-png fonts-noto-color-emoji unicode-data"):
        load_openclipart(32, root=tmp_path / "nowhere")
    with pytest.raises(DrawingsNotInstalled, match="openclipart-png"):
        load_animals(32, root=tmp_path)  # a folder without animals/
    with pytest.raises(DrawingsNotInstalled, match="fonts-noto-color-emoji"):
        load_emoji(32, font=tmp_path / "NotoColorEmoji.ttf")
    assert issubclass(DrawingsNotInstalled, FileNotFoundError)
