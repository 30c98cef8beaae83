"""The differentiable sampler matches the pipeline; truncated backprop; causal decoding."""

from __future__ import annotations

from unittest.mock import patch

import pytest
import torch

from vcd.models import add_lora, load_pipeline
from vcd.sampling import decode_frames, encode_conditions, generate_video, latent_frames_needed, sample_latents
from vcd.settings import SamplingConfig


@pytest.fixture()
def pipe(tiny_settings, tiny_layout):
    return load_pipeline(tiny_settings.model, tiny_layout, "cpu")


def _sampling(num_frames=5, size=32, steps=2) -> SamplingConfig:
    return SamplingConfig(num_frames, size, size, steps, 1.0, 8)


@pytest.mark.parametrize("scheduler", ["flow_match_euler", "published_unipc"])
def test_sampler_reproduces_the_pipeline_call(pipe, scheduler):
    """With the toy's flow-matching Euler and with the UniPC scheduler Wan's repositories
    ship (the paper profile keeps it: model.flow_shift null)."""
    if scheduler == "published_unipc":
        from vcd.architectures import published_scheduler

        pipe.scheduler = published_scheduler()
    image = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(3))
    from PIL import Image

    pil = Image.fromarray((image.permute(1, 2, 0).numpy() * 255).round().astype("uint8"))
    expected = pipe(
        image=pil,
        prompt="a red cup",
        height=32,
        width=32,
        num_frames=5,
        num_inference_steps=3,
        guidance_scale=1.0,
        generator=torch.Generator().manual_seed(7),
        output_type="latent",
        max_sequence_length=8,
    ).frames
    cond = encode_conditions(
        pipe, [pil], ["a red cup"], 5, 32, 32, torch.Generator().manual_seed(7), max_sequence_length=8
    )
    ours = sample_latents(pipe, cond, 3, grad_steps=0)
    torch.testing.assert_close(ours, expected, rtol=0, atol=0)


def test_truncated_backprop_reaches_lora_through_the_last_steps_only(pipe, tiny_settings):
    add_lora(pipe.transformer, tiny_settings.finetune.lora)
    lora_b = [p for n, p in pipe.transformer.named_parameters() if "lora_B" in n]
    with torch.no_grad():
        for p in lora_b:
            p.normal_(std=0.01)
    cond = encode_conditions(
        pipe, [torch.rand(3, 32, 32)], ["a cat"], 5, 32, 32, torch.Generator().manual_seed(0), max_sequence_length=8
    )
    calls = []
    hook = pipe.transformer.register_forward_hook(lambda m, i, o: calls.append((torch.is_grad_enabled(), m.training)))
    pipe.transformer.train()
    latents = sample_latents(pipe, cond, 3, grad_steps=1)
    hook.remove()
    # autograd (and dropout: train mode) on for the final denoising step only; the mode is restored
    assert calls == [(False, False), (False, False), (True, True)]
    assert pipe.transformer.training
    pipe.transformer.eval()
    sample_latents(pipe, cond, 3, grad_steps=0)
    assert not pipe.transformer.training
    latents.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in lora_b)
    assert all(p.grad is None for n, p in pipe.transformer.named_parameters() if "lora_" not in n)
    with pytest.raises(ValueError, match="grad_steps"):
        sample_latents(pipe, cond, 3, grad_steps=4)


def test_prefix_decoding_is_exact(pipe):
    cond = encode_conditions(
        pipe, [torch.rand(3, 32, 32)], ["gravel"], 5, 32, 32, torch.Generator().manual_seed(1), max_sequence_length=8
    )
    latents = sample_latents(pipe, cond, 2)
    with torch.no_grad():
        full = decode_frames(pipe, latents)
        part = decode_frames(pipe, latents, [0, 2])
    assert full.shape == (1, 5, 3, 32, 32)
    torch.testing.assert_close(part, full[:, [0, 2]], rtol=1e-5, atol=1e-5)
    assert (
        latent_frames_needed([0, 2], 2) == 2
        and latent_frames_needed([0], 4) == 1
        and latent_frames_needed([4, 1], 4) == 2
    )


def test_generation_is_seeded_and_validates_shapes(pipe):
    image = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    a = generate_video(pipe, [image] * 2, ["x", "x"], [1, 2], _sampling())
    b = generate_video(pipe, [image] * 2, ["x", "x"], [1, 2], _sampling())
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a[0], a[1])
    with pytest.raises(ValueError, match="num_frames - 1 must be divisible by 2"):
        generate_video(pipe, [torch.rand(3, 32, 32)], ["x"], [0], _sampling(num_frames=6))
    with pytest.raises(ValueError, match="multiples of 8"):
        generate_video(pipe, [torch.rand(3, 36, 36)], ["x"], [0], _sampling(size=36))


def test_repeated_images_are_encoded_once_with_identical_results(pipe):
    """Seeds of one item share the conditioning encoding; noise and condition are exactly
    those of one call per item."""
    images = [torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(k)) for k in (1, 2)]
    batch = [images[0], images[0], images[1], images[0]]
    seeds = [5, 6, 7, 8]
    with patch.object(pipe.vae, "encode", wraps=pipe.vae.encode) as encode:
        joint = encode_conditions(
            pipe,
            batch,
            ["a cat"] * 4,
            5,
            32,
            32,
            [torch.Generator().manual_seed(s) for s in seeds],
            max_sequence_length=8,
        )
    assert encode.call_count == 2  # one per distinct image
    single = [
        encode_conditions(pipe, [im], ["a cat"], 5, 32, 32, torch.Generator().manual_seed(s), max_sequence_length=8)
        for im, s in zip(batch, seeds)
    ]
    torch.testing.assert_close(joint.latents, torch.cat([c.latents for c in single]), rtol=0, atol=0)
    torch.testing.assert_close(joint.condition, torch.cat([c.condition for c in single]), rtol=0, atol=0)


@pytest.mark.parametrize("patch", [(1, 2, 2), (1, 4, 4), (2, 2, 2)])
def test_token_timesteps_follow_the_transformers_patch(patch):
    """One timestep per token: 0 on the given first latent frame, t elsewhere (diffusers
    hard-codes the 2 x 2 patch of Wan2.2; the toy may use others)."""
    from vcd.sampling import token_timesteps

    mask = torch.ones(1, 1, 4, 8, 12)
    mask[:, :, 0] = 0
    steps = token_timesteps(mask, torch.tensor(700.0), patch)
    per_frame = (8 // patch[1]) * (12 // patch[2])
    assert steps.shape == (1, (4 // patch[0]) * per_frame)
    if patch[0] == 1:
        assert torch.equal(steps[0, :per_frame], torch.zeros(per_frame))
        assert torch.equal(steps[0, per_frame:], torch.full((3 * per_frame,), 700.0))
