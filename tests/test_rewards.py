"""Reward registry: the VCD family, the stand-in, and real model classes with tiny configs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from tiny import settings_of
from vcd.methods import REWARD_NAMES, STAND_INS, method_label
from vcd.metric import temporal_weight
from vcd.rewards import REWARDS, build_reward
from vcd.settings import AestheticOptions, CLIPScoreOptions, SettingsError, VJEPAOptions


def _build(name, settings, **options):
    return build_reward(name, dataclasses.replace(settings.rewards, **options), settings.vcd)


N = 5


@pytest.fixture()
def frames() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    base = torch.rand(2, 1, 3, 32, 32, generator=g)
    return (0.7 * base + 0.3 * torch.rand(2, N, 3, 32, 32, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("name", ["vcd", "vcd_no_tw", "vcd_l2", "vcd_feat", "vcd_amp", "vcd_phase"])
def test_vcd_rewards_are_eq2_of_the_sampled_frame(name, tiny_settings, frames):
    reward = _build(name, tiny_settings)
    plan = reward.plan(2, N, torch.Generator().manual_seed(4))
    assert 0 in plan.frames and all(0 <= f < N for f in plan.frames)
    picked = frames[:, plan.frames]
    out = reward(picked, plan, N, frames[:, 0], ["a", "b"])
    index = plan.per_video["frame_index"]
    metric = reward.metric
    expected = metric.frame_distance(frames[:, 0], frames[torch.arange(2), index - 1])
    if metric.config.temporal_weight:
        expected = temporal_weight(index, N) * expected
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(out.reward, -expected)
    assert method_label(name).startswith("+")


def test_vcd_reward_input_image_mode_and_gradients(tiny_params, tiny_settings, frames):
    reward = _build("vcd", tiny_settings, condition_on="input_image")
    plan = reward.plan(2, N, torch.Generator().manual_seed(0))
    assert 0 not in plan.frames or 1 in plan.per_video["frame_index"].tolist()
    picked = frames[:, plan.frames].clone().requires_grad_(True)
    cond = torch.rand(2, 3, 32, 32)
    out = reward(picked, plan, N, cond, ["a", "b"])
    out.loss.sum().backward()
    assert picked.grad.abs().sum() > 0
    with pytest.raises(SettingsError, match="rewards.condition_on must be one of"):
        settings_of(tiny_params, **{"rewards.condition_on": "prompt"})


def test_frame_consistency_is_a_labelled_reference_free_stand_in(tiny_settings, frames):
    reward = _build("frame_consistency", tiny_settings)
    assert "frame_consistency" in STAND_INS and "V-JEPA" in reward.stand_in_for
    assert "stand-in" in method_label("frame_consistency")
    plan = reward.plan(2, N, torch.Generator())
    assert plan.frames == list(range(N))
    a = reward(frames, plan, N, torch.zeros(2, 3, 32, 32), ["a", "b"])
    b = reward(frames, plan, N, torch.ones(2, 3, 32, 32), ["c", "d"])
    torch.testing.assert_close(a.loss, b.loss)  # ignores the conditioning image and prompt
    static = frames[:, :1].expand(-1, N, -1, -1, -1)
    assert torch.allclose(reward(static, plan, N, None, []).loss, torch.zeros(2), atol=1e-6)
    assert (a.loss > 1e-6).all()


def test_vjepa2_reward_with_a_tiny_saved_model(tiny_settings, tmp_path, frames):
    from transformers import VJEPA2Config, VJEPA2Model

    config = VJEPA2Config(
        patch_size=8,
        crop_size=32,
        frames_per_clip=4,
        tubelet_size=2,
        hidden_size=16,
        num_attention_heads=2,
        num_hidden_layers=1,
        pred_hidden_size=16,
        pred_num_attention_heads=2,
        pred_num_hidden_layers=1,
        num_pooler_layers=1,
    )
    VJEPA2Model(config).save_pretrained(tmp_path / "vjepa")
    reward = _build("vjepa", tiny_settings, vjepa=VJEPAOptions(str(tmp_path / "vjepa"), None, 4))
    plan = reward.plan(2, N, torch.Generator())
    assert plan.frames is None
    video = frames.clone().requires_grad_(True)
    out = reward(video, plan, N, None, [])
    assert out.loss.shape == (2,) and torch.isfinite(out.loss).all()
    out.loss.sum().backward()
    assert video.grad.abs().sum() > 0


def test_clip_based_rewards_with_tiny_saved_models(tiny_settings, tmp_path, frames):
    from transformers import CLIPConfig, CLIPModel, CLIPVisionModelWithProjection

    from vcd.models import build_tokenizer
    from vcd.rewards import AestheticHead

    tokenizer = build_tokenizer(["a cat", "a dog"])
    clip_config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "eos_token_id": 1,
            "pad_token_id": 0,
            "projection_dim": 8,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
            "projection_dim": 8,
        },
        projection_dim=8,
    )
    CLIPModel(clip_config).save_pretrained(tmp_path / "clip")
    tokenizer.save_pretrained(tmp_path / "clip")
    CLIPVisionModelWithProjection.from_pretrained(tmp_path / "clip").save_pretrained(tmp_path / "vision")
    torch.save(AestheticHead(8).state_dict(), tmp_path / "head.pth")
    clip = CLIPScoreOptions(str(tmp_path / "clip"), str(tmp_path / "clip"))
    options = {
        "aesthetic": AestheticOptions(str(tmp_path / "vision"), str(tmp_path / "head.pth")),
        "hps": clip,
        "pickscore": clip,
    }
    for name in ("aesthetic", "hps", "pickscore"):
        reward = _build(name, tiny_settings, **options)
        plan = reward.plan(2, N, torch.Generator().manual_seed(1))
        assert len(plan.frames) == 1
        picked = frames[:, plan.frames].clone().requires_grad_(True)
        out = reward(picked, plan, N, None, ["a cat", "a dog"])
        out.loss.sum().backward()
        assert torch.isfinite(out.loss).all() and picked.grad.abs().sum() > 0, name


def test_unknown_reward_and_missing_weights(tiny_params, tiny_settings, tmp_path):
    assert set(REWARDS) >= {
        "vcd",
        "vcd_no_tw",
        "vcd_l2",
        "vcd_feat",
        "frame_consistency",
        "vjepa",
        "aesthetic",
        "hps",
        "pickscore",
    }
    assert REWARDS == REWARD_NAMES  # the registry builds exactly the names the settings accept
    with pytest.raises(ValueError, match="unknown reward 'vcd_fancy'"):
        _build("vcd_fancy", tiny_settings)
    with pytest.raises(SettingsError, match="unknown reward"):
        settings_of(tiny_params, **{"methods.rewards": ["vcd", "vcd_fancy"]})
    with pytest.raises(FileNotFoundError, match="V-JEPA 2 weights"):
        _build("vjepa", tiny_settings, vjepa=VJEPAOptions(str(tmp_path / "no_vjepa_here"), None, 4))
    with pytest.raises(FileNotFoundError, match="CLIP ViT-L/14"):
        _build("aesthetic", tiny_settings, aesthetic=AestheticOptions(str(tmp_path / "no_clip"), None))
