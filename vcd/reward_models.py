"""Learned image-to-video consistency rewards: an ICReward-style attention model and
its MLP baseline, trained on labels this project can state honestly.

ICReward (Liang & Zbizika; ``../shared/papers/002_...``, ``003_...``) scores a
(conditioning image, video) pair for consistency with a video-reward model whose text
input is replaced by the image: one encoder shared by the image and the frames and an
*image-consistency head* in which the image's tokens attend to the frames'. Its
baseline is an MLP on frozen image features concatenated with mean-pooled frame
features. Both are built here with the same interface (:class:`ConsistencyScorer`):

* :class:`MLPConsistencyHead` -- the baseline: the image's and the frames' pooled
  features, concatenated, through an MLP;
* :class:`AttentionConsistencyHead` -- the ICReward-style model: a token encoder shared
  by the image and every frame, then cross-attention from the image's tokens to each
  frame's tokens, a per-token consistency score, averaged over tokens and frames.

**Labels.** ICReward's labels were automatic VBench++ scores, and no human
image-to-video consistency labels exist offline. Training on any score the evaluation
also reports would make the evaluation circular, so the label here is one no metric
shares: the *known severity* of a synthetic appearance drift (the drifts of
:mod:`vcd.synthetic`, applied frame by frame with a temporal ramp) laid over a
natural-motion video of a training-split source (:func:`vcd.toy.make_training_videos`
over :func:`vcd.training_images.training_sources`). Natural motion is label-preserving:
a pan with no drift has severity 0, like a static shot. The models learn from pairs of
videos of the same source (the lower severity is preferred; equal severities are ties),
with the Bradley-Terry loss with ties in its soft-label form (VideoAlign trains its
reward on A/B/same pairs the same way). Held-out accuracy is measured on the
*evaluation* split's images, which neither the reward models nor the base model saw.

**Features.** Both models read frozen VGG19 feature maps (``relu3_1`` and ``relu4_1``,
pooled to a small token grid): the embedded profile's seeded random VGG19 is a
STAND-IN for the CLIP/ViT features ICReward uses; the paper profile uses the ImageNet
weights VCD itself uses (``vcd.encoder_weights``). Gradients flow to the pixels, so a
scorer is also a fine-tuning reward (:class:`vcd.rewards.LearnedConsistencyReward`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .encoders import VGG19Features
from .settings import LabelledPairsConfig, RewardModelConfig, RewardModelHead, VCDConfig, VideoSpec

__all__ = [
    "DRIFT_KINDS",
    "LEARNED_REWARDS",
    "apply_drift",
    "LabelledVideo",
    "labelled_videos",
    "TokenFeatures",
    "MLPConsistencyHead",
    "AttentionConsistencyHead",
    "ConsistencyScorer",
    "build_head",
    "preference_pairs",
    "train_head",
    "score_tokens",
    "pairwise_accuracy",
    "severity_correlation",
    "fit_reward_models",
    "heldout_measures",
    "scorer_config",
    "heldout_caption",
    "save_scorer",
    "load_scorer",
]

#: the appearance drifts whose severity is the label (the drift family of vcd.synthetic)
DRIFT_KINDS: tuple[str, ...] = ("color", "blur", "style", "content_swap")
#: reward name -> head architecture (the names are vcd.methods' reward names)
LEARNED_REWARDS: dict[str, str] = {"mlp_reward": "mlp", "icreward": "attention"}


# ------------------------------------------------------------------ labelled videos
def _blur(frames: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-frame Gaussian blur of [T, 3, H, W] with standard deviations ``sigma`` [T] (px)."""
    out = []
    for frame, s in zip(frames, sigma.tolist(), strict=True):
        if s <= 1e-3:
            out.append(frame)
            continue
        radius = max(1, math.ceil(3 * s))
        x = torch.arange(-radius, radius + 1, dtype=frames.dtype)
        kernel = torch.exp(-(x**2) / (2 * s**2))
        kernel = kernel / kernel.sum()
        padded = F.pad(frame.unsqueeze(0), (radius,) * 4, mode="reflect")
        padded = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
        out.append(F.conv2d(padded, kernel.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)[0])
    return torch.stack(out)


def _hue_rotation(angle: float) -> torch.Tensor:
    """The RGB -> RGB matrix rotating hue by ``angle`` radians in YIQ space."""
    rgb2yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    c, s = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    return torch.linalg.inv(rgb2yiq) @ rotation @ rgb2yiq


def _stylised(frames: torch.Tensor) -> torch.Tensor:
    """Posterised (4 levels) smoothed frames with dark edges: a global restyling."""
    smooth = _blur(frames, torch.full((frames.shape[0],), 1.2))
    grey = smooth.mean(1, keepdim=True)
    gx = grey[..., :, 2:] - grey[..., :, :-2]
    gy = grey[..., 2:, :] - grey[..., :-2, :]
    edges = (F.pad(gx, (1, 1, 0, 0)) ** 2 + F.pad(gy, (0, 0, 1, 1)) ** 2).sqrt().mul(2).clamp(0, 1)
    return (torch.round(smooth * 3) / 3 * (1 - edges)).clamp(0, 1)


def apply_drift(frames: torch.Tensor, kind: str, severity: float, other: torch.Tensor | None = None) -> torch.Tensor:
    """Lay appearance drift ``kind`` over a video ([T, 3, H, W] in [0, 1]).

    The drift grows linearly from nothing at frame 1 to ``severity`` (0..1) at the last
    frame, as in :mod:`vcd.synthetic`: at severity 1 the hue turns by 90 degrees with a
    warm cast (``color``), the blur reaches 2.5 px (``blur``), the frames become a
    posterised rendering (``style``) or the photograph ``other`` ([3, H, W], the same
    size; ``content_swap``). Severity 0 returns the video unchanged, so motion alone is
    never drift."""
    if kind not in DRIFT_KINDS:
        raise ValueError(f"unknown drift {kind!r}; expected one of {list(DRIFT_KINDS)}")
    if not 0.0 <= severity <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity}")
    if severity == 0.0:
        return frames.clone()
    amount = torch.linspace(0.0, 1.0, frames.shape[0]) * severity  # per frame
    if kind == "color":
        out = [
            torch.einsum("ij,jhw->ihw", _hue_rotation(float(a) * math.pi / 2), f)
            + torch.tensor([0.08, 0.0, -0.08]).view(3, 1, 1) * float(a)
            for a, f in zip(amount, frames, strict=True)
        ]
        return torch.stack(out).clamp(0, 1)
    if kind == "blur":
        return _blur(frames, amount * 2.5)
    target = _stylised(frames) if kind == "style" else _require_other(other, frames).expand_as(frames)
    a = amount.view(-1, 1, 1, 1)
    return (1 - a) * frames + a * target


def _require_other(other: torch.Tensor | None, frames: torch.Tensor) -> torch.Tensor:
    if other is None or tuple(other.shape) != tuple(frames.shape[1:]):
        raise ValueError(f"content_swap needs another image of shape {tuple(frames.shape[1:])}")
    return other.unsqueeze(0)


@dataclass(frozen=True)
class LabelledVideo:
    """A video with a known drift: ``severity`` 0 (none) .. 1, and the group (its source)
    whose videos form the preference pairs."""

    frames: torch.Tensor  # [T, 3, H, W]; frames[0] is the conditioning image
    group: int
    severity: float
    drift: str
    motion: str
    origin: str


def labelled_videos(
    sources: Sequence[Any],
    num_frames: int,
    size: tuple[int, int],
    videos_per_source: int,
    seed: int,
    zero_share: float = 0.25,
) -> list[LabelledVideo]:
    """``videos_per_source`` labelled videos per source image (:class:`vcd.training_images.SourceImage`):
    each its own natural motion (:func:`vcd.toy.make_training_videos`) with a drift of a
    random kind and a severity that is 0 with probability ``zero_share`` and uniform on
    [0.05, 1] otherwise. Frame 1 is the source's unmoved, undrifted view: the
    conditioning image."""
    from .toy import make_training_videos

    if videos_per_source < 2:
        raise ValueError("videos_per_source must be at least 2: the preference pairs are made within a source")
    rng = np.random.default_rng(int(seed))
    repeated = [s for s in sources for _ in range(videos_per_source)]
    moving = make_training_videos(repeated, num_frames, size, seed=int(rng.integers(1 << 31)))
    firsts = [v.frames[0] for v in moving]
    out = []
    for k, video in enumerate(moving):
        severity = 0.0 if rng.random() < zero_share else float(rng.uniform(0.05, 1.0))
        kind = str(rng.choice(DRIFT_KINDS))
        other = None
        if kind == "content_swap":  # another source's first frame
            pick = int(rng.integers(len(moving) - videos_per_source))
            group = k // videos_per_source
            other = firsts[pick if pick < group * videos_per_source else pick + videos_per_source]
        frames = apply_drift(video.frames, kind, severity, other)
        out.append(LabelledVideo(frames, k // videos_per_source, severity, kind, video.motion, video.image_id))
    return out


# ------------------------------------------------------------------ models
class TokenFeatures(nn.Module):
    """Frozen VGG19 maps at ``layers``, average-pooled to a ``grid`` (h, w) and concatenated
    over channels: [B, 3, H, W] -> [B, h * w, C] tokens. Differentiable in the pixels."""

    def __init__(
        self, layers: Sequence[str], grid: tuple[int, int], weights: str | Path | None = None, seed: int = 0
    ) -> None:
        super().__init__()
        self.encoder = VGG19Features(layers, weights=weights, seed=seed)
        self.grid = (int(grid[0]), int(grid[1]))

    @property
    def dim(self) -> int:
        return sum(self.encoder.channels)

    @property
    def num_tokens(self) -> int:
        return self.grid[0] * self.grid[1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps = [F.adaptive_avg_pool2d(m, self.grid) for m in self.encoder(images)]
        return torch.cat(maps, dim=1).flatten(2).transpose(1, 2)

    def provenance(self) -> dict[str, str]:
        return {**self.encoder.provenance(), "token_grid": f"{self.grid[0]}x{self.grid[1]}"}


class MLPConsistencyHead(nn.Module):
    """ICReward's baseline: [pooled image features, mean-pooled frame features] -> MLP -> score.

    The features are normalised without learned scale (a random VGG's activations span
    orders of magnitude between layers), so the MLP sees comparable inputs."""

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 1)
        )

    def forward(self, image_tokens: torch.Tensor, frame_tokens: torch.Tensor) -> torch.Tensor:
        """``image_tokens`` [B, N, C], ``frame_tokens`` [B, T, N, C] -> scores [B] (higher: more consistent)."""
        image = self.norm(image_tokens.mean(dim=1))
        video = self.norm(frame_tokens.mean(dim=2)).mean(dim=1)
        return self.mlp(torch.cat([image, video], dim=-1)).squeeze(-1)


class AttentionConsistencyHead(nn.Module):
    """The ICReward-style model: a token encoder shared by the image and every frame
    (projection, learned positions, ``layers`` transformer layers), then an
    image-consistency head: the image's tokens attend to each frame's tokens, each
    (image token, attended frame content, their difference) is scored by an MLP, and the
    scores are averaged over tokens and frames."""

    def __init__(self, dim: int, num_tokens: int, width: int = 128, heads: int = 4, layers: int = 1) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.LayerNorm(dim, elementwise_affine=False), nn.Linear(dim, width))
        self.position = nn.Parameter(torch.zeros(1, num_tokens, width))
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.cross = nn.MultiheadAttention(width, heads, batch_first=True)
        self.score = nn.Sequential(nn.LayerNorm(3 * width), nn.Linear(3 * width, width), nn.GELU(), nn.Linear(width, 1))

    def _encode(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.project(tokens) + self.position)

    def forward(self, image_tokens: torch.Tensor, frame_tokens: torch.Tensor) -> torch.Tensor:
        batch, count, n, c = frame_tokens.shape
        image = self._encode(image_tokens)  # [B, N, W]
        frames = self._encode(frame_tokens.reshape(batch * count, n, c))  # the same encoder
        query = image.repeat_interleave(count, dim=0)  # [B*T, N, W]
        attended, _ = self.cross(query, frames, frames, need_weights=False)
        per_token = self.score(torch.cat([query, attended, query - attended], dim=-1)).squeeze(-1)
        return per_token.view(batch, count, n).mean(dim=(1, 2))


def build_head(architecture: str, dim: int, num_tokens: int, options: RewardModelHead) -> nn.Module:
    """A fresh head: ``"mlp"`` (``options.mlp_hidden``) or ``"attention"`` (``width``, ``heads``, ``layers``)."""
    if architecture == "mlp":
        return MLPConsistencyHead(dim, options.mlp_hidden)
    if architecture == "attention":
        return AttentionConsistencyHead(dim, num_tokens, options.width, options.heads, options.layers)
    raise ValueError(f"unknown reward-model architecture {architecture!r}; expected 'mlp' or 'attention'")


class ConsistencyScorer(nn.Module):
    """Features + head: ``(cond_images [B, 3, H, W], frames [B, T, 3, H, W]) -> [B]``, in
    [0, 1] pixels, higher for a video more consistent with its image. Differentiable in
    the frames (the encoder and head are frozen once trained)."""

    def __init__(self, features: TokenFeatures, head: nn.Module, name: str, architecture: str) -> None:
        super().__init__()
        self.features = features
        self.head = head
        self.name = name
        self.architecture = architecture
        self.record: dict[str, Any] = {}

    def forward(self, cond_images: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        batch, count = frames.shape[:2]
        image_tokens = self.features(cond_images)
        frame_tokens = self.features(frames.flatten(0, 1)).view(batch, count, *image_tokens.shape[1:])
        return self.head(image_tokens, frame_tokens)

    def provenance(self) -> dict[str, Any]:
        return {
            "reward_model": self.name,
            "architecture": self.architecture,
            **self.features.provenance(),
            **self.record,
        }


# ------------------------------------------------------------------ training and held-out measures
def preference_pairs(groups: np.ndarray, severities: np.ndarray, tie: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (a, b), a < b, of videos of one group, and its label: 1 if a is
    the more consistent (lower severity), 0 if b is, 0.5 if the severities are within
    ``tie`` (a tie: VideoAlign's "same")."""
    pairs, labels = [], []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                diff = severities[b] - severities[a]
                pairs.append((a, b))
                labels.append(0.5 if abs(diff) <= tie else float(diff > 0))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2), np.asarray(labels, dtype=np.float32)


def train_head(
    head: nn.Module,
    image_tokens: torch.Tensor,
    frame_tokens: torch.Tensor,
    pairs: np.ndarray,
    labels: np.ndarray,
    steps: int,
    batch_pairs: int,
    lr: float,
    seed: int,
    validation: tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray] | None = None,
    check_every: int = 50,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``head`` on cached tokens ([V, N, C] images, [V, T, N, C] frames) with the
    Bradley-Terry loss with ties (soft-label binary cross-entropy on the score
    difference), AdamW with a cosine schedule.

    With ``validation`` (image tokens, frame tokens, groups, severities of videos whose
    sources are not trained on), the head is checked every ``check_every`` steps and the
    state with the best validation pairwise accuracy is kept (early stopping: with a few
    hundred sources the heads fit their training pairs perfectly long before the end).
    Returns the log: mean training loss and validation accuracy per check."""
    if len(pairs) == 0:
        raise ValueError("no preference pairs to train on")
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    pairs_t, labels_t = torch.from_numpy(pairs), torch.from_numpy(labels)
    log: list[dict[str, float]] = []
    running, seen, best = 0.0, 0, (-1.0, None)
    for step in tqdm(range(1, steps + 1), desc=f"training {type(head).__name__}", disable=not progress):
        head.train()
        pick = torch.randint(len(pairs_t), (batch_pairs,), generator=generator)
        videos = torch.cat([pairs_t[pick, 0], pairs_t[pick, 1]])
        scores = head(image_tokens[videos].float(), frame_tokens[videos].float())
        margin = scores[:batch_pairs] - scores[batch_pairs:]
        loss = F.binary_cross_entropy_with_logits(margin, labels_t[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        running, seen = running + float(loss.detach()), seen + 1
        if step % check_every == 0 or step == steps:
            entry = {"step": step, "loss": running / seen}
            running, seen = 0.0, 0
            if validation is not None:
                v_image, v_frames, v_groups, v_severity = validation
                accuracy = pairwise_accuracy(score_tokens(head, v_image, v_frames), v_groups, v_severity)
                entry["val_accuracy"] = accuracy
                if accuracy > best[0]:
                    best = (accuracy, {k: v.detach().clone() for k, v in head.state_dict().items()})
                    entry["kept"] = 1.0
            log.append(entry)
    if best[1] is not None:
        head.load_state_dict(best[1])
    head.eval()
    return log


@torch.no_grad()
def score_tokens(
    head: nn.Module, image_tokens: torch.Tensor, frame_tokens: torch.Tensor, batch: int = 64
) -> np.ndarray:
    """A head's scores of cached tokens, in batches, in eval mode."""
    head.eval()
    out = [
        head(image_tokens[k : k + batch].float(), frame_tokens[k : k + batch].float())
        for k in range(0, len(image_tokens), batch)
    ]
    return torch.cat(out).numpy()


def pairwise_accuracy(scores: np.ndarray, groups: np.ndarray, severities: np.ndarray, tie: float = 0.05) -> float:
    """Share of the non-tied pairs within a group whose lower-severity video scores higher
    (ties in the score count one half)."""
    pairs, labels = preference_pairs(groups, severities, tie)
    decided = labels != 0.5
    if not decided.any():
        raise ValueError("no decided pairs: every pair within a group is a tie")
    pairs, labels = pairs[decided], labels[decided]
    margin = scores[pairs[:, 0]] - scores[pairs[:, 1]]
    correct = np.where(margin == 0, 0.5, (margin > 0) == (labels == 1.0))
    return float(np.mean(correct))


def severity_correlation(scores: np.ndarray, severities: np.ndarray) -> float:
    """Spearman's rank correlation between -score and the drift severity (1: the scorer
    orders every video by its drift)."""
    from scipy.stats import spearmanr

    return float(spearmanr(-np.asarray(scores), np.asarray(severities)).statistic)


# ------------------------------------------------------------------ files
def save_scorer(scorer: ConsistencyScorer, folder: Path, config: dict[str, Any]) -> None:
    """``folder/<name>.safetensors`` (the head) and ``folder/<name>.json`` (architecture,
    features, training record), each written atomically."""
    from safetensors.torch import save_file

    from .files import atomic_path, write_json

    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{scorer.name}.safetensors") as tmp:
        save_file({k: v.detach().contiguous() for k, v in scorer.head.state_dict().items()}, str(tmp))
    write_json(folder / f"{scorer.name}.json", {"architecture": scorer.architecture, **config, "record": scorer.record})


def load_scorer(folder: Path, name: str, device: str | torch.device = "cpu") -> ConsistencyScorer:
    """The trained scorer ``name`` (``mlp_reward``, ``icreward``) from ``folder``, frozen;
    a clear error if the reward_models stage has not run."""
    from safetensors.torch import load_file

    weights, config_file = folder / f"{name}.safetensors", folder / f"{name}.json"
    if not weights.is_file() or not config_file.is_file():
        raise FileNotFoundError(
            f"reward model {name!r} not found in {folder} ({weights.name}, {config_file.name}): run the "
            "reward_models stage first (`dvc repro reward_models`)"
        )
    config = json.loads(config_file.read_text())
    features = TokenFeatures(config["layers"], tuple(config["grid"]), config.get("encoder_weights"), config["seed"])
    head = build_head(config["architecture"], features.dim, features.num_tokens, RewardModelHead(**config["head"]))
    head.load_state_dict(load_file(str(weights)))
    scorer = ConsistencyScorer(features, head, name, config["architecture"])
    # the weights' digest goes into every record that used them (a fine-tuning run's resume digest)
    scorer.record = {**config.get("record", {}), "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}
    return scorer.requires_grad_(False).eval().to(device)


# ------------------------------------------------------------------ the reward_models stage
@dataclass
class FittedRewardModels:
    """What :func:`fit_reward_models` returns: the trained scorers, their training logs,
    the held-out scores (one row per held-out video, a column per scorer) and the
    held-out measures (one row per scorer)."""

    scorers: dict[str, ConsistencyScorer]
    logs: dict[str, list[dict[str, float]]]
    heldout: Any  # pandas.DataFrame
    measures: Any  # pandas.DataFrame
    counts: dict[str, int]


def _encode(features: TokenFeatures, batches: Iterable[torch.Tensor], total: int) -> torch.Tensor:
    """Cached tokens [V, F, N, C] of clip batches [b, F, 3, H, W] (float16: the cache of a
    few thousand frames stays small)."""
    out = []
    with torch.no_grad():
        for clip in tqdm(batches, total=total, desc="encoding labelled videos", leave=False):
            tokens = features(clip.flatten(0, 1))
            out.append(tokens.view(clip.shape[0], clip.shape[1], *tokens.shape[1:]).half())
    return torch.cat(out)


def _tokens(
    features: TokenFeatures, videos: Sequence[LabelledVideo], frames: list[int], batch: int = 8
) -> torch.Tensor:
    """Tokens of labelled videos at ``frames``, stacked a batch at a time."""
    batches = (torch.stack([v.frames[frames] for v in videos[k : k + batch]]) for k in range(0, len(videos), batch))
    return _encode(features, batches, -(-len(videos) // batch))


def _resolve(path: str, root: Path | None) -> Path:
    file = Path(path).expanduser()
    return file if file.is_absolute() or root is None else Path(root) / file


def _synthetic_training(
    config: RewardModelConfig,
    features: TokenFeatures,
    video: VideoSpec,
    frames: list[int],
    train_photos: dict[str, torch.Tensor],
    train_captions: dict[str, str],
    heldout_photos: dict[str, torch.Tensor],
) -> tuple[_TrainingSet, dict[str, int]]:
    """The default labels: videos of training-split sources with synthetic drift of known
    severity; 15 % of the sources are kept for early stopping."""
    from .training_images import training_sources

    sources = training_sources(
        train_photos,
        train_captions,
        config.photo_views,
        config.procedural,
        video.size,
        config.seed,
        set(heldout_photos),
    )
    videos = labelled_videos(
        sources, video.num_frames, video.size, config.videos_per_source, config.seed, config.zero_share
    )
    tokens = _tokens(features, videos, frames)
    groups = np.array([v.group for v in videos])
    severity = np.array([v.severity for v in videos])
    n_groups = int(groups.max()) + 1
    validation_groups = np.random.default_rng(config.seed).permutation(n_groups)[: max(1, round(0.15 * n_groups))]
    val = np.isin(groups, validation_groups)
    pairs, labels = preference_pairs(groups[~val], severity[~val])
    training = _TrainingSet(
        tokens[~val][:, 0], tokens[~val], pairs, labels, (tokens[val][:, 0], tokens[val], groups[val], severity[val])
    )
    counts = {
        "training_sources": len(sources),
        "training_videos": int((~val).sum()),
        "validation_videos": int(val.sum()),
        "training_pairs": len(pairs),
    }
    return training, counts


@dataclass(frozen=True)
class _LabelledTest:
    """The test split of real labelled pairs: per video, the tokens the heads score and
    the pixels VCD scores (image and clip), and the pair groups and severities."""

    image_tokens: torch.Tensor
    frame_tokens: torch.Tensor
    images: torch.Tensor
    clips: torch.Tensor
    groups: np.ndarray
    severity: np.ndarray


def _labelled_training(
    pairs: Sequence[Any],
    spec: LabelledPairsConfig,
    seed: int,
    features: TokenFeatures,
    video: VideoSpec,
    frames: list[int],
    progress: bool,
    batch_pairs: int = 4,
) -> tuple[_TrainingSet, dict[str, int], _LabelledTest]:
    """Real labelled pairs (:mod:`vcd.labelled_pairs`), split by conditioning image into
    training, validation (early stopping) and test (the held-out accuracy); returns the
    training set, the counts and the test set. The pairs are decoded and encoded
    ``batch_pairs`` at a time, and only the tokens are kept (plus the test split's
    pixels, which VCD needs), so memory grows with the tokens, not the decoded clips."""
    from .labelled_pairs import iter_pair_clips, pair_groups, split_by_image

    train_idx, val_idx, test_idx = split_by_image(pairs, spec.validation_share, spec.test_share, seed)
    groups, severity = pair_groups(pairs)
    in_test = np.zeros(len(pairs), dtype=bool)
    in_test[test_idx] = True
    image_tokens: list[torch.Tensor] = []
    frame_tokens: list[torch.Tensor] = []
    test_images: list[torch.Tensor] = []
    test_clips: list[torch.Tensor] = []
    stills: list[torch.Tensor] = []
    clips: list[torch.Tensor] = []

    def encode() -> None:
        with torch.no_grad():
            image_tokens.append(features(torch.stack(stills)).half())  # one per pair
            clip = torch.cat(clips)[:, frames]  # [2b, F, 3, H, W]
            tokens = features(clip.flatten(0, 1))
            frame_tokens.append(tokens.view(clip.shape[0], clip.shape[1], *tokens.shape[1:]).half())
        stills.clear()
        clips.clear()

    for k, (still, pair_clips) in enumerate(iter_pair_clips(pairs, video.num_frames, video.size, progress)):
        stills.append(still)
        clips.append(pair_clips)
        if in_test[k]:
            test_images.append(still)
            test_clips.append(pair_clips)
        if len(stills) == batch_pairs:
            encode()
    if stills:
        encode()
    per_video_image = torch.cat(image_tokens).repeat_interleave(2, dim=0)  # video 2p and 2p+1 share pair p's image
    per_video_frames = torch.cat(frame_tokens)

    def videos_of(idx: np.ndarray) -> np.ndarray:
        return np.sort(np.concatenate([2 * idx, 2 * idx + 1])).astype(np.int64)

    train_v, val_v, test_v = videos_of(train_idx), videos_of(val_idx), videos_of(test_idx)
    train_pairs, train_labels = preference_pairs(groups[train_v], severity[train_v])  # indices into train_v
    training = _TrainingSet(
        per_video_image[train_v],
        per_video_frames[train_v],
        train_pairs,
        train_labels,
        (per_video_image[val_v], per_video_frames[val_v], groups[val_v], severity[val_v]),
    )
    counts = {
        "labelled_pairs": len(pairs),
        "training_pairs": len(train_pairs),
        "training_videos": len(train_v),
        "validation_videos": len(val_v),
        "test_pairs": len(test_idx),
    }
    # test_v lists the test pairs' videos in pair order, as test_images / test_clips do
    test = _LabelledTest(
        per_video_image[test_v],
        per_video_frames[test_v],
        torch.stack(test_images).repeat_interleave(2, dim=0),
        torch.cat(test_clips),
        groups[test_v],
        severity[test_v],
    )
    return training, counts, test


@dataclass(frozen=True)
class _TrainingSet:
    """Cached tokens of the training videos, their preference pairs, and the validation
    set (image tokens, frame tokens, groups, severities) for early stopping."""

    image_tokens: torch.Tensor
    frame_tokens: torch.Tensor
    pairs: np.ndarray
    labels: np.ndarray
    validation: tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]


def fit_reward_models(
    config: RewardModelConfig,
    vcd_config: VCDConfig,
    video: VideoSpec,
    train_photos: dict[str, torch.Tensor],
    train_captions: dict[str, str],
    heldout_photos: dict[str, torch.Tensor],
    progress: bool = True,
    root: Path | None = None,
) -> FittedRewardModels:
    """Build the labelled videos, train both heads and measure them held out.

    ``config`` is ``Settings.reward_models``, ``vcd_config`` ``Settings.vcd`` (the
    encoder's weights and seed; VCD is scored as a third, untrained scorer), ``video``
    ``Settings.video``. By default the heads learn the synthetic drift severity of
    videos of training-split sources (``train_photos`` and procedures,
    :func:`vcd.training_images.training_sources`), 15 % of them kept for early
    stopping. With ``config.labelled_pairs`` they learn real A/B/same pairs instead
    (:mod:`vcd.labelled_pairs`; the CSV read relative to ``root``, checked before any
    decoding) and the measures gain ``labelled_pairs_accuracy``, the accuracy on the
    pairs of the test split's images. Either way, the synthetic held-out test renders
    ``config.heldout_views`` views of each of ``heldout_photos`` (the evaluation split,
    never trained on) with ``config.heldout_videos_per_view`` labelled videos each."""
    import pandas as pd

    from .metric import metric_from_config
    from .training_images import training_sources

    spec = config.labelled_pairs
    real_pairs = None
    if spec is not None:  # a bad file fails here, before any feature extraction
        from .labelled_pairs import read_labelled_pairs

        real_pairs = read_labelled_pairs(_resolve(spec.csv, root), spec.criterion, spec.image_column)
    leaked = sorted(set(train_photos) & set(heldout_photos))
    if leaked:
        raise ValueError(f"held-out images among the reward models' training photographs: {leaked}")
    size, num_frames = video.size, video.num_frames
    frames = list(range(0, num_frames, config.frame_stride))
    captions = {k: k for k in heldout_photos}
    heldout_sources = training_sources(
        heldout_photos, captions, config.heldout_views * len(heldout_photos), 0, size, config.seed + 1
    )
    heldout = labelled_videos(
        heldout_sources, num_frames, size, config.heldout_videos_per_view, config.seed + 1, config.zero_share
    )
    features = TokenFeatures(config.layers, config.grid, vcd_config.encoder_weights, vcd_config.seed)
    test = None
    if real_pairs is None:
        training, counts = _synthetic_training(
            config, features, video, frames, train_photos, train_captions, heldout_photos
        )
    else:
        training, counts, test = _labelled_training(real_pairs, spec, config.seed, features, video, frames, progress)
    heldout_tokens = _tokens(features, heldout, frames)

    scorers, logs = {}, {}
    record: dict[str, Any] = {"frame_stride": config.frame_stride, "frames": frames}
    if spec is not None:
        record["labels"] = f"labelled pairs {spec.csv} ({spec.criterion})"
    for name, architecture in LEARNED_REWARDS.items():
        torch.manual_seed(config.seed)
        head = build_head(architecture, features.dim, features.num_tokens, config.head)
        train = config.train
        logs[name] = train_head(
            head,
            training.image_tokens,
            training.frame_tokens,
            training.pairs,
            training.labels,
            train.steps,
            train.batch_pairs,
            train.lr,
            config.seed,
            validation=training.validation,
            progress=progress,
        )
        scorer = ConsistencyScorer(features, head.requires_grad_(False), name, architecture)
        scorer.record = dict(record)
        scorers[name] = scorer

    table = pd.DataFrame(
        {
            "image_id": [v.origin for v in heldout],
            "group": [v.group for v in heldout],
            "severity": [v.severity for v in heldout],
            "drift": [v.drift for v in heldout],
            "motion": [v.motion for v in heldout],
        }
    )
    for name, scorer in scorers.items():
        table[name] = score_tokens(scorer.head, heldout_tokens[:, 0], heldout_tokens)
    metric = metric_from_config(vcd_config, "paper")

    def vcd_scores(clips: torch.Tensor, cond: torch.Tensor | None) -> np.ndarray:
        """VCD as a scorer: the evaluation's weighted mean over frames 2..N (lower wins)."""
        out = []
        with torch.no_grad():
            for k in range(0, len(clips), 8):
                c = None if cond is None else cond[k : k + 8]
                out.append(metric.weighted_mean(metric.per_frame(clips[k : k + 8], c), num_frames))
        return torch.cat(out).numpy()

    table["vcd"] = vcd_scores(torch.stack([v.frames for v in heldout]), None)
    measures = heldout_measures(table, ["vcd", *scorers])
    if test is not None:
        accuracy = {"vcd": pairwise_accuracy(-vcd_scores(test.clips, test.images), test.groups, test.severity)}
        for name, scorer in scorers.items():
            scores = score_tokens(scorer.head, test.image_tokens, test.frame_tokens)
            accuracy[name] = pairwise_accuracy(scores, test.groups, test.severity)
        measures["labelled_pairs_accuracy"] = measures["scorer"].map(accuracy)
    counts |= {"heldout_images": len(heldout_photos), "heldout_videos": len(heldout)}
    return FittedRewardModels(scorers, logs, table, measures, counts)


def heldout_measures(table: Any, scorers: Sequence[str]) -> Any:
    """Per scorer: held-out pairwise accuracy (within a view, non-tied pairs) overall and
    per drift kind of the less consistent video, and Spearman's correlation of its
    (sign-corrected) score with the severity. VCD is a distance: its score is -VCD."""
    import pandas as pd

    rows = []
    groups, severity = table["group"].to_numpy(), table["severity"].to_numpy()
    for name in scorers:
        score = table[name].to_numpy(dtype=float) * (-1.0 if name == "vcd" else 1.0)
        row = {
            "scorer": name,
            "pairwise_accuracy": pairwise_accuracy(score, groups, severity),
            "spearman_with_severity": severity_correlation(score, severity),
        }
        for kind in DRIFT_KINDS:  # pairs whose drifted video has this kind
            keep = (table["drift"].to_numpy() == kind) | (severity == 0)
            try:
                row[f"accuracy_{kind}"] = pairwise_accuracy(score[keep], groups[keep], severity[keep])
            except ValueError:
                row[f"accuracy_{kind}"] = float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def scorer_config(config: RewardModelConfig, vcd_config: VCDConfig) -> dict[str, Any]:
    """The architecture record saved with a scorer (:func:`save_scorer`): what
    :func:`load_scorer` needs to rebuild it."""
    return {
        "layers": list(config.layers),
        "grid": list(config.grid),
        "encoder_weights": vcd_config.encoder_weights,
        "seed": vcd_config.seed,
        "head": {
            "mlp_hidden": config.head.mlp_hidden,
            "width": config.head.width,
            "heads": config.head.heads,
            "layers": config.head.layers,
        },
    }


def heldout_caption(counts: dict[str, int], footer: str) -> str:
    """The caption of the held-out table (``counts``: :attr:`FittedRewardModels.counts`)."""
    if "labelled_pairs" in counts:
        trained = (
            f"Trained on {counts['training_pairs']} of {counts['labelled_pairs']} real labelled pairs "
            f"(reward_models.labelled_pairs; early stopping on {counts['validation_videos'] // 2} pairs of other "
            f"images); labelled_pairs_accuracy: the {counts['test_pairs']} pairs of the test split's images. "
        )
    else:
        trained = (
            f"Trained on {counts['training_pairs']} pairs of {counts['training_videos']} videos of "
            f"{counts['training_sources']} training-split sources (early stopping on {counts['validation_videos']} "
            "more). "
        )
    return (
        f"Held-out measures of the consistency scorers ({footer}): {counts['heldout_videos']} labelled videos of "
        f"{counts['heldout_images']} evaluation photographs (never trained on), pairs within a view of a photograph. "
        f"{trained}VCD is untrained. Pairwise accuracy: 0.5 is chance; accuracy_<kind>: the pairs whose drifted "
        "video has that drift; Spearman: every held-out video's score against its severity."
    )
