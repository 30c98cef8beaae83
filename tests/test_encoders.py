"""VGG19 features: torchvision-compatible layout and weight loading."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from vcd.encoders import VGG19_LAYER_INDEX, VGG19Features, load_vgg19_state_dict


def test_layer_indices_match_torchvision_vgg19_features():
    # torchvision's vgg19().features: relu after each conv, pools at 4, 9, 18, 27, 36
    expected = {
        "relu1_1": 1,
        "relu1_2": 3,
        "relu2_1": 6,
        "relu2_2": 8,
        "relu3_1": 11,
        "relu3_4": 17,
        "relu4_1": 20,
        "relu4_4": 26,
        "relu5_1": 29,
        "relu5_4": 35,
        "conv1_1": 0,
        "conv5_4": 34,
    }
    for name, index in expected.items():
        assert VGG19_LAYER_INDEX[name] == index


def test_network_is_truncated_after_deepest_layer_and_keys_are_torchvision_style():
    enc = VGG19Features(("relu1_1", "relu3_1"))
    assert len(enc.features) == 12
    keys = set(enc.state_dict())
    assert {"features.0.weight", "features.0.bias", "features.10.weight"} <= keys
    assert all(k.startswith("features.") for k in keys)
    assert enc.channels == (64, 256) and enc.strides == (1, 4)


def test_forward_shapes_and_frozen_parameters():
    enc = VGG19Features()
    feats = enc(torch.rand(2, 3, 80, 112))
    assert [tuple(f.shape) for f in feats] == [
        (2, 64, 80, 112),
        (2, 128, 40, 56),
        (2, 256, 20, 28),
        (2, 512, 10, 14),
        (2, 512, 5, 7),
    ]
    assert all(not p.requires_grad for p in enc.parameters())
    assert all((f >= 0).all() for f in feats)  # ReLU outputs


def test_random_init_is_seeded():
    a, b, c = (
        VGG19Features(("relu1_1",), seed=1),
        VGG19Features(("relu1_1",), seed=1),
        VGG19Features(("relu1_1",), seed=2),
    )
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    assert a.provenance()["encoder_weights"] == "random"


def _full_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A torchvision-layout VGG19 state dict (random values), classifier included."""
    donor = VGG19Features(("relu5_4",), seed=seed)
    state = {k: v.clone() for k, v in donor.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # ignored by the feature extractor
    return state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_weights_load_from_file(tmp_path, suffix):
    state = _full_state_dict(seed=9)
    path = tmp_path / f"vgg19{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    enc = VGG19Features(("relu1_1", "relu2_1"), weights=path)
    assert torch.equal(enc.features[5].weight, state["features.5.weight"])
    record = enc.provenance()
    assert record["encoder_weights"] == str(path) and len(record["sha256"]) == 64


def test_missing_or_wrong_weights_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="VGG19 weight file not found"):
        VGG19Features(weights=tmp_path / "nope.pth")
    state = _full_state_dict()
    del state["features.28.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="lack 1 key"):
        VGG19Features(weights=tmp_path / "partial.pth")
    state = _full_state_dict()
    state["features.0.weight"] = torch.zeros(32, 3, 3, 3)
    torch.save(state, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="has shape"):
        VGG19Features(weights=tmp_path / "wrong.pth")


def test_imagenet_weights_offline_error_names_the_cache(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError, match="vgg19-dcbb9e9d.pth"):
        load_vgg19_state_dict("imagenet")


def test_offline_imagenet_weights_come_from_the_cache_only(monkeypatch, tmp_path):
    """runtime.offline: torch.hub is never asked to download (it would reach the network)."""

    def network(*args, **kwargs):
        raise AssertionError("torch.hub tried the network although runtime.offline is set")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv("VCD_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="runtime.offline forbids downloading them"):
        load_vgg19_state_dict("imagenet")
    (tmp_path / "checkpoints").mkdir()
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "checkpoints" / "vgg19-dcbb9e9d.pth")
    with pytest.raises(RuntimeError, match="is not torchvision's VGG19 file"):
        load_vgg19_state_dict("imagenet")


def test_set_offline_sets_the_package_switch(monkeypatch):
    from vcd.config import set_offline
    from vcd.encoders import offline_requested

    monkeypatch.delenv("VCD_OFFLINE", raising=False)
    set_offline(True)
    assert offline_requested()
    set_offline(False)
    assert not offline_requested()
