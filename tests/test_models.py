"""Issue 3: HRU2-Net and HRU2-Net† as registered PaddleSeg models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

import paddleseg_hru2net  # noqa: F401
from paddleseg_hru2net.models.hru2net import (HRU2Net, HRU2Netp, RSU, UMSIF, UMSIF_CAPABLE,
                                              NestedUNet)


def count(model) -> int:
    return sum(int(np.prod(p.shape)) for p in model.parameters())


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(37, 45), (64, 64), (33, 97)])
def test_output_shapes_for_odd_sizes(channels, size):
    paddle.seed(0)
    model = HRU2Netp(num_classes=2, in_channels=channels)
    x = paddle.randn([2, channels, *size])
    model.train()
    outputs = model(x)
    assert len(outputs) == 7
    assert all(list(o.shape) == [2, 2, *size] for o in outputs)
    model.eval()
    with paddle.no_grad():
        (fused,) = model(x)
    assert list(fused.shape) == [2, 2, *size]


def test_full_hru2net_runs_on_an_odd_size():
    model = HRU2Net(num_classes=3, in_channels=1)
    model.eval()
    with paddle.no_grad():
        (out,) = model(paddle.randn([1, 1, 35, 41]))
    assert list(out.shape) == [1, 3, 35, 41]


@pytest.mark.parametrize("stages", [("En_1", "De_1"), UMSIF_CAPABLE])
def test_every_parameter_gets_a_gradient(stages):
    paddle.seed(0)
    model = HRU2Netp(num_classes=2, in_channels=1, umsif_stages=stages)
    model.train()
    outputs = model(paddle.randn([2, 1, 48, 48]))
    label = paddle.randint(0, 2, [2, 48, 48])
    loss = sum(paddle.nn.functional.cross_entropy(o.transpose([0, 2, 3, 1]), label) for o in outputs)
    loss.backward()
    trainable = [(name, p) for name, p in model.named_parameters() if not p.stop_gradient]
    assert len(trainable) > 100  # BN running statistics are parameters too, but not trainable
    missing = [name for name, p in trainable if p.grad is None or float(p.grad.abs().sum()) == 0.0]
    assert missing == []


def test_umsif_stages_choose_the_blocks():
    model = HRU2Netp(2, 1, umsif_stages=("En_2", "De_3"))
    kinds = {name: type(block).__name__ for name, block in model.stages.items()}
    assert kinds["En_2"] == "UMSIF" and kinds["De_3"] == "UMSIF"
    assert kinds["En_1"] == "RSU" and kinds["De_1"] == "RSU"
    with pytest.raises(ValueError, match="En_4"):
        HRU2Netp(2, 1, umsif_stages=("En_4",))


def test_without_umsif_it_is_exactly_u2net():
    """The RSU blocks and channel plans reproduce PaddleSeg's U2Net / U2Netp parameter for parameter."""
    from paddleseg.models import U2Net, U2Netp
    assert count(HRU2Netp(2, 3, umsif_stages=())) == count(U2Netp(2, 3))
    assert count(HRU2Net(2, 3, umsif_stages=())) == count(U2Net(2, 3))


def test_umsif_block_is_cheaper_than_the_rsu_it_replaces():
    rsu, umsif = RSU(64, 16, 64, height=7), UMSIF(64, 16, 64, height=7)
    x = [1, 64, 128, 128]
    assert paddle.flops(umsif, x, print_detail=False) < paddle.flops(rsu, x, print_detail=False)


def test_hru2netp_costs_fewer_flops_than_u2netp():
    from paddleseg.models import U2Netp
    shape = [1, 1, 128, 128]
    ours = HRU2Netp(2, 1)
    parent = U2Netp(2, 1)
    ours.eval(), parent.eval()
    assert paddle.flops(ours, shape, print_detail=False) < paddle.flops(parent, shape, print_detail=False)


def test_built_from_yaml_through_config_and_segbuilder(tmp_path):
    from paddleseg.cvlibs import Config, SegBuilder
    config = tmp_path / "model.yml"
    base = Path(__file__).resolve().parents[1] / "configs" / "_base_" / "tio2_sem.yml"
    config.write_text(yaml.safe_dump({
        "_base_": str(base),
        "model": {"type": "HRU2Netp", "num_classes": 2, "in_channels": 1,
                  "umsif_stages": ["En_1", "En_2", "De_1"], "pretrained": None},
        "loss": {"types": [{"type": "CrossEntropyLoss"}], "coef": [1] * 7},
    }))
    model = SegBuilder(Config(str(config))).model
    assert isinstance(model, NestedUNet)
    assert model.umsif_stages == ("En_1", "En_2", "De_1")


def test_same_seed_same_weights_same_output():
    x = paddle.to_tensor(np.random.default_rng(0).normal(size=(1, 1, 40, 40)).astype("float32"))
    outputs = []
    for _ in range(2):
        paddle.seed(123)
        model = HRU2Netp(2, 1)
        model.eval()
        with paddle.no_grad():
            outputs.append((model.state_dict(), model(x)[0].numpy()))
    (weights_a, out_a), (weights_b, out_b) = outputs
    for key in weights_a:
        np.testing.assert_array_equal(weights_a[key].numpy(), weights_b[key].numpy())
    np.testing.assert_array_equal(out_a, out_b)


def test_pretrained_weights_are_loaded(tmp_path):
    paddle.seed(5)
    source = HRU2Netp(2, 1)
    path = tmp_path / "w.pdparams"
    paddle.save(source.state_dict(), str(path))
    paddle.seed(6)
    loaded = HRU2Netp(2, 1, pretrained=str(path))
    key = next(iter(source.state_dict()))
    np.testing.assert_array_equal(source.state_dict()[key].numpy(), loaded.state_dict()[key].numpy())


def test_exported_static_model_equals_dynamic(tmp_path):
    from paddleseg_hru2net.deploy.export import export_static
    from paddleseg_hru2net.inference import ModelSource, load_segmenter
    paddle.seed(0)
    model = HRU2Netp(2, 1)
    model.eval()
    export_static(model, str(tmp_path), in_channels=1, output_op="none")
    x = np.random.default_rng(1).normal(size=(1, 1, 53, 71)).astype("float32")
    with paddle.no_grad():
        dynamic = model(paddle.to_tensor(x))[0].numpy()
    static = load_segmenter(ModelSource(exported=str(tmp_path)), "paddle-inference").run(x)
    # random weights give logits in the hundreds; multi-threaded sums differ in the last bits
    np.testing.assert_allclose(static, dynamic, rtol=1e-4, atol=1e-5 * np.abs(dynamic).max())


def _norm_statistics(model) -> dict:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()
            if k.endswith(("_mean", "_variance"))}


def test_frozen_norm_statistics_train_as_they_infer(tmp_path):
    """With frozen statistics a training step leaves the running statistics as loaded and the
    training-mode forward equals the inference-mode one; without, both differ (the test can fail)."""
    paddle.seed(7)
    source = HRU2Netp(3, 1)
    source.eval()
    with paddle.no_grad():  # give the statistics values far from a batch's own
        for key, value in source.state_dict().items():
            if key.endswith("_mean"):
                value.set_value(paddle.full(value.shape, 0.3))
            elif key.endswith("_variance"):
                value.set_value(paddle.full(value.shape, 2.0))
    path = tmp_path / "w.pdparams"
    paddle.save(source.state_dict(), str(path))
    image = paddle.to_tensor(np.random.default_rng(0).random((1, 1, 32, 32), dtype=np.float32))
    for frozen in (True, False):
        model = HRU2Netp(3, 1, pretrained=str(path), frozen_norm_statistics=frozen)
        before = _norm_statistics(model)
        model.eval()
        inferred = model(image)[0].numpy()
        model.train()
        trained = model(image)
        paddle.add_n([t.mean() for t in trained]).backward()
        after = _norm_statistics(model)
        same_statistics = all(np.array_equal(before[k], after[k]) for k in before)
        same_output = np.allclose(trained[0].numpy(), inferred, atol=1e-5)
        assert same_statistics == frozen and same_output == frozen
        assert all(p.grad is not None for p in model.parameters() if not p.stop_gradient)
