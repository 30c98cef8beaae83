"""Sampling from a ``WanImageToVideoPipeline`` with optional gradients.

``WanImageToVideoPipeline.__call__`` runs under ``torch.no_grad``; reward fine-tuning
(Sec. 3.2; VADER) needs the same denoising loop with autograd on for the last K steps.
:func:`sample_latents` is that loop, built from the pipeline's own pieces
(``encode_prompt``, ``encode_image``, ``prepare_latents``, the scheduler and the
transformer) so it stays in step with diffusers; a test checks that without gradients
it reproduces ``pipe(..., output_type="latent")`` exactly.

Decoding exploits the causality of Wan's VAE: latent frame 0 decodes to pixel frame
0 and latent frame j to pixel frames 4j-3..4j, each depending only on earlier latents,
so decoding the prefix of latents up to the last frame a reward needs yields exactly
those frames of the full decode, at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from .frames import to_uint8
from .settings import SamplingConfig

__all__ = [
    "Conditions",
    "encode_conditions",
    "token_timesteps",
    "sample_latents",
    "latent_frames_needed",
    "decode_frames",
    "generate_video",
]


@dataclass
class Conditions:
    """Everything the denoiser is conditioned on, computed once per batch (no grad)."""

    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor | None
    image_embeds: torch.Tensor | None
    latents: torch.Tensor  # initial noise
    condition: torch.Tensor  # mask + first-frame latents (Wan2.1) or first-frame latents (Wan2.2)
    first_frame_mask: torch.Tensor | None  # Wan2.2 (expand_timesteps) only
    num_frames: int


def _to_pil(image: Image.Image | np.ndarray | torch.Tensor) -> Image.Image:
    """A conditioning image as PIL: uint8 [H, W, 3], float [3, H, W] in [0, 1], or PIL."""
    if isinstance(image, torch.Tensor):
        return Image.fromarray(to_uint8(image))
    if isinstance(image, np.ndarray):
        return Image.fromarray(image)
    return image


def _to_pixel_batch(images: Sequence[Image.Image], height: int, width: int, pipe) -> torch.Tensor:
    """Conditioning images -> [B, 3, H, W] in [-1, 1] via the pipeline's video processor."""
    return torch.cat([pipe.video_processor.preprocess(image, height=height, width=width) for image in images])


def check_video_shape(pipe, num_frames: int, height: int, width: int) -> None:
    """Whether ``pipe`` can generate videos of this shape (its VAE's compression and the
    transformer's patches); raises ``ValueError`` saying what fits. Cheap: callers run it
    before they touch any output."""
    if num_frames < 2 or (num_frames - 1) % pipe.vae_scale_factor_temporal:
        raise ValueError(f"num_frames - 1 must be divisible by {pipe.vae_scale_factor_temporal}; got {num_frames}")
    multiple = pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]
    if height % multiple or width % multiple:
        raise ValueError(f"height and width must be multiples of {multiple}; got {width}x{height}")


@torch.no_grad()
def encode_conditions(
    pipe,
    images: Sequence[Any],
    prompts: Sequence[str],
    num_frames: int,
    height: int,
    width: int,
    generator: torch.Generator | list[torch.Generator],
    guidance_scale: float = 1.0,
    negative_prompt: str | None = None,
    max_sequence_length: int = 512,
) -> Conditions:
    """Prompt/image embeddings, initial noise and the first-frame condition for a batch
    of (image, prompt) pairs, exactly as ``WanImageToVideoPipeline.__call__`` builds them."""
    device = pipe._execution_device
    if len(images) != len(prompts):
        raise ValueError(f"got {len(images)} images but {len(prompts)} prompts")
    check_video_shape(pipe, num_frames, height, width)
    do_cfg = guidance_scale > 1.0
    prompt_embeds, negative_embeds = pipe.encode_prompt(
        prompt=list(prompts),
        negative_prompt=[negative_prompt or ""] * len(prompts) if do_cfg else None,
        do_classifier_free_guidance=do_cfg,
        num_videos_per_prompt=1,
        max_sequence_length=max_sequence_length,
        device=device,
    )
    dtype = pipe.transformer.dtype
    prompt_embeds = prompt_embeds.to(dtype)
    negative_embeds = negative_embeds.to(dtype) if negative_embeds is not None else None
    image_embeds = None
    pil_images = [_to_pil(im) for im in images]
    if pipe.transformer.config.image_dim is not None:
        image_embeds = torch.cat([pipe.encode_image(im, device) for im in pil_images]).to(dtype)
    pixels = _to_pixel_batch(pil_images, height, width, pipe).to(device, torch.float32)
    gens = generator if isinstance(generator, list) else [generator] * len(images)
    # One prepare_latents call per distinct image: it draws the noise from that item's
    # generator and VAE-encodes the conditioning video. Items repeating an image (the
    # seeds of one evaluation item) reuse its encoding and draw their noise exactly as
    # prepare_latents would, so the result is bit-identical to one call per item.
    # (diffusers' own list-of-generators path would encode the whole batch once per item.)
    from diffusers.utils.torch_utils import randn_tensor

    outputs: dict[int, tuple] = {}
    latents_list, condition_list = [], []
    for b in range(len(images)):
        a = next((a for a in outputs if torch.equal(pixels[a], pixels[b])), b)  # the first item with this image
        if a == b:
            outputs[b] = pipe.prepare_latents(
                pixels[b : b + 1], 1, pipe.vae.config.z_dim, height, width, num_frames, torch.float32, device, gens[b]
            )
            latents_list.append(outputs[b][0])
        else:
            latents_list.append(
                randn_tensor(outputs[a][0].shape, generator=gens[b], device=device, dtype=torch.float32)
            )
        condition_list.append(outputs[a][1])
    latents = torch.cat(latents_list)
    condition = torch.cat(condition_list)
    first_frame_mask = outputs[0][2] if pipe.config.expand_timesteps else None
    return Conditions(prompt_embeds, negative_embeds, image_embeds, latents, condition, first_frame_mask, num_frames)


def sample_latents(
    pipe,
    cond: Conditions,
    num_inference_steps: int,
    guidance_scale: float = 1.0,
    grad_steps: int = 0,
    progress: bool = False,
    transformer: torch.nn.Module | None = None,
) -> torch.Tensor:
    """Run the denoising loop; autograd is on only for the last ``grad_steps`` steps.

    ``grad_steps=0`` is plain sampling; ``grad_steps=K`` is truncated backpropagation
    through the last K steps (K = 1 in the paper, Sec. 4.1: "we only backpropagated
    through the final denoising step"). Earlier steps run under ``no_grad``, so their
    activations are never stored, and in eval mode: dropout (LoRA's) acts only where
    gradients flow, and the rollout before them is the model's own sampler. (VADER
    leaves dropout on in every step; on the CPU that costs time for noise on steps
    nothing is learned from; README, design notes.) ``transformer``
    overrides ``pipe.transformer`` (e.g. the DDP-wrapped module ``accelerate`` returns).
    """
    if not 0 <= grad_steps <= num_inference_steps:
        raise ValueError(f"grad_steps (K) must be in 0..num_inference_steps={num_inference_steps}; got {grad_steps}")
    transformer = transformer if transformer is not None else pipe.transformer
    scheduler = pipe.scheduler
    device = cond.latents.device
    scheduler.set_timesteps(num_inference_steps, device=device)
    timesteps = scheduler.timesteps
    latents = cond.latents
    do_cfg = guidance_scale > 1.0
    dtype = pipe.transformer.dtype
    iterator = enumerate(timesteps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=len(timesteps), desc="denoising", leave=False)
    was_training = transformer.training
    for step, t in iterator:
        with_grad = step >= num_inference_steps - grad_steps
        transformer.train(was_training and with_grad)
        with torch.set_grad_enabled(with_grad):
            if cond.first_frame_mask is not None:  # Wan2.2: the first latent frame is given, not denoised
                mask = cond.first_frame_mask
                model_input = ((1 - mask) * cond.condition + mask * latents).to(dtype)
                timestep = token_timesteps(mask, t, transformer.config.patch_size).expand(latents.shape[0], -1)
            else:
                model_input = torch.cat([latents, cond.condition], dim=1).to(dtype)
                timestep = t.expand(latents.shape[0])
            noise_pred = transformer(
                hidden_states=model_input,
                timestep=timestep,
                encoder_hidden_states=cond.prompt_embeds,
                encoder_hidden_states_image=cond.image_embeds,
                return_dict=False,
            )[0]
            if do_cfg:
                noise_uncond = transformer(
                    hidden_states=model_input,
                    timestep=timestep,
                    encoder_hidden_states=cond.negative_prompt_embeds,
                    encoder_hidden_states_image=cond.image_embeds,
                    return_dict=False,
                )[0]
                noise_pred = noise_uncond + guidance_scale * (noise_pred - noise_uncond)
            latents = scheduler.step(noise_pred, t, latents, return_dict=False)[0]
    transformer.train(was_training)
    if cond.first_frame_mask is not None:
        latents = (1 - cond.first_frame_mask) * cond.condition + cond.first_frame_mask * latents
    return latents


def token_timesteps(first_frame_mask: torch.Tensor, t: torch.Tensor, patch_size: Sequence[int]) -> torch.Tensor:
    """Wan2.2's per-token timesteps ([1, tokens]): ``t`` everywhere except the tokens of
    the given first latent frame, which are at 0 (clean). diffusers' pipeline samples the
    mask every 2 latent pixels, the patch of Wan2.2; this follows the transformer's own
    ``patch_size`` (t, h, w), so toys with other patches work too."""
    pt, ph, pw = (int(p) for p in patch_size)
    return (first_frame_mask[0][0][::pt, ::ph, ::pw] * t).flatten().unsqueeze(0)


def latent_frames_needed(frame_indices: Sequence[int], temporal_factor: int) -> int:
    """Number of leading latent frames whose causal decode contains the 0-based pixel
    frames ``frame_indices`` (pixel frame f lives in latent frame ceil(f / factor))."""
    last = max(int(f) for f in frame_indices)
    return 1 + (last + temporal_factor - 1) // temporal_factor


def decode_frames(pipe, latents: torch.Tensor, frame_indices: Sequence[int] | None = None) -> torch.Tensor:
    """Decode latents to frames [B, F, 3, H, W] in [0, 1] (differentiable).

    With ``frame_indices`` (0-based), only the causal prefix of latents that contains
    them is decoded, and only those frames are returned, in the given order.
    """
    vae = pipe.vae
    z_dim = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean, device=latents.device, dtype=torch.float32).view(1, z_dim, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std, device=latents.device, dtype=torch.float32).view(1, z_dim, 1, 1, 1)
    if frame_indices is not None:
        latents = latents[:, :, : latent_frames_needed(frame_indices, pipe.vae_scale_factor_temporal)]
    z = latents.to(torch.float32) * std + mean
    video = vae.decode(z.to(vae.dtype), return_dict=False)[0]  # [B, 3, F, H, W] in [-1, 1]
    frames = ((video.float() + 1) / 2).clamp(0, 1).permute(0, 2, 1, 3, 4)
    if frame_indices is not None:
        frames = frames[:, list(frame_indices)]
    return frames


@torch.no_grad()
def generate_video(
    pipe, images: Sequence[Any], prompts: Sequence[str], seeds: Sequence[int], sampling: SamplingConfig
) -> torch.Tensor:
    """Generate one video per (image, prompt, seed) -> [B, N, 3, H, W] in [0, 1]."""
    device = pipe._execution_device
    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
    cond = encode_conditions(
        pipe,
        images,
        prompts,
        sampling.num_frames,
        sampling.height,
        sampling.width,
        generators,
        sampling.guidance_scale,
        max_sequence_length=sampling.max_sequence_length,
    )
    latents = sample_latents(pipe, cond, sampling.num_inference_steps, sampling.guidance_scale, grad_steps=0)
    return decode_frames(pipe, latents.to(device))
