"""Fine-tuning a shipped model on a user's few images with masks of any kind."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import run_tool
from paddleseg_hru2net.datasets.synthetic import SyntheticSEMConfig, generate_sem_instances
from paddleseg_hru2net.datasets.user_images import (at_model_scale, instances_of_mask, pair_images_with_masks,
                                                    write_training_folder)
from paddleseg_hru2net.errors import InputError


def user_folder(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for index in range(3):
        grey, instances = generate_sem_instances(index, SyntheticSEMConfig(height=96, width=128))
        Image.fromarray(grey).save(images / f"sem{index}.png")
        if index == 0:  # an instance map, 16-bit
            tifffile.imwrite(masks / f"sem{index}_label.tif", instances.astype(np.uint16))
        else:  # 0/255 masks
            Image.fromarray(((instances > 0) * 255).astype(np.uint8)).save(masks / f"sem{index}_m.png")
    return images, masks


def test_masks_pair_by_name_and_become_instances(tmp_path):
    images, masks = user_folder(tmp_path)
    pairs = pair_images_with_masks(str(images), str(masks))
    assert [p[1].split("/")[-1] for p in pairs] == ["sem0_label.tif", "sem1_m.png", "sem2_m.png"]
    binary = np.zeros((20, 20), np.uint8)
    binary[2:8, 2:8] = 255
    binary[2:8, 9:15] = 255  # a 1-px line separates them
    assert instances_of_mask(binary, "m.png").max() == 2
    with pytest.raises(InputError, match="one value"):
        instances_of_mask(np.zeros((5, 5), np.uint8), "m.png")
    (images / "orphan.png").write_bytes((images / "sem1.png").read_bytes())
    with pytest.raises(InputError, match="orphan.png: no mask"):
        pair_images_with_masks(str(images), str(masks))


def test_dark_particles_are_written_inverted_for_a_model_of_bright_ones(tmp_path):
    """The analysis gives a bright-only model images of dark particles inverted; the training
    tiles of such images are inverted too, and only where the marked particles are darker."""
    images, masks = user_folder(tmp_path)
    dark = 255 - np.asarray(Image.open(images / "sem2.png"))
    Image.fromarray(dark).save(images / "sem2.png")  # dark particles on a bright background
    pairs = pair_images_with_masks(str(images), str(masks))
    counts = write_training_folder(pairs, str(tmp_path / "bright"), 3, tile=128, val_images=0,
                                   bright_particles=True)
    assert counts["inverted"] == 1 and counts["train"] == 3
    tile = np.asarray(Image.open(tmp_path / "bright" / "images" / "sem2_r0000_c0000.png"))
    label = np.asarray(Image.open(tmp_path / "bright" / "labels" / "sem2_r0000_c0000.png"))
    particles, background = tile[:96][label[:96] == 1], tile[:96][label[:96] == 0]
    assert particles.mean() > background.mean() + 40
    as_recorded = write_training_folder(pairs, str(tmp_path / "both"), 3, tile=128, val_images=0)
    assert as_recorded["inverted"] == 0


def test_training_images_are_brought_to_the_models_scale_as_the_analysis_will(tmp_path):
    """By pixel size where the model records one and the file has one (an ImageJ TIFF at half
    the model's 7.34 nm is halved), else by the annotated particles' median diameter (12 px
    discs for a model of 24 px are doubled); a model that records neither takes them as they are."""
    grey = np.full((96, 128), 40, np.uint8)
    instances = np.zeros((96, 128), np.int32)
    yy, xx = np.mgrid[:96, :128]
    for number, (cy, cx) in enumerate([(24, 24), (24, 72), (72, 40), (72, 100)], start=1):
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= 36
        grey[disc], instances[disc] = 200, number
    tifffile.imwrite(tmp_path / "calibrated.tif", grey, imagej=True, resolution=(1 / 3.67, 1 / 3.67),
                     metadata={"unit": "nm"})
    Image.fromarray(grey).save(tmp_path / "plain.png")
    halved, halved_instances, factor = at_model_scale(str(tmp_path / "calibrated.tif"), grey, instances, 7.34, 24.0)
    assert factor == pytest.approx(0.5, rel=0.01) and halved.shape == (48, 64) == halved_instances.shape
    doubled, doubled_instances, factor = at_model_scale(str(tmp_path / "plain.png"), grey, instances, 7.34, 24.0)
    assert 1.8 < factor < 2.2 and doubled.shape[1] > 240 and doubled_instances.max() == 4
    assert at_model_scale(str(tmp_path / "calibrated.tif"), grey, instances, 100.0, 24.0)[2] == 0.2  # kept in range
    same = at_model_scale(str(tmp_path / "calibrated.tif"), grey, instances, None, None)
    assert same[0] is grey and same[2] == 1.0


def test_finetune_command_then_analyze_with_the_result(tmp_path):
    images, masks = user_folder(tmp_path)
    out = tmp_path / "model"
    result = run_tool("-m", "paddleseg_hru2net.cli.analyze", "finetune", "--images", str(images),
                      "--masks", str(masks), "--out", str(out), "--iters", "2", "--crop", "64")
    assert "fine-tuned model in" in result.stdout
    for name in ("model.pdparams", "config.yml", "train_meta.json", "finetune.yml"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "train_meta.json").read_text())
    assert meta["finetuned_from"].startswith("shipped model") and meta["iters"] == 2
    analysis = run_tool("-m", "paddleseg_hru2net.cli.analyze", "analyze", str(images), "--out",
                        str(tmp_path / "results"), "--config", str(out / "config.yml"),
                        "--model_path", str(out / "model.pdparams"))
    assert "sem1.png:" in analysis.stdout
    again = run_tool("-m", "paddleseg_hru2net.cli.analyze", "finetune", "--images", str(images),
                     "--masks", str(masks), "--out", str(out), check=False)
    assert again.returncode == 2 and "exists" in again.stderr


def test_training_labels_spare_small_particles_as_the_model_record_says(tmp_path):
    """A model trained on contact bands that spare small particles is fine-tuned on the same
    target: with ``narrow_contacts_below`` the small square keeps every pixel as particle."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    instances = np.zeros((64, 64), np.uint16)
    instances[10:40, 10:40] = 1   # columns 10-39; column 40 is the line between them
    instances[20:24, 41:45] = 2   # a 4 x 4 particle
    grey = np.where(instances > 0, 200, 40).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "images" / "two.png")
    tifffile.imwrite(tmp_path / "masks" / "two_label.tif", instances)
    pairs = pair_images_with_masks(str(tmp_path / "images"), str(tmp_path / "masks"))
    labels = {}
    for narrow in (0.0, 8.0):
        out = tmp_path / f"narrow{narrow:g}"
        write_training_folder(pairs, str(out), 3, tile=64, val_images=0, contact_radius=2,
                              narrow_contacts_below=narrow)
        labels[narrow] = np.asarray(Image.open(out / "labels" / "two_r0000_c0000.png"))
    assert (labels[0.0][20:24, 41] == 2).all() and (labels[8.0][20:24, 41:45] == 1).all()
    assert (labels[8.0][18:26, 39] == 2).all()  # the large particle keeps its band
