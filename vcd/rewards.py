"""Differentiable rewards for fine-tuning, in one registry (:func:`build_reward`).

Fine-tuning maximises J(theta) = E[R(X, c)] (Eq. 3). Every reward here returns the
objective it *minimises* (``loss``, [B]) and the reward (``reward``, [B]); for the VCD
family the loss is VCD itself, for score rewards it is the negated score.

A reward first makes a :class:`FramePlan` -- which frames it needs -- so the trainer
decodes only those (plus the causal prefix Wan's VAE needs), then scores them.

=====================  ==========================================================
``vcd``                VCD (Eq. 2) of a frame i ~ U{2..N} per video (paper preset)
``vcd_no_tw``          without the temporal weight (App. C.3, Table 5)
``vcd_l2``             L2 in frequency space (Eq. 4)
``vcd_feat``           WD in feature space (Eq. 5)
``vcd_amp``            amplitude term only (Table 1, "+Amp.")
``vcd_phase``          phase term only (Table 1, "+Phase")
``frame_consistency``  STAND-IN for the "+V-JEPA" baseline: reference-free
                       frame-to-frame feature similarity over the whole video
``icreward``           a learned (image, video) consistency reward, ICReward's
                       attention model (:mod:`vcd.reward_models`)
``mlp_reward``         ICReward's MLP baseline, trained the same way
``vjepa``              V-JEPA 2 masked-prediction consistency (``transformers``)
``aesthetic``          LAION aesthetic predictor (CLIP ViT-L/14 + MLP head), App. A
``hps``                HPS v2.x (a CLIP fine-tuned on human preferences), App. A
``pickscore``          PickScore (a CLIP fine-tuned on Pick-a-Pic), App. A
=====================  ==========================================================

Only the VCD family and the stand-in run in the embedded profile; the others load
real weights (offline: from the local cache or a folder) and are tested with tiny
random configurations of the same model classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .methods import LEARNED_REWARD_NAMES, REWARD_NAMES, STAND_INS
from .metric import VideoConsistencyDistance, metric_from_config, sample_frame_index
from .settings import RewardSettings, VCDConfig

__all__ = [
    "FramePlan",
    "RewardOutput",
    "Reward",
    "VCDReward",
    "FrameConsistencyReward",
    "VJEPA2Reward",
    "AestheticReward",
    "CLIPScoreReward",
    "LearnedConsistencyReward",
    "REWARDS",
    "build_reward",
]

_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class FramePlan:
    """Which 0-based frames a reward needs (``None`` = all) and any per-video choice."""

    frames: list[int] | None
    per_video: dict[str, Any] = field(default_factory=dict)


@dataclass
class RewardOutput:
    loss: torch.Tensor  # [B], minimised
    reward: torch.Tensor  # [B], maximised (J of Eq. 3)
    info: dict[str, Any] = field(default_factory=dict)


class Reward(nn.Module, ABC):
    """A differentiable reward of generated frames."""

    name: str = "reward"
    #: named and labelled as a stand-in for a method that cannot run here
    stand_in_for: str | None = None

    @abstractmethod
    def plan(self, batch_size: int, num_frames: int, generator: torch.Generator) -> FramePlan:
        """Frames to decode for this step (sampled with ``generator``)."""

    @abstractmethod
    def forward(
        self, frames: torch.Tensor, plan: FramePlan, num_frames: int, cond_images: torch.Tensor, prompts: Sequence[str]
    ) -> RewardOutput:
        """``frames``: [B, F, 3, H, W] in [0, 1], the planned frames in plan order
        (all N frames when ``plan.frames`` is None)."""

    def provenance(self) -> dict[str, str]:
        return {"reward": self.name, **({"stand_in_for": self.stand_in_for} if self.stand_in_for else {})}


# ------------------------------------------------------------------------ VCD family
class VCDReward(Reward):
    """Minimise VCD(x_cnd, x_i) with i ~ U{2..N} per video (Sec. 3.1-3.2, Fig. 2).

    ``condition_on="first_frame"`` uses the decoded first generated frame as x_cnd
    (the paper: "we set x_cnd = x_1"); ``"input_image"`` uses the conditioning image
    the model was given. Gradients flow into every decoded frame used.
    """

    def __init__(
        self,
        metric: VideoConsistencyDistance,
        name: str = "vcd",
        condition_on: str = "first_frame",
        resample_projections: bool = False,
    ) -> None:
        super().__init__()
        if condition_on not in ("first_frame", "input_image"):
            raise ValueError(f"condition_on must be 'first_frame' or 'input_image', got {condition_on!r}")
        self.metric = metric
        self.name = name
        self.condition_on = condition_on
        self.resample_projections = resample_projections

    def plan(self, batch_size: int, num_frames: int, generator: torch.Generator) -> FramePlan:
        index = sample_frame_index(batch_size, num_frames, generator)  # 1-based i
        needed = (
            sorted({0, *(index - 1).tolist()})
            if self.condition_on == "first_frame"
            else sorted(set((index - 1).tolist()))
        )
        return FramePlan(frames=needed, per_video={"frame_index": index})

    def forward(self, frames, plan, num_frames, cond_images, prompts) -> RewardOutput:
        if self.resample_projections:
            self.metric.resample_projections()
        index = plan.per_video["frame_index"]
        position = {f: k for k, f in enumerate(plan.frames)}
        rows = torch.arange(frames.shape[0], device=frames.device)
        x_i = frames[rows, torch.tensor([position[int(i) - 1] for i in index], device=frames.device)]
        x_cnd = frames[:, position[0]] if self.condition_on == "first_frame" else cond_images.to(frames.dtype)
        distance = self.metric.frame_distance(x_cnd, x_i)
        loss = self.metric.weights(index, num_frames).to(distance) * distance
        return RewardOutput(loss=loss, reward=-loss, info={"frame_index": index.tolist()})

    def provenance(self) -> dict[str, str]:
        return {**super().provenance(), "condition_on": self.condition_on, **self.metric.provenance()}


# ------------------------------------------------------------------------ stand-in
class FrameConsistencyReward(Reward):
    """STAND-IN for the paper's "+V-JEPA" baseline where V-JEPA cannot run.

    Reference-free whole-video consistency: 1 - mean cosine similarity between the
    globally pooled VGG19 features of consecutive frames. Like V-JEPA (Sec. 2.2), it
    rewards coherence across *all* generated frames and never looks at the
    conditioning image. It is not V-JEPA and is labelled as a stand-in wherever it
    appears.
    """

    stand_in_for = STAND_INS["frame_consistency"]

    def __init__(self, encoder: nn.Module, stride: int = 1, name: str = "frame_consistency") -> None:
        super().__init__()
        self.encoder = encoder
        self.stride = int(stride)
        self.name = name

    def plan(self, batch_size: int, num_frames: int, generator: torch.Generator) -> FramePlan:
        return FramePlan(frames=list(range(0, num_frames, self.stride)))

    def forward(self, frames, plan, num_frames, cond_images, prompts) -> RewardOutput:
        batch, count = frames.shape[:2]
        feats = self.encoder(frames.flatten(0, 1))
        pooled = torch.cat([f.float().mean(dim=(-2, -1)) for f in feats], dim=1).view(batch, count, -1)
        similarity = F.cosine_similarity(pooled[:, 1:], pooled[:, :-1], dim=-1).mean(dim=1)
        loss = 1 - similarity
        return RewardOutput(loss=loss, reward=similarity)

    def provenance(self) -> dict[str, str]:
        return {**super().provenance(), **self.encoder.provenance()}


# ------------------------------------------------------------------------ learned rewards
class LearnedConsistencyReward(Reward):
    """Maximise a learned consistency score of (conditioning image, video)
    (:class:`vcd.reward_models.ConsistencyScorer`: ICReward's attention model or its
    MLP baseline, trained by the reward_models stage on synthetic drift severity).

    The scorer reads the frames it was trained on (every ``frame_stride``-th from frame
    1) and the conditioning image the model was given; its encoder and head are frozen,
    gradients flow into the decoded frames."""

    def __init__(self, scorer: nn.Module, frame_stride: int, name: str) -> None:
        super().__init__()
        self.scorer = scorer.requires_grad_(False).eval()
        self.frame_stride = int(frame_stride)
        self.name = name

    def plan(self, batch_size: int, num_frames: int, generator: torch.Generator) -> FramePlan:
        return FramePlan(frames=list(range(0, num_frames, self.frame_stride)))

    def forward(self, frames, plan, num_frames, cond_images, prompts) -> RewardOutput:
        score = self.scorer(cond_images.to(frames.dtype), frames)
        return RewardOutput(loss=-score, reward=score)

    def provenance(self) -> dict[str, str]:
        return {**super().provenance(), **{k: str(v) for k, v in self.scorer.provenance().items()}}


# ------------------------------------------------------------------------ V-JEPA 2
def _resize_square(frames: torch.Tensor, size: int) -> torch.Tensor:
    """[M, 3, H, W] -> [M, 3, size, size]: resize the short side, centre crop (differentiable)."""
    h, w = frames.shape[-2:]
    scale = size / min(h, w)
    frames = F.interpolate(
        frames,
        size=(max(size, round(h * scale)), max(size, round(w * scale))),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    top, left = (frames.shape[-2] - size) // 2, (frames.shape[-1] - size) // 2
    return frames[..., top : top + size, left : left + size]


class VJEPA2Reward(Reward):
    """V-JEPA 2 masked-prediction consistency (``transformers.VJEPA2Model``).

    VADER's V-JEPA reward was never released (VADER issue #18), so it is defined here
    from the V-JEPA papers: the encoder sees the first half of the clip (in time); the
    predictor predicts the encoder's features of the second half, at their positions;
    the loss is the L1 distance between prediction and the layer-normalised features
    of the whole generated clip at those positions (V-JEPA's training objective). A
    video whose continuation is predictable from its beginning scores high. The paper
    used V-JEPA (v1) ViT-H/16; V-JEPA 2 is the version available in ``transformers``.
    """

    stand_in_for = None

    def __init__(self, model: nn.Module, num_frames: int = 16, name: str = "vjepa", source: str = "") -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        cfg = model.config
        self.tubelet = int(cfg.tubelet_size)
        self.num_frames = int(num_frames) + int(num_frames) % self.tubelet
        self.size = int(cfg.crop_size)
        self.patch = int(cfg.patch_size)
        self.name = name
        self.source = source
        self.register_buffer("mean", torch.tensor((0.485, 0.456, 0.406)).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor((0.229, 0.224, 0.225)).view(1, 1, 3, 1, 1), persistent=False)

    def plan(self, batch_size: int, num_frames: int, generator: torch.Generator) -> FramePlan:
        return FramePlan(frames=None)

    def forward(self, frames, plan, num_frames, cond_images, prompts) -> RewardOutput:
        batch, count = frames.shape[:2]
        pick = torch.linspace(0, count - 1, self.num_frames).round().long().to(frames.device)
        clip = _resize_square(frames[:, pick].flatten(0, 1), self.size).view(
            batch, self.num_frames, 3, self.size, self.size
        )
        clip = (clip - self.mean) / self.std
        grid = (self.size // self.patch) ** 2
        steps = self.num_frames // self.tubelet
        context_steps = steps // 2
        full = self.model(pixel_values_videos=clip, skip_predictor=True).last_hidden_state  # [B, steps * grid, D]
        context = self.model(
            pixel_values_videos=clip[:, : context_steps * self.tubelet], skip_predictor=True
        ).last_hidden_state
        device = frames.device
        context_mask = [torch.arange(context_steps * grid, device=device).unsqueeze(0).repeat(batch, 1)]
        target_mask = [torch.arange(context_steps * grid, steps * grid, device=device).unsqueeze(0).repeat(batch, 1)]
        predicted = self.model.predictor(
            encoder_hidden_states=context, context_mask=context_mask, target_mask=target_mask
        ).last_hidden_state
        target = F.layer_norm(full[:, context_steps * grid :], (full.shape[-1],))
        loss = (predicted - target).abs().mean(dim=(1, 2))
        return RewardOutput(loss=loss, reward=-loss)

    def provenance(self) -> dict[str, str]:
        return {**super().provenance(), "model": self.source or self.model.config.name_or_path}


# ------------------------------------------------------------------------ image rewards (App. A)
def _clip_pixels(frames: torch.Tensor, size: int) -> torch.Tensor:
    images = _resize_square(frames, size)
    mean = torch.tensor(_CLIP_MEAN, device=frames.device).view(1, 3, 1, 1)
    std = torch.tensor(_CLIP_STD, device=frames.device).view(1, 3, 1, 1)
    return (images - mean) / std


class _RandomFrameReward(Reward):
    """Image rewards score one random frame per video (VADER's default for image rewards)."""

    def plan(self, batch_size: int, num_frames: int, generator: torch.Generator) -> FramePlan:
        frame = int(torch.randint(0, num_frames, (1,), generator=generator))
        return FramePlan(frames=[frame])


class AestheticHead(nn.Module):
    """The MLP of LAION's improved aesthetic predictor (``sac+logos+ava1-l14-linearMSE.pth``):
    768 -> 1024 -> 128 -> 64 -> 16 -> 1 on L2-normalised CLIP ViT-L/14 image embeddings."""

    def __init__(self, dim: int = 768) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(dim, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class AestheticReward(_RandomFrameReward):
    """LAION aesthetic score of a random frame (App. A, Fig. 9; VADER's aesthetic reward)."""

    def __init__(self, vision: nn.Module, head: AestheticHead, name: str = "aesthetic", source: str = "") -> None:
        super().__init__()
        self.vision = vision.eval().requires_grad_(False)
        self.head = head.eval().requires_grad_(False)
        self.size = (
            int(vision.config.vision_config.image_size)
            if hasattr(vision.config, "vision_config")
            else int(vision.config.image_size)
        )
        self.name = name
        self.source = source

    def forward(self, frames, plan, num_frames, cond_images, prompts) -> RewardOutput:
        pixels = _clip_pixels(frames[:, 0], self.size)
        embeds = self.vision(pixel_values=pixels).image_embeds
        score = self.head(F.normalize(embeds, dim=-1)).squeeze(-1)
        return RewardOutput(loss=-score, reward=score)

    def provenance(self) -> dict[str, str]:
        return {**super().provenance(), "model": self.source}


def _projected(output: Any) -> torch.Tensor:
    """CLIP's projected embedding: a tensor (transformers 4) or ``.pooler_output`` of the
    returned model output (transformers 5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class CLIPScoreReward(_RandomFrameReward):
    """Image-text preference score of a random frame with a fine-tuned CLIP:
    HPS v2 (cosine of normalised embeddings) or PickScore (logit scale x cosine)."""

    def __init__(self, model: nn.Module, tokenizer: Any, name: str, use_logit_scale: bool, source: str = "") -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.size = int(model.config.vision_config.image_size)
        self.use_logit_scale = use_logit_scale
        self.name = name
        self.source = source

    def forward(self, frames, plan, num_frames, cond_images, prompts) -> RewardOutput:
        pixels = _clip_pixels(frames[:, 0], self.size)
        tokens = self.tokenizer(list(prompts), padding=True, truncation=True, max_length=77, return_tensors="pt").to(
            frames.device
        )
        image = F.normalize(_projected(self.model.get_image_features(pixel_values=pixels)), dim=-1)
        text = F.normalize(_projected(self.model.get_text_features(**tokens)), dim=-1)
        score = (image * text).sum(-1)
        if self.use_logit_scale:
            score = self.model.logit_scale.exp() * score
        return RewardOutput(loss=-score, reward=score)

    def provenance(self) -> dict[str, str]:
        return {**super().provenance(), "model": self.source}


# ------------------------------------------------------------------------ registry
_VCD_PRESET = {
    "vcd": "paper",
    "vcd_no_tw": "no_temporal_weight",
    "vcd_l2": "l2",
    "vcd_feat": "feat",
    "vcd_amp": "amplitude",
    "vcd_phase": "phase",
}
#: every reward :func:`build_reward` can build (the names of ``vcd.methods.REWARD_NAMES``)
REWARDS: tuple[str, ...] = REWARD_NAMES


def _from_pretrained(cls: Any, source: str, offline: bool, what: str, **kwargs: Any) -> Any:
    try:
        return cls.from_pretrained(source, local_files_only=offline, **kwargs)
    except OSError as exc:
        raise FileNotFoundError(
            f"{what} weights {source!r} are not available locally{' (runtime.offline is set)' if offline else ''}: "
            f"download them on a machine with network access (`huggingface-cli download {source}`) or point the "
            f"rewards section of params.yaml at a local folder"
        ) from exc


def build_reward(
    name: str,
    options: RewardSettings,
    vcd: VCDConfig,
    device: str | torch.device = "cpu",
    offline: bool = True,
    reward_models: Path | None = None,
) -> Reward:
    """The reward ``name`` with its ``rewards`` options; the VCD family and the stand-in
    use the metric settings ``vcd`` (``Settings.vcd``) with the reward's preset; the
    learned rewards load from ``reward_models`` (``Layout.reward_models_dir``).

    Raises ``ValueError`` for an unknown name and ``FileNotFoundError`` for missing
    weights -- before any compute.
    """
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; expected one of {list(REWARDS)}")
    if name in _VCD_PRESET:
        metric = metric_from_config(vcd, _VCD_PRESET[name])
        reward: Reward = VCDReward(metric, name, options.condition_on, options.resample_projections)
    elif name == "frame_consistency":
        from .encoders import VGG19Features

        fc = options.frame_consistency
        encoder = VGG19Features(fc.layers, weights=vcd.encoder_weights, seed=vcd.seed)
        reward = FrameConsistencyReward(encoder, fc.stride)
    elif name in LEARNED_REWARD_NAMES:
        from .reward_models import load_scorer

        if reward_models is None:
            raise ValueError(f"the learned reward {name!r} needs the folder of the trained reward models")
        scorer = load_scorer(reward_models, name)
        reward = LearnedConsistencyReward(scorer, int(scorer.record.get("frame_stride", 1)), name)
    elif name == "vjepa":
        from transformers import VJEPA2Model

        vj = options.vjepa
        model = _from_pretrained(VJEPA2Model, vj.model, offline, "V-JEPA 2", revision=vj.revision)
        reward = VJEPA2Reward(model, vj.num_frames, source=vj.model)
    elif name == "aesthetic":
        from transformers import CLIPVisionModelWithProjection

        ae = options.aesthetic
        vision = _from_pretrained(CLIPVisionModelWithProjection, ae.clip, offline, "CLIP ViT-L/14")
        if not ae.head or not Path(ae.head).is_file():
            raise FileNotFoundError(
                f"aesthetic head weights not found at {ae.head!r}: download LAION's improved-aesthetic-predictor "
                "'sac+logos+ava1-l14-linearMSE.pth' and set rewards.aesthetic.head"
            )
        head = AestheticHead(int(vision.config.projection_dim))
        head.load_state_dict(torch.load(ae.head, map_location="cpu", weights_only=True))
        reward = AestheticReward(vision, head, source=f"{ae.clip} + {ae.head}")
    else:  # hps, pickscore
        from transformers import AutoTokenizer, CLIPModel

        sc = getattr(options, name)
        if not sc.model:
            raise FileNotFoundError(
                f"rewards.{name}.model is not set: point it at a transformers CLIPModel folder (README)"
            )
        model = _from_pretrained(CLIPModel, sc.model, offline, name)
        tokenizer = _from_pretrained(AutoTokenizer, sc.tokenizer or sc.model, offline, f"{name} tokenizer")
        reward = CLIPScoreReward(model, tokenizer, name, use_logit_scale=(name == "pickscore"), source=sc.model)
    return reward.to(device)
