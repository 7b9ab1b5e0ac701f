"""`python -m gan_notes.bench --quick` as a user runs it: every line it prints is `name: value`, and every section
prints the figures it promises. Small settings: speed is printed by the benchmark, never asserted here."""
import os
import subprocess
import sys

import pytest

from gan_notes.bench import DEFAULT_SECTIONS, KINDS, LINE, SECTIONS, main, parse_args, parse_lines


def run_bench(*args, timeout=240):
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    r = subprocess.run([sys.executable, "-m", "gan_notes.bench", *args], capture_output=True, text=True, env=env,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_quick_run_prints_name_value_lines_for_every_section():
    out = run_bench("--quick", "--device", "cpu")
    bad = [line for line in out.splitlines() if not LINE.match(line)]
    assert not bad, f"lines not of the form `name: value`: {bad[:5]}"
    v = parse_lines(out)
    header = {"torch", "threads", "device", "cpu", "quick", "batch_size", "workers", "wgan_gp_n_critic", "channels_last"}
    assert header <= set(v)
    assert v["device"] == "cpu" and v["quick"] == 1 and v["batch_size"] == 16 and v["threads"] >= 1
    for kind in KINDS:                                    # train
        p = f"train_{kind}_32px_"
        for name in ("ours_img_s", "conventional_img_s", "ratio", "ours_gflop_per_image", "conventional_gflop_per_image",
                     "ours_gflop_s", "ours_peak_share", "ours_data_wait_share", "conventional_data_wait_share", "timed_steps"):
            assert isinstance(v[p + name], float), p + name
        assert v[p + "ours_img_s"] > 0 and v[p + "conventional_img_s"] > 0
        assert 0 <= v[p + "ours_data_wait_share"] < 1
        assert v[p + "ours_gflop_per_image"] < v[p + "conventional_gflop_per_image"]   # the frozen critic's saving
    assert v["matmul_peak_gflop_s"] > 0
    assert abs(v["train_dcgan_32px_conventional_gflop_per_image"] - 0.42) < 0.2 * 0.42   # the figure
    for name in ("first_batch_memory_s", "first_batch_cache_s", "first_batch_imagefolder_s",   # data
                 "epoch_memory_img_s", "epoch_imagefolder_img_s"):
        assert v["data_" + name] > 0, name
    assert v["data_images"] == 256
    assert v["memory_dcgan_32px_b16_peak_mb"] > v["memory_dcgan_32px_b16_training_mb"] > 0   # memory
    assert v["filters_phash_bits_differing"] == 0 and v["filters_phash_gan_notes_per_s"] > 0   # filters
    assert v["sampling_32px_img_s"] > 0 and v["latent_walk_32px_frames_s"] > 0                # sampling


def test_only_and_sizes_choose_what_runs(capsys):
    main(["--quick", "--only", "sampling", "--sizes", "32,64", "--device", "cpu"])     # in this process: no second start-up
    v = parse_lines(capsys.readouterr().out)
    assert {k for k in v if k.startswith(("sampling_", "latent_walk_"))} == {
        "sampling_32px_img_s", "latent_walk_32px_frames_s", "sampling_64px_img_s", "latent_walk_64px_frames_s"}
    assert not any(k.startswith(("train_", "data_", "memory_", "filters_")) for k in v)


@pytest.mark.parametrize("args, message", [(["--only", "trian"], "comma-separated list of train"),
                                           (["--sizes", "48"], "comma-separated list of 32, 64, 128"),
                                           (["--kinds", "stylegan"], "dcgan, wgan_gp"),
                                           (["--batch", "0"], "--batch must be at least 1")])
def test_bad_arguments_are_refused_clearly(args, message, capsys):
    with pytest.raises(SystemExit) as e: parse_args(args)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_defaults():
    a = parse_args([])
    assert a.only == DEFAULT_SECTIONS and set(SECTIONS) - set(DEFAULT_SECTIONS) == {"quality"}  # the hour-long one only when asked
    assert a.kinds == KINDS and a.sizes is None and not a.quick and a.workers == 2
