"""The toy base model of the embedded profile: training data and pre-training.

The paper fine-tunes pre-trained Wan/Open-Sora models; none can be downloaded here, so
the default profile trains its own small ``WanImageToVideoPipeline`` (architecture in
``model.toy``) on synthetic videos rendered from a large pool of still images -- views
of the embedded *training* photographs and procedural images (:mod:`vcd.training_images`;
never an evaluation image): camera pans and zooms, moving cut-out objects and lighting
changes (:mod:`vcd.synthetic`), each captioned with the image's caption plus the motion
("..., camera pans left").

Pre-training has two phases, both plain PyTorch over the diffusers modules:

1. the Wan VAE as an autoencoder on short clips (L1 + a small KL term);
2. the Wan transformer by flow matching on the VAE's latents (rectified flow, the
   objective Wan is trained with): x_t = (1 - s) x_0 + s eps, target eps - x_0, with
   the first-frame condition built by the pipeline's own ``prepare_latents``.

The model copies its conditioning image into frame 1, moves as the prompt says and
drifts away from the image over later frames -- the failure VCD fine-tuning addresses
(Fig. 1 top); :mod:`vcd.fidelity` measures each of these, on held-out images.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .settings import ModelSettings, PretrainConfig, VideoSpec
from .synthetic import lighting, moving_object, pan, zoom
from .training_images import SourceImage, training_sources

__all__ = [
    "TrainingVideo",
    "make_training_videos",
    "train_vae",
    "causal_parts_l1",
    "encode_videos",
    "latent_statistics",
    "train_transformer",
    "shifted_sigmas",
    "pretrain_toy",
]

_PANS = {"pans right": 0.0, "pans left": math.pi, "tilts down": math.pi / 2, "tilts up": -math.pi / 2}


@dataclass
class TrainingVideo:
    frames: torch.Tensor  # [T, 3, H, W] in [0, 1]
    caption: str
    image_id: str
    motion: str


def make_training_videos(
    sources: Sequence[SourceImage],
    num_frames: int,
    size: tuple[int, int],
    seed: int,
) -> list[TrainingVideo]:
    """One synthetic natural-motion video per source image (:mod:`vcd.training_images`).

    Motions are drawn with a seeded generator: pans/tilts (4 directions), zoom in/out,
    a cut-out from another source moving across, brighter/darker light, and a static
    shot; strengths vary. The caption is the source's caption plus the motion. Frame 1
    of every video is the unmoved view of its source: the conditioning image the
    transformer is trained with is exactly the video's first frame.
    """
    rng = np.random.default_rng(int(seed))
    videos: list[TrainingVideo] = []
    for source in sources:
        image = source.image
        kind = rng.choice(["pan", "zoom", "object", "light", "static"], p=[0.45, 0.2, 0.15, 0.1, 0.1])
        if kind == "pan":
            phrase = str(rng.choice(list(_PANS)))
            frames = pan(image, num_frames, size, strength=float(rng.uniform(0.08, 0.2)), direction=_PANS[phrase])
            motion = f"camera {phrase}"
        elif kind == "zoom":
            zoom_in = bool(rng.random() < 0.5)
            strength = float(rng.uniform(0.15, 0.4))
            frames = zoom(image, num_frames, size, strength=strength if zoom_in else -strength / (1 + strength))
            motion = "camera zooms in" if zoom_in else "camera zooms out"
        elif kind == "object":
            other = sources[int(rng.integers(len(sources)))].image
            frames = moving_object(
                image,
                num_frames,
                size,
                strength=float(rng.uniform(0.2, 0.4)),
                obj=other,
                seed=int(rng.integers(1 << 31)),
            )
            motion = "an object moves across the scene"
        elif kind == "light":
            brighter = bool(rng.random() < 0.5)
            frames = lighting(image, num_frames, size, strength=float(rng.uniform(0.1, 0.3)) * (1 if brighter else -1))
            motion = "the light gets brighter" if brighter else "the light dims"
        else:
            frames = pan(image, num_frames, size, strength=0.0)
            motion = "camera static"
        videos.append(TrainingVideo(frames.contiguous(), f"{source.caption}, {motion}", source.origin, motion))
    return videos


def _seeded(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))


def _adamw_one_cycle(parameters, lr: float, steps: int, warmup: float, weight_decay: float):
    """AdamW with a one-cycle schedule (``warmup``: fraction of steps ramping up, at least
    2); schedules of fewer than 4 steps (smoke tests) keep the learning rate constant."""
    if int(steps) < 1:
        raise ValueError(f"pre-training needs at least 1 step per phase; got {steps}")
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    if int(steps) < 4:
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    # OneCycleLR divides by (warmup * steps - 1): fewer than 2 warm-up steps would divide by zero
    pct_start = max(float(warmup), 2.0 / int(steps))
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=int(steps), pct_start=pct_start
    )


def causal_parts_l1(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error of ``recon`` against ``target`` ([B, C, T, H, W]), averaged with
    equal weight over the parts Wan's causal VAE encodes separately: frame 1, then chunks
    of 4 frames (``AutoencoderKLWan._encode``)."""
    num_frames = target.shape[2]
    bounds = [0, 1, *range(5, num_frames, 4), num_frames]
    parts = [(recon[:, :, a:b] - target[:, :, a:b]).abs().mean() for a, b in zip(bounds, bounds[1:]) if b > a]
    return torch.stack(parts).mean()


def train_vae(
    vae,
    videos: Sequence[TrainingVideo],
    steps: int,
    batch_size: int,
    lr: float,
    clip_frames: int,
    kl_weight: float,
    seed: int,
    crop: Sequence[int] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train the Wan VAE as an autoencoder on random clips.

    ``clip_frames`` = 1 + 4k keeps whole chunks of Wan's causal VAE (which encodes the
    first frame, then chunks of 4); at least 9 frames show it the chunk-to-chunk cache
    it uses on longer videos (trained on 5-frame clips, the shipped toy of 0a5e4db
    reconstructed frames 2-5 of 9-frame videos at SSIM 0.83 and frames 6-9 at 0.41-0.61,
    which turned the base model's later frames green). ``crop`` = (h, w) trains on
    random spatial crops (the VAE is fully convolutional), much cheaper per clip than
    whole frames. Loss: L1 in [-1, 1], averaged over the clip's causal parts (the first
    frame, encoded alone -- the conditioning image's path -- and each 4-frame chunk,
    with equal weight, so that longer clips do not dilute the first frame) +
    ``kl_weight`` * KL of the posterior (a sampled latent; with ``kl_weight`` 0 the
    posterior mean, a plain autoencoder); one-cycle learning-rate schedule.
    """
    step_px = int(vae.config.scale_factor_spatial)
    vae.train()
    vae.requires_grad_(True)
    conv3d = [m for m in vae.modules() if isinstance(m, torch.nn.Conv3d)]
    if next(vae.parameters()).device.type == "cpu":
        # oneDNN's channels-last 3-D convolutions train the VAE faster on the CPU (README,
        # Performance); the weights go back to contiguous below, the layout safetensors saves.
        for m in conv3d:
            m.weight.data = m.weight.data.contiguous(memory_format=torch.channels_last_3d)
    optimizer, schedule = _adamw_one_cycle(vae.parameters(), lr, steps, warmup=0.1, weight_decay=0.0)
    rows, start = [], time.perf_counter()
    # mininterval: a bar in an executed notebook keeps every refresh; one per 10 s is enough
    for step in tqdm(range(steps), desc="VAE", disable=not progress, mininterval=10):
        g = _seeded(seed, step)
        picks = torch.randint(len(videos), (batch_size,), generator=g)
        clips = []
        for p in picks.tolist():
            frames = videos[p].frames
            begin = int(torch.randint(frames.shape[0] - clip_frames + 1, (1,), generator=g))
            clip = frames[begin : begin + clip_frames]
            if crop:
                ch, cw = int(crop[0]), int(crop[1])
                top = int(torch.randint(0, (clip.shape[-2] - ch) // step_px + 1, (1,), generator=g)) * step_px
                left = int(torch.randint(0, (clip.shape[-1] - cw) // step_px + 1, (1,), generator=g)) * step_px
                clip = clip[..., top : top + ch, left : left + cw]
            clips.append(clip)
        x = torch.stack(clips).permute(0, 2, 1, 3, 4) * 2 - 1  # [B, 3, T, H, W] in [-1, 1]
        posterior = vae.encode(x).latent_dist
        # kl_weight 0: a plain autoencoder on the posterior mean, the latent every later
        # use decodes (encode_videos, the pipeline's first-frame condition)
        z = posterior.mean
        if kl_weight > 0:
            z = z + posterior.std * torch.randn(posterior.mean.shape, generator=g)
        recon = vae.decode(z).sample
        l1 = causal_parts_l1(recon, x)
        kl = posterior.kl().mean() / x[0].numel()
        loss = l1 + kl_weight * kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        rows.append(
            {
                "phase": "vae",
                "step": step + 1,
                "loss": float(loss.detach()),
                "l1": float(l1.detach()),
                "kl": float(kl.detach()),
                "seconds": time.perf_counter() - start,
            }
        )
    for m in conv3d:
        m.weight.data = m.weight.data.contiguous()
    vae.eval()
    vae.requires_grad_(False)
    return pd.DataFrame(rows)


@torch.no_grad()
def encode_videos(vae, videos: Sequence[TrainingVideo], batch_size: int = 16, progress: bool = True) -> torch.Tensor:
    """Posterior means of the training videos -> [V, z, F, h, w] on the CPU, computed once
    for the latent statistics and the transformer's targets, in batches (faster than one
    video at a time)."""
    device = next(vae.parameters()).device
    means = []
    for start in tqdm(range(0, len(videos), batch_size), desc="encoding videos", disable=not progress, mininterval=10):
        x = (
            torch.stack([v.frames for v in videos[start : start + batch_size]]).permute(0, 2, 1, 3, 4).to(device) * 2
            - 1
        )
        means.append(vae.encode(x).latent_dist.mean.cpu())
    return torch.cat(means)


def latent_statistics(latents: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the posterior means ``latents`` ([V, z, F, h, w], from
    :func:`encode_videos`); stored as the VAE's ``latents_mean`` / ``latents_std`` so that
    normalised latents have unit variance, as Wan's released VAE does."""
    z = latents.transpose(0, 1).flatten(1)  # [z, V * F * h * w]
    return z.mean(dim=1).tolist(), z.std(dim=1).clamp_min(1e-3).tolist()


def shifted_sigmas(u: torch.Tensor, shift: float) -> torch.Tensor:
    """The flow-matching noise level distribution matching the sampler's shifted schedule
    (``FlowMatchEulerDiscreteScheduler(shift)``): s = shift u / (1 + (shift - 1) u)."""
    return shift * u / (1 + (shift - 1) * u)


def train_transformer(
    pipe,
    videos: Sequence[TrainingVideo],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    max_sequence_length: int,
    progress: bool = True,
    latents: torch.Tensor | None = None,
) -> pd.DataFrame:
    """Flow-matching training of the pipeline's transformer on the VAE latents.

    Latents (``latents``: the videos' posterior means from :func:`encode_videos`, encoded
    here when not given), first-frame conditions and prompt embeddings are computed once
    with the pipeline's own functions (so training sees exactly what sampling will feed in).
    """
    from .sampling import encode_conditions, token_timesteps

    device = pipe._execution_device
    vae = pipe.vae
    z_dim = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z_dim, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, z_dim, 1, 1, 1)
    _, _, height, width = videos[0].frames.shape
    num_frames = videos[0].frames.shape[0]
    if latents is None:
        latents = encode_videos(vae, videos, progress=progress)
    if latents.shape[0] != len(videos):
        raise ValueError(f"latents has {latents.shape[0]} videos, expected {len(videos)}")
    x0 = (latents - mean) / std
    with torch.no_grad():
        cond = encode_conditions(
            pipe,
            [v.frames[0] for v in videos],
            [v.caption for v in videos],
            num_frames,
            height,
            width,
            torch.Generator().manual_seed(int(seed)),
            max_sequence_length=max_sequence_length,
        )
    condition, prompt_embeds = cond.condition.cpu(), cond.prompt_embeds.cpu()
    # Wan2.2 (expand_timesteps): the first latent frame is the image's latent, clean, at
    # timestep 0, and only the other frames are denoised (and count in the loss)
    given = cond.first_frame_mask.cpu() if cond.first_frame_mask is not None else None
    patch = tuple(pipe.transformer.config.patch_size)
    shift = float(pipe.scheduler.config.shift)
    transformer = pipe.transformer
    transformer.train()
    transformer.requires_grad_(True)
    optimizer, schedule = _adamw_one_cycle(transformer.parameters(), lr, steps, warmup=0.05, weight_decay=0.01)
    rows, start = [], time.perf_counter()
    for step in tqdm(range(steps), desc="transformer", disable=not progress, mininterval=10):
        g = _seeded(seed + 1, step)
        picks = torch.randint(len(videos), (batch_size,), generator=g)
        clean = x0[picks]
        noise = torch.randn(clean.shape, generator=g)
        sigma = shifted_sigmas(torch.rand(batch_size, generator=g), shift).view(-1, 1, 1, 1, 1)
        noisy = (1 - sigma) * clean + sigma * noise
        if given is None:
            model_input = torch.cat([noisy, condition[picks]], dim=1)
            timestep = sigma.flatten() * 1000
            weight = torch.ones_like(clean[:, :1])
        else:
            model_input = (1 - given) * condition[picks] + given * noisy
            timestep = torch.cat([token_timesteps(given, s * 1000, patch) for s in sigma.flatten()])
            weight = given.expand_as(clean[:, :1])
        pred = transformer(
            hidden_states=model_input.to(device),
            timestep=timestep.to(device),
            encoder_hidden_states=prompt_embeds[picks].to(device),
            return_dict=False,
        )[0]
        error = (pred.float() - (noise - clean).to(device)).pow(2) * weight.to(device)
        loss = error.sum() / (weight.sum().to(device) * clean.shape[1])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        rows.append(
            {
                "phase": "transformer",
                "step": step + 1,
                "loss": float(loss.detach()),
                "seconds": time.perf_counter() - start,
            }
        )
    transformer.eval()
    transformer.requires_grad_(False)
    return pd.DataFrame(rows)


def pretrain_toy(
    model: ModelSettings,
    pretrain: PretrainConfig,
    video: VideoSpec,
    train_images: Mapping[str, np.ndarray],
    train_captions: Mapping[str, str],
    vocabulary_texts: Sequence[str],
    held_out: Set[str] = frozenset(),
    progress: bool = True,
) -> tuple[Any, pd.DataFrame, list[TrainingVideo]]:
    """Build and train the toy base model; returns (pipeline, training log, videos).

    ``vocabulary_texts`` are the captions whose words the toy tokenizer knows (every
    caption of the split manifests, so evaluation prompts are not all ``<unk>``); the
    words' embeddings come from the frozen random text encoder. The training videos
    are rendered from views of the training photographs and procedural images
    (``pretrain.sources``); ``held_out`` (the evaluation ids) must not be among
    ``train_images``.
    """
    from .frames import to_tensor
    from .models import build_toy_pipeline

    seed = pretrain.seed
    photos = {k: to_tensor(v) for k, v in train_images.items()}
    pool = pretrain.sources
    sources = training_sources(
        photos, train_captions, pool.photo_views, pool.procedural, video.size, seed, held_out, pool.grey_share
    )
    videos = make_training_videos(sources, video.num_frames, video.size, seed)
    pipe = build_toy_pipeline(model.toy, [v.caption for v in videos] + list(vocabulary_texts), seed, model.flow_shift)
    vae_cfg = pretrain.vae
    log_vae = train_vae(
        pipe.vae,
        videos,
        vae_cfg.steps,
        vae_cfg.batch_size,
        vae_cfg.lr,
        vae_cfg.clip_frames,
        vae_cfg.kl_weight,
        seed,
        crop=vae_cfg.crop,
        progress=progress,
    )
    latents = encode_videos(pipe.vae, videos, progress=progress)
    mean, std = latent_statistics(latents)
    pipe.vae.register_to_config(latents_mean=mean, latents_std=std)
    tr_cfg = pretrain.transformer
    log_tr = train_transformer(
        pipe,
        videos,
        tr_cfg.steps,
        tr_cfg.batch_size,
        tr_cfg.lr,
        seed,
        model.max_sequence_length,
        progress=progress,
        latents=latents,
    )
    for component in (pipe.vae, pipe.transformer, pipe.text_encoder):
        component.requires_grad_(False)
        component.eval()
    return pipe, pd.concat([log_vae, log_tr], ignore_index=True), videos
