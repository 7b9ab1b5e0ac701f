"The drawing datasets read from Debian packages: counts, categories, pictures, determinism, missing packages."
import warnings
from collections import Counter

import pytest
import torch
from PIL import Image, ImageFont, features

from gan_notes.data import DATASETS
from gan_notes.catalogue import load_dataset
from gan_notes.drawings import (ANIMAL_GROUPS, INK_LEVEL, KINDS, DrawingsNotInstalled, categories, emoji_drawings,
                                emoji_font, load_animals, load_emoji, load_openclipart, openclipart_drawings,
                                render_emoji)


@pytest.fixture(scope="module")
def animals():
    return load_animals(64)


@pytest.fixture(scope="module")
def vehicles():
    return load_openclipart(64, subset="vehicles"), load_emoji(64, subset="vehicles")


@pytest.mark.drawings
def test_registered():
    assert {"openclipart", "emoji", "animals"} <= set(DATASETS)
    assert len(load_dataset("emoji", image_size=16)) == len(load_emoji(16))


@pytest.mark.drawings
def test_counts(animals):
    clip, emo = openclipart_drawings(), emoji_drawings()
    # openclipart-png 0.18: 286 regular files under animals/ less 8 that show no animal; Unicode 15.0: 124 animal emoji
    assert 270 <= len(clip) <= 290
    assert 118 <= len(emo) <= 135
    assert len(animals) == len(clip) + len(emo) - (0 if features.check("raqm") else 4)
    assert len(animals.classes) >= 30
    assert len(animals.classes) == len(set(animals.classes))
    assert Counter(d.group for d in emo) == {"mammal": 66, "bird": 21, "amphibian": 1, "reptile": 8, "marine": 12, "bug": 16}


@pytest.mark.drawings
def test_pictures_drawn_on_white(animals, vehicles):
    for data in (animals, *vehicles):
        assert data.images.dtype == torch.uint8 and data.images.shape[1:] == (3, 64, 64)
        x = data.images.int()
        drawn = ((255 - x).amax(1) > INK_LEVEL).float().mean((1, 2))  # N
        assert drawn.min() > 0.02, data.files[int(drawn.argmin())]
        border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], -1)
        assert border.min() >= 250


@pytest.mark.drawings
def test_labels_match_classes(animals):
    assert animals.labels.dtype == torch.int64
    assert sorted(set(animals.labels.tolist())) == list(range(len(animals.classes)))  # every class used, no other
    drawings = {d.source: d for d in openclipart_drawings() + emoji_drawings()}
    labels, classes = categories([drawings[f] for f in animals.files])
    assert classes == animals.classes and torch.equal(labels, animals.labels)
    label_of = {f: animals.classes[i] for f, i in zip(animals.files, animals.labels.tolist())}
    root = "/usr/share/openclipart/png/animals/"
    assert label_of[root + "mammals/housecats/le_mie_tigri_preferite_a_01.png"] == "cat"  # the folder decides
    assert label_of[root + "rana01_architetto_france_01.png"] == "frog"                  # the Italian word decides
    assert label_of[root + "birds/contour_bat.png"] == "bat"                             # filed under birds
    assert label_of["1F42F"] == "big cat" and label_of["1F40C"] == "snail" and label_of["1F427"] == "penguin"
    assert all(c in KINDS or c.endswith("(other)") or c == "other" for c in animals.classes)


@pytest.mark.drawings
def test_groups_and_rare_kinds():
    emo = load_emoji(16, level="group")
    assert emo.classes == list(ANIMAL_GROUPS)
    every = load_emoji(16, min_count=1)  # no merging: each kind its own class
    merged = load_emoji(16)
    assert len(every.classes) > len(merged.classes)
    assert min(Counter(merged.labels.tolist()).values()) >= 1
    assert all(n >= 3 for c, n in zip(merged.classes, torch.bincount(merged.labels).tolist()) if "(other)" not in c)


@pytest.mark.drawings
def test_vehicles(vehicles):
    clip, emo = vehicles
    assert 40 <= len(clip) <= 60 and 30 <= len(emo) <= 36
    assert not any("roadsigns" in f for f in clip.files)
    names = {d.source: d.name for d in emoji_drawings("vehicles")}
    assert "bus" in names.values() and "light rail" in names.values()
    assert not {"bus stop", "police car light", "railway track", "station"} & set(names.values())


@pytest.mark.drawings
def test_deterministic():
    a, b = load_openclipart(32), load_openclipart(32)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) and a.files == b.files
    assert a.files == sorted(a.files)


@pytest.mark.drawings
def test_sizes_and_fit():
    for size in (16, 128):
        assert load_emoji(size).images.shape[1:] == (3, size, size)
    pad, crop = load_emoji(32), load_emoji(32, fit="crop")
    assert pad.images.shape == crop.images.shape and not torch.equal(pad.images, crop.images)
    with pytest.raises(ValueError, match="fit must be one of 'crop', 'pad'"): load_emoji(32, fit="stretch")
    with pytest.raises(ValueError, match="level must be one of 'kind', 'group'"): load_emoji(32, level="species")
    with pytest.raises(ValueError, match="subset must be one of"): load_emoji(32, subset="plants")


def test_missing_packages_name_them(tmp_path):
    with pytest.raises(DrawingsNotInstalled, match="apt-get install openclipart-png fonts-noto-color-emoji unicode-data"):
        load_openclipart(32, root=tmp_path / "nowhere")
    with pytest.raises(DrawingsNotInstalled, match="openclipart-png"):
        load_animals(32, root=tmp_path)  # a folder without animals/
    with pytest.raises(DrawingsNotInstalled, match="fonts-noto-color-emoji"):
        load_emoji(32, font=tmp_path / "NotoColorEmoji.ttf")
    assert issubclass(DrawingsNotInstalled, FileNotFoundError)


@pytest.mark.drawings
def test_fallback_table_without_unicode_data(tmp_path):
    with pytest.warns(UserWarning, match="unicode-data"):
        fb = load_emoji(32, level="group", emoji_test=tmp_path / "emoji-test.txt")
    assert len(fb) == 120  # the single code points: no zero-width-joiner sequences
    group_of = {d.source.replace(" FE0F", ""): d.group for d in emoji_drawings()}  # from the real file
    assert [fb.classes[i] for i in fb.labels] == [group_of[f] for f in fb.files]


@pytest.mark.drawings
def test_emoji_the_font_cannot_draw():
    font = emoji_font()
    assert render_emoji("1F436", font).size == (136, 128)
    assert render_emoji("1FAE9", font) is None  # Unicode 16.0: not in the font
    basic = emoji_font(layout_engine=ImageFont.Layout.BASIC)
    assert render_emoji("1F43B 200D 2744 FE0F", basic) is None  # polar bear drawn as bear + snowflake
    assert render_emoji("1F43B", basic) is not None


def test_bad_files_are_skipped_with_a_warning(tmp_path):
    animals = tmp_path / "animals"
    (animals / "mammals" / "dogs").mkdir(parents=True)
    im = Image.new("RGBA", (60, 30), (0, 0, 0, 0)); im.paste((120, 60, 0, 255), (5, 10, 50, 20))
    im.save(animals / "mammals" / "dogs" / "rex.png")
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(animals / "blank_frog.png")  # fully transparent: blank on white
    (animals / "broken_cat.png").write_bytes(b"\x89PNG not really")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        data = load_openclipart(32, root=tmp_path, min_count=1)
    assert len(data) == 1 and data.classes == ["dog"] and data.files[0].endswith("rex.png")
    message = str(w[0].message)
    assert "skipped 2 of 3" in message and "blank_frog" in message and "broken_cat" in message
    x = data.images[0].int()
    assert (x[:, 16] < 200).any() and (x[:, :, 0] >= 250).all()  # the long bar kept whole, white at the edge
