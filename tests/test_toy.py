"""vcd.toy: synthetic training videos and the two pre-training phases, on a tiny model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tiny import CAPTIONS, TINY_ARCHITECTURE, TINY_TOY
from vcd.layout import Layout
from vcd.models import build_toy_pipeline, load_pipeline
from vcd.settings import PretrainConfig, parse
from vcd.toy import (
    causal_parts_l1,
    encode_videos,
    latent_statistics,
    make_training_videos,
    pretrain_toy,
    train_transformer,
    train_vae,
)
from vcd.training_images import training_sources

SIZE = (32, 32)


@pytest.fixture(scope="module")
def images() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {f"im{k}": torch.rand(3, 40, 48, generator=g) for k in range(2)}


def _sources(images, seed=0):
    return training_sources(images, {k: f"photo {k}" for k in images}, 4, 2, SIZE, seed)


@pytest.fixture(scope="module")
def videos(images):
    return make_training_videos(_sources(images), num_frames=5, size=SIZE, seed=0)


def _pipe(videos, expand_timesteps: bool = True):
    architecture = dataclasses.replace(TINY_ARCHITECTURE, expand_timesteps=expand_timesteps)
    return build_toy_pipeline(architecture, [v.caption for v in videos] + CAPTIONS, seed=0, flow_shift=3.0)


def test_training_videos_are_seeded_and_captioned(images, videos):
    assert len(videos) == 6
    assert all(v.frames.shape == (5, 3, SIZE[1], SIZE[0]) for v in videos)
    photo_videos = [v for v in videos if v.image_id != "procedural"]
    assert len(photo_videos) == 4
    assert all(v.caption.startswith(f"photo {v.image_id}, ") and v.caption.endswith(v.motion) for v in photo_videos)
    again = make_training_videos(_sources(images), 5, SIZE, seed=0)
    assert all(torch.equal(a.frames, b.frames) and a.caption == b.caption for a, b in zip(videos, again))
    other = make_training_videos(_sources(images, seed=1), 5, SIZE, seed=1)
    assert any(not torch.equal(a.frames, b.frames) for a, b in zip(videos, other))


def test_the_first_frame_of_a_training_video_is_its_unmoved_source_view(images):
    """The conditioning image the transformer is trained with (frame 1) is the view the
    motion starts from: the same for every motion of one source."""
    from vcd.synthetic import render_view

    sources = _sources(images)
    for video, source in zip(make_training_videos(sources, 5, SIZE, seed=0), sources, strict=True):
        one = torch.ones(1)
        start = render_view(source.image, SIZE, one, 0 * one, 0 * one)[0]
        if video.motion not in ("the light gets brighter", "the light dims", "an object moves across the scene"):
            torch.testing.assert_close(video.frames[0], start, atol=1e-6, rtol=0)


def test_vae_training_is_seeded_and_leaves_contiguous_weights(videos):
    logs = []
    for _ in range(2):
        pipe = _pipe(videos)
        logs.append(
            train_vae(
                pipe.vae,
                videos,
                steps=12,
                batch_size=2,
                lr=5e-3,
                clip_frames=5,
                kl_weight=1e-6,
                seed=0,
                crop=(16, 16),
                progress=False,
            )
        )
        # channels-last is a training-time layout only: what is saved is plain contiguous
        assert all(p.is_contiguous() for p in pipe.vae.parameters())
        assert not pipe.vae.training and not any(p.requires_grad for p in pipe.vae.parameters())
    assert list(logs[0].columns[:3]) == ["phase", "step", "loss"] and len(logs[0]) == 12
    assert np.isfinite(logs[0].loss).all()
    np.testing.assert_allclose(logs[0].loss, logs[1].loss, rtol=1e-5)


def test_batched_encoding_matches_one_video_at_a_time(videos):
    vae = _pipe(videos).vae
    batched = encode_videos(vae, videos, batch_size=4, progress=False)
    single = torch.cat([encode_videos(vae, [v], batch_size=1, progress=False) for v in videos])
    assert batched.shape[:2] == (len(videos), vae.config.z_dim)
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5)
    mean, std = latent_statistics(batched)
    per_channel = batched.transpose(0, 1).flatten(1)
    np.testing.assert_allclose(mean, per_channel.mean(1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, per_channel.std(1).clamp_min(1e-3).numpy(), rtol=1e-5)


@pytest.mark.parametrize("expand_timesteps", [True, False], ids=["wan2.2-given-first-frame", "wan2.1-concat"])
def test_transformer_training_uses_given_latents(videos, expand_timesteps):
    pipe = _pipe(videos, expand_timesteps)
    assert pipe.transformer.config.in_channels == (4 if expand_timesteps else 2 * 4 + 2)
    latents = encode_videos(pipe.vae, videos, progress=False)
    log = train_transformer(
        pipe, videos, steps=20, batch_size=2, lr=1e-3, seed=0, max_sequence_length=8, progress=False, latents=latents
    )
    assert len(log) == 20 and np.isfinite(log.loss).all()
    assert log.loss.iloc[-5:].mean() < log.loss.iloc[:5].mean()
    with pytest.raises(ValueError, match="latents has 2 videos, expected 6"):
        train_transformer(
            pipe,
            videos,
            steps=20,
            batch_size=2,
            lr=1e-3,
            seed=0,
            max_sequence_length=8,
            progress=False,
            latents=latents[:2],
        )


def test_pretrain_toy_saves_a_loadable_pipeline(tmp_path, tiny_settings):
    images = {f"im{k}": (np.random.default_rng(k).random((40, 48, 3)) * 255).astype(np.uint8) for k in range(2)}
    pretrain = parse(
        PretrainConfig,
        {
            "seed": 0,
            "sources": {"photo_views": 3, "procedural": 1, "grey_share": 0.25},
            "check_seeds": [0],
            "check_items": 1,
            "vae": {"steps": 10, "batch_size": 2, "clip_frames": 5, "crop": [16, 16], "lr": 5e-3, "kl_weight": 1e-6},
            "transformer": {"steps": 20, "batch_size": 2, "lr": 1e-3},
        },
        "pretrain",
    )
    pipe, log, videos = pretrain_toy(
        tiny_settings.model,
        pretrain,
        tiny_settings.video,
        images,
        {k: f"photo {k}" for k in images},
        CAPTIONS,
        held_out={"eval0"},
        progress=False,
    )
    assert set(log.phase) == {"vae", "transformer"} and len(videos) == 4
    assert len(pipe.vae.config.latents_mean) == TINY_TOY["vae"]["z_dim"]
    layout = Layout(tmp_path)
    pipe.save_pretrained(layout.base_model)
    loaded = load_pipeline(tiny_settings.model, layout, "cpu")
    for name in ("vae", "transformer"):
        for (key, a), b in zip(getattr(pipe, name).state_dict().items(), getattr(loaded, name).state_dict().values()):
            assert torch.equal(a, b), f"{name}.{key} changed through save/load"


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_short_schedules_work(videos, steps):
    """OneCycleLR divides by (warm-up fraction x steps - 1): the warm-up is stretched to
    2 steps (20 steps at 5 % divided by zero before); under 4 steps the rate is constant."""
    pipe = _pipe(videos)
    log = train_vae(
        pipe.vae, videos, steps=steps, batch_size=1, lr=1e-3, clip_frames=5, kl_weight=0.0, seed=0, progress=False
    )
    assert len(log) == steps and np.isfinite(log.loss).all()
    with pytest.raises(ValueError, match="at least 1 step"):
        train_vae(
            pipe.vae, videos, steps=0, batch_size=1, lr=1e-3, clip_frames=5, kl_weight=0.0, seed=0, progress=False
        )


def test_the_vae_loss_gives_frame_1_and_each_causal_chunk_equal_weight():
    target = torch.zeros(1, 3, 9, 4, 4)
    # an error of 1 only on frame 1: one part of three (frame 1 | frames 2-5 | frames 6-9)
    recon = target.clone()
    recon[:, :, 0] = 1
    assert causal_parts_l1(recon, target).item() == pytest.approx(1 / 3)
    # the same error spread over the second chunk counts the same
    recon = target.clone()
    recon[:, :, 5:] = 1
    assert causal_parts_l1(recon, target).item() == pytest.approx(1 / 3)
    # five frames: frame 1 and one chunk
    recon = torch.ones(1, 3, 5, 4, 4)
    recon[:, :, 1:] = 0
    assert causal_parts_l1(recon, torch.zeros_like(recon)).item() == pytest.approx(1 / 2)
    assert causal_parts_l1(torch.ones(1, 3, 1, 2, 2), torch.zeros(1, 3, 1, 2, 2)).item() == pytest.approx(1)
