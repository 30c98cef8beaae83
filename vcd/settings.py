"""Typed settings: every section of ``params.yaml`` as a frozen dataclass, built once.

``params.yaml`` is the single source of truth for every setting. :meth:`Settings.load`
reads it once, at the edge (a notebook's first cell, the stage launcher), and turns it
into the frozen objects below; package functions take these objects, never the raw
mapping. Building them checks every key against its type and range:

* an unknown key (a typo) is an error that names the section and suggests the key
  it most resembles, so a misspelled setting can never be silently ignored;
* a missing key is an error: no field that ``params.yaml`` holds has a default here,
  so the package cannot disagree with the file;
* a value of the wrong type is an error (``lr: 1e-2`` is a *string* in YAML 1.1; the
  message says so), and so is a value outside its valid range;
* settings that only make sense together are checked together (the frame count
  against the model's temporal compression, the baseline against the methods ...).

Nothing here imports torch, so the stage launcher can validate ``params.yaml`` before
it starts a kernel.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

T = TypeVar("T")

__all__ = [
    "SettingsError",
    "Runtime",
    "EmbeddedOptions",
    "I2VBenchOptions",
    "VBenchI2VOptions",
    "AIArtBenchOptions",
    "DatasetOptions",
    "DATASET_NAMES",
    "DataSettings",
    "VideoSpec",
    "PAPER_LAYERS",
    "FDL_LAYERS",
    "VCD_PRESETS",
    "VCDConfig",
    "SanitySettings",
    "HubModel",
    "ToyVAE",
    "ToyTransformer",
    "ToyTextEncoder",
    "ToyArchitecture",
    "ModelSettings",
    "SamplingConfig",
    "VAEPretrain",
    "TransformerPretrain",
    "PretrainConfig",
    "LoraSettings",
    "FinetuneConfig",
    "FrameConsistencyOptions",
    "VJEPAOptions",
    "AestheticOptions",
    "CLIPScoreOptions",
    "RewardSettings",
    "MethodSettings",
    "FrameInitConfig",
    "RewardModelHead",
    "RewardModelTraining",
    "LabelledPairsConfig",
    "RewardModelConfig",
    "BestOfNConfig",
    "TradeoffConfig",
    "EvalConfig",
    "TradeoffAxes",
    "ReportConfig",
    "HUMAN_CRITERIA",
    "HumanStudyConfig",
    "Settings",
    "load_params",
    "parse",
]


class SettingsError(ValueError):
    """A setting of ``params.yaml`` is unknown, missing, mistyped or out of range."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SettingsError(message)


# ---------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class Runtime:
    """``runtime``: the offline switch (Hugging Face libraries never touch the network)."""

    offline: bool


def _check_split_sizes(options: Any) -> None:
    _require(options.n_train >= 0, f"n_train must be >= 0; got {options.n_train}")
    _require(options.n_eval is None or options.n_eval >= 0, f"n_eval must be >= 0 or null; got {options.n_eval}")


@dataclass(frozen=True)
class EmbeddedOptions:
    """``data.embedded``: the mini-benchmark of real photographs shipped with the repository."""

    n_train: int
    n_eval: int | None

    def __post_init__(self) -> None:
        _check_split_sizes(self)


@dataclass(frozen=True)
class I2VBenchOptions:
    """``data.i2v_bench``: ConsistI2V's I2V-Bench, videos + captions (Sec. 4.1: 100 train)."""

    root: str | None
    captions: str | None
    n_train: int
    n_eval: int | None

    def __post_init__(self) -> None:
        _check_split_sizes(self)


@dataclass(frozen=True)
class VBenchI2VOptions:
    """``data.vbench_i2v``: VBench-I2V's image suite (evaluation only)."""

    root: str | None
    info_json: str | None
    ratio: str
    include_camera_motion: bool
    n_train: int
    n_eval: int | None

    def __post_init__(self) -> None:
        _check_split_sizes(self)
        _require(
            re.fullmatch(r"[1-9]\d*-[1-9]\d*", self.ratio) is not None,
            f"ratio must name a crop folder 'W-H' of VBench-I2V (e.g. '1-1', '16-9', '23-17'); got {self.ratio!r}",
        )

    @property
    def aspect(self) -> float:
        """Width over height of the crop folder ``ratio``."""
        width, height = (int(side) for side in self.ratio.split("-"))
        return width / height


@dataclass(frozen=True)
class AIArtBenchOptions:
    """``data.ai_artbench``: AI-ArtBench ukiyo-e images with hand-written prompts (25 train / 100 eval)."""

    root: str | None
    prompts: str | None
    n_train: int
    n_eval: int | None

    def __post_init__(self) -> None:
        _check_split_sizes(self)


DatasetOptions = EmbeddedOptions | I2VBenchOptions | VBenchI2VOptions | AIArtBenchOptions
#: The datasets the pipeline knows (Sec. 4.1), in the order of their options.
DATASET_NAMES = ("embedded", "i2v_bench", "vbench_i2v", "ai_artbench")


@dataclass(frozen=True)
class DataSettings:
    """``data``: which datasets to load, the seeded split (Sec. 4.1), the image check."""

    datasets: tuple[str, ...]
    split_seed: int
    min_side: int
    embedded: EmbeddedOptions
    i2v_bench: I2VBenchOptions
    vbench_i2v: VBenchI2VOptions
    ai_artbench: AIArtBenchOptions

    def __post_init__(self) -> None:
        _require(bool(self.datasets), "datasets must name at least one dataset")
        unknown = [d for d in self.datasets if d not in DATASET_NAMES]
        _require(not unknown, f"datasets: unknown dataset(s) {unknown}; expected some of {list(DATASET_NAMES)}")
        _require(
            len(set(self.datasets)) == len(self.datasets), f"datasets lists a dataset twice: {list(self.datasets)}"
        )
        _require(self.min_side >= 16, f"min_side must be >= 16 px; got {self.min_side}")

    def options(self, dataset: str) -> DatasetOptions:
        """The options of ``dataset`` (one of :data:`DATASET_NAMES`)."""
        if dataset not in DATASET_NAMES:
            raise SettingsError(f"unknown dataset {dataset!r}; expected one of {list(DATASET_NAMES)}")
        return getattr(self, dataset)


@dataclass(frozen=True)
class VideoSpec:
    """``video``: the generated videos (paper: 368 x 272, 25 frames for Wan; Sec. 4.1)."""

    width: int
    height: int
    num_frames: int
    fps: int

    def __post_init__(self) -> None:
        # >= 16 px: the deepest VGG19 layer of VCD has stride 16; even: H.264 (yuv420p)
        for name in ("width", "height"):
            value = getattr(self, name)
            _require(value >= 16 and value % 2 == 0, f"{name} must be an even number of pixels >= 16; got {value}")
        _require(
            self.num_frames >= 2,
            f"num_frames must be >= 2 (Eq. 2 compares frames i >= 2 with x_cnd); got {self.num_frames}",
        )
        _require(self.fps >= 1, f"fps must be >= 1; got {self.fps}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the order PIL and OpenCV use."""
        return self.width, self.height


#: Layers named in the paper (Sec. 3.1).
PAPER_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: Layers FDL's code actually uses (its stages end at features[3, 8, 17, 26, 35]).
FDL_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_4", "relu4_4", "relu5_4")


@dataclass(frozen=True)
class VCDConfig:
    """Every setting of the metric (Eq. 2 and its ablations); ``params.yaml``'s ``vcd``.

    The defaults are the paper's Eq. 2 (Sec. 3.1) with FDL's 256 projections; they
    serve the library API (``VideoConsistencyDistance()``). The pipeline builds the
    config from ``params.yaml``, which must name ``layers``, ``num_projections``,
    ``patch_size``, ``phase_weight``, ``encoder_weights`` and ``seed``; the ablation
    switches come from :data:`VCD_PRESETS`.
    """

    layers: tuple[str, ...] = PAPER_LAYERS
    distance: Literal["swd", "l2"] = "swd"
    space: Literal["frequency", "feature"] = "frequency"
    temporal_weight: bool = True
    num_projections: int = 256
    patch_size: int = 5
    phase_weight: float = 1.0
    amplitude_weight: float = 1.0
    encoder_weights: str | None = None
    seed: int = 0

    #: keys ``params.yaml``'s ``vcd`` section must hold (the others are preset switches)
    REQUIRED_IN_PARAMS = ("layers", "num_projections", "patch_size", "phase_weight", "encoder_weights", "seed")

    def __post_init__(self) -> None:
        _require(bool(self.layers), "layers must name at least one VGG19 layer, e.g. [relu1_1]")
        _require(self.distance in ("swd", "l2"), f"distance must be 'swd' or 'l2', got {self.distance!r}")
        _require(self.space in ("frequency", "feature"), f"space must be 'frequency' or 'feature', got {self.space!r}")
        _require(int(self.num_projections) >= 1, f"num_projections must be >= 1, got {self.num_projections}")
        _require(int(self.patch_size) >= 1, f"patch_size must be >= 1, got {self.patch_size}")
        _require(
            self.phase_weight >= 0 and self.amplitude_weight >= 0, "phase_weight and amplitude_weight must be >= 0"
        )
        _require(
            not (self.space == "frequency" and self.phase_weight == 0 and self.amplitude_weight == 0),
            "amplitude_weight and phase_weight are both 0: the distance would be identically 0",
        )

    def with_preset(self, name: str) -> VCDConfig:
        """This configuration with a named ablation of :data:`VCD_PRESETS` applied."""
        if name not in VCD_PRESETS:
            raise ValueError(f"Unknown VCD preset {name!r}; expected one of {sorted(VCD_PRESETS)}.")
        return replace(self, **VCD_PRESETS[name])


#: name -> overrides of :class:`VCDConfig` (the paper's ablations).
VCD_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},  # Eq. 2 as written: relu{1..5}_1, SWD, frequency space, temporal weight
    "fdl": {"layers": FDL_LAYERS},  # FDL's actual layer set
    "l2": {"distance": "l2"},  # Eq. 4
    "feat": {"space": "feature"},  # Eq. 5
    "no_temporal_weight": {"temporal_weight": False},  # Table 5 / App. C.3
    "amplitude": {"phase_weight": 0.0},  # Table 1, "+Amp."
    "phase": {"amplitude_weight": 0.0},  # Table 1, "+Phase"
}


@dataclass(frozen=True)
class SanitySettings:
    """``sanity``: the metric's checks on synthetic videos (notebook 02)."""

    images: tuple[str, ...]
    width: int
    height: int
    num_frames: int
    kinds: tuple[str, ...]
    shifts: tuple[float, ...]
    variants: tuple[str, ...]

    def __post_init__(self) -> None:
        _require(
            len(self.images) >= 2,
            f"images must name at least two embedded photographs (content swap); got {list(self.images)}",
        )
        _require(
            self.width >= 16 and self.height >= 16, f"width and height must be >= 16 px; got {self.width}x{self.height}"
        )
        _require(self.num_frames >= 2, f"num_frames must be >= 2; got {self.num_frames}")
        known = ("pan", "zoom", "moving_object", "lighting", "color", "blur", "style", "content_swap")
        unknown = [k for k in self.kinds if k not in known]
        _require(not unknown and bool(self.kinds), f"kinds: unknown kind(s) {unknown}; expected some of {list(known)}")
        _require(
            all(0 < s < 1 for s in self.shifts) and bool(self.shifts),
            f"shifts must be fractions in (0, 1); got {list(self.shifts)}",
        )
        bad = [v for v in self.variants if v not in VCD_PRESETS]
        _require(
            not bad and bool(self.variants),
            f"variants: unknown preset(s) {bad}; expected some of {sorted(VCD_PRESETS)}",
        )

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class HubModel:
    """A diffusers repository on the Hugging Face hub (or a local folder)."""

    repo_id: str
    revision: str | None


@dataclass(frozen=True)
class ToyVAE:
    """``AutoencoderKLWan`` arguments of the toy model."""

    base_dim: int
    z_dim: int
    dim_mult: tuple[int, ...]
    temporal_downsample: tuple[bool, ...]
    patch_size: int | None
    num_res_blocks: int

    def __post_init__(self) -> None:
        _require(
            len(self.temporal_downsample) == len(self.dim_mult) - 1 and any(self.temporal_downsample),
            f"temporal_downsample must have len(dim_mult) - 1 = {len(self.dim_mult) - 1} entries with at least one "
            f"true (a temporal factor of 1 breaks WanImageToVideoPipeline's frame-count rule); got "
            f"{list(self.temporal_downsample)}",
        )
        _require(
            self.base_dim >= 1 and self.z_dim >= 1 and self.num_res_blocks >= 1,
            "base_dim, z_dim and num_res_blocks must be >= 1",
        )

    @property
    def temporal_factor(self) -> int:
        return 2 ** sum(self.temporal_downsample)

    @property
    def spatial_factor(self) -> int:
        return 2 ** (len(self.dim_mult) - 1) * (self.patch_size or 1)


@dataclass(frozen=True)
class ToyTransformer:
    """``WanTransformer3DModel`` arguments of the toy model."""

    patch_size: tuple[int, int, int]
    num_layers: int
    num_attention_heads: int
    attention_head_dim: int
    ffn_dim: int
    freq_dim: int


@dataclass(frozen=True)
class ToyTextEncoder:
    """``UMT5EncoderModel`` arguments of the toy model (frozen, random)."""

    d_model: int
    num_layers: int
    num_heads: int
    d_ff: int

    def __post_init__(self) -> None:
        _require(
            self.d_model % self.num_heads == 0,
            f"d_model ({self.d_model}) must be a multiple of num_heads ({self.num_heads})",
        )


@dataclass(frozen=True)
class ToyArchitecture:
    """``model.toy``: the architecture of the toy ``WanImageToVideoPipeline``.

    ``expand_timesteps``: Wan2.2-TI2V's image conditioning -- the first latent frame *is*
    the conditioning image's latent (kept clean, timestep 0 on its tokens) and the
    transformer denoises the rest; false: Wan2.1's, where the image's latents and a mask
    are concatenated to the noise channels and the first frame is generated too."""

    vae: ToyVAE
    transformer: ToyTransformer
    text_encoder: ToyTextEncoder
    expand_timesteps: bool


#: Wan's VAE: 4x temporal and 8x spatial compression, with the transformer's 2x2 patches.
WAN_TEMPORAL_FACTOR, WAN_SPATIAL_MULTIPLE = 4, 16


@dataclass(frozen=True)
class ModelSettings:
    """``model``: which image-to-video pipeline and how it samples (Sec. 4.1)."""

    name: str
    dtype: Literal["float32", "bfloat16", "float16"]
    num_inference_steps: int
    guidance_scale: float
    flow_shift: float | None
    max_sequence_length: int
    hub: Mapping[str, HubModel]
    toy: ToyArchitecture

    def __post_init__(self) -> None:
        _require(
            self.name == "toy" or self.name in self.hub,
            f"unknown model name {self.name!r}; expected 'toy' or one of {sorted(self.hub)} (model.hub)",
        )
        _require(self.num_inference_steps >= 1, f"num_inference_steps must be >= 1; got {self.num_inference_steps}")
        _require(
            self.guidance_scale >= 1.0,
            f"guidance_scale must be >= 1 (1 = no classifier-free guidance); got {self.guidance_scale}",
        )
        _require(
            self.flow_shift is None or self.flow_shift > 0, f"flow_shift must be > 0 or null; got {self.flow_shift}"
        )
        _require(self.max_sequence_length >= 1, f"max_sequence_length must be >= 1; got {self.max_sequence_length}")

    @property
    def is_toy(self) -> bool:
        return self.name == "toy"

    @property
    def temporal_factor(self) -> int:
        """Frames per latent frame after the first (Wan's VAE: 4)."""
        return self.toy.vae.temporal_factor if self.is_toy else WAN_TEMPORAL_FACTOR

    @property
    def spatial_multiple(self) -> int:
        """Generated width and height must be multiples of this (VAE x transformer patch)."""
        return self.toy.vae.spatial_factor * self.toy.transformer.patch_size[1] if self.is_toy else WAN_SPATIAL_MULTIPLE

    @property
    def torch_dtype(self):
        """The transformer's and text encoder's ``torch.dtype`` (the VAE stays float32)."""
        import torch

        return getattr(torch, self.dtype)


@dataclass(frozen=True)
class SamplingConfig:
    """How one video is sampled: its shape and the denoising loop (``video`` + ``model``)."""

    num_frames: int
    height: int
    width: int
    num_inference_steps: int
    guidance_scale: float
    max_sequence_length: int


@dataclass(frozen=True)
class VAEPretrain:
    steps: int
    batch_size: int
    clip_frames: int
    crop: tuple[int, int] | None
    lr: float
    kl_weight: float

    def __post_init__(self) -> None:
        _require(self.steps >= 1 and self.batch_size >= 1, "steps and batch_size must be >= 1")
        _require(self.clip_frames >= 1, f"clip_frames must be >= 1; got {self.clip_frames}")
        _require(self.lr > 0 and self.kl_weight >= 0, "lr must be > 0 and kl_weight >= 0")


@dataclass(frozen=True)
class TransformerPretrain:
    steps: int
    batch_size: int
    lr: float

    def __post_init__(self) -> None:
        _require(self.steps >= 1 and self.batch_size >= 1 and self.lr > 0, "steps and batch_size must be >= 1, lr > 0")


@dataclass(frozen=True)
class PretrainSources:
    """``pretrain.sources``: the still images the training videos are rendered from
    (:mod:`vcd.training_images`), one video each."""

    photo_views: int
    procedural: int
    grey_share: float

    def __post_init__(self) -> None:
        _require(self.photo_views >= 0 and self.procedural >= 0, "photo_views and procedural must be >= 0")
        _require(self.photo_views + self.procedural >= 1, "pretrain.sources needs at least one image")
        _require(0 <= self.grey_share <= 1, f"grey_share must be in [0, 1]; got {self.grey_share}")


@dataclass(frozen=True)
class PretrainConfig:
    """``pretrain``: the toy base model's training (notebook 03)."""

    seed: int
    sources: PretrainSources
    vae: VAEPretrain
    transformer: TransformerPretrain
    check_seeds: tuple[int, ...]
    check_items: int

    def __post_init__(self) -> None:
        _require(
            bool(self.check_seeds) and self.check_items >= 1, "check_seeds must name a seed and check_items be >= 1"
        )


@dataclass(frozen=True)
class LoraSettings:
    """``finetune.lora``: the adapters (VADER: rank 16, dropout 0.01)."""

    rank: int
    alpha: float
    dropout: float
    target_modules: tuple[str, ...]

    def __post_init__(self) -> None:
        _require(self.rank >= 1 and self.alpha > 0, f"rank must be >= 1 and alpha > 0; got {self.rank}, {self.alpha}")
        _require(0 <= self.dropout < 1, f"dropout must be in [0, 1); got {self.dropout}")
        _require(bool(self.target_modules), "target_modules is empty")


@dataclass(frozen=True)
class FinetuneConfig:
    """``finetune``: the reward fine-tuning runs (Sec. 3.2, 4.1; VADER).

    ``run_seeds``: every method is fine-tuned once per seed (the study's unit of
    replication: the seed drives LoRA initialisation, sampling noise, frame choice and
    data order). The first seed's run is the method's model in the paper's protocol
    (one model per method); the others are its replicate runs (``<reward>@<seed>``).
    """

    run_seeds: tuple[int, ...]
    steps: int
    batch_size: int
    grad_accumulation: int
    lr: float
    weight_decay: float
    grad_clip: float
    backprop_steps: int
    mixed_precision: Literal["no", "bf16", "fp16"]
    gradient_checkpointing: bool
    checkpoint_every: int
    keep_checkpoints: int
    val_every: int
    val_items: int
    lora: LoraSettings
    #: fractions of ``steps`` after which the LoRA is kept as a trade-off snapshot
    #: (``<run>~<step>``, evaluated on ``evaluation.tradeoff``'s subset)
    snapshots: tuple[float, ...]

    def __post_init__(self) -> None:
        _require(
            all(0 < f < 1 for f in self.snapshots),
            f"snapshots are fractions of the steps in (0, 1) (the last step is the run itself); "
            f"got {list(self.snapshots)}",
        )
        for name in (
            "steps",
            "batch_size",
            "grad_accumulation",
            "checkpoint_every",
            "keep_checkpoints",
            "backprop_steps",
        ):
            _require(getattr(self, name) >= 1, f"{name} must be >= 1; got {getattr(self, name)}")
        _require(self.lr > 0, f"lr must be > 0; got {self.lr}")
        _require(self.weight_decay >= 0, f"weight_decay must be >= 0; got {self.weight_decay}")
        # 0 would leave every gradient zero and a negative norm reverses the update
        _require(self.grad_clip > 0, f"grad_clip must be > 0 (the largest gradient norm kept); got {self.grad_clip}")
        _require(self.val_every >= 0 and self.val_items >= 0, "val_every and val_items must be >= 0 (0 = no probe)")
        _require(bool(self.run_seeds), "run_seeds must name at least one seed (the study's runs per method)")
        _require(
            len(set(self.run_seeds)) == len(self.run_seeds), f"run_seeds lists a seed twice: {list(self.run_seeds)}"
        )

    @property
    def first_seed(self) -> int:
        """The seed of each method's run in the paper's protocol (one model per method)."""
        return self.run_seeds[0]

    @property
    def snapshot_steps(self) -> tuple[int, ...]:
        """The optimizer steps after which a run keeps its LoRA (``snapshots`` x ``steps``,
        rounded, at least 1 and before the last step; fractions that round to the same
        step of a short run give one snapshot)."""
        steps = {min(max(round(f * self.steps), 1), self.steps - 1) for f in self.snapshots}
        return tuple(sorted(s for s in steps if s >= 1))


@dataclass(frozen=True)
class FrameConsistencyOptions:
    layers: tuple[str, ...]
    stride: int


@dataclass(frozen=True)
class VJEPAOptions:
    model: str
    revision: str | None
    num_frames: int


@dataclass(frozen=True)
class AestheticOptions:
    clip: str
    head: str | None


@dataclass(frozen=True)
class CLIPScoreOptions:
    model: str | None
    tokenizer: str | None


@dataclass(frozen=True)
class RewardSettings:
    """``rewards``: options of the rewards (``vcd/rewards.py``)."""

    condition_on: Literal["first_frame", "input_image"]
    resample_projections: bool
    frame_consistency: FrameConsistencyOptions
    vjepa: VJEPAOptions
    aesthetic: AestheticOptions
    hps: CLIPScoreOptions
    pickscore: CLIPScoreOptions


@dataclass(frozen=True)
class MethodSettings:
    """``methods``: the fine-tuning runs and the "+V-JEPA" row.

    One run, and one LoRA, per (training dataset, reward): Sec. 4.1 fine-tunes on
    I2V-Bench's training videos for the I2V-Bench and VBench-I2V evaluations and on
    AI-ArtBench's 25 training images for AI-ArtBench (``evaluation.lora_from`` says
    which LoRA generates each evaluation dataset's videos)."""

    rewards: tuple[str, ...]
    baseline: str | None
    train_on: tuple[str, ...]
    #: models also sampled with FrameInit (``base`` and rewards, every run of each):
    #: methods ``base+frameinit``, ``vcd+frameinit``, ``vcd+frameinit@1`` (:mod:`vcd.frameinit`)
    frameinit: tuple[str, ...]

    def __post_init__(self) -> None:
        from .methods import REWARD_NAMES

        _require(bool(self.train_on), "train_on must name at least one training dataset")
        unknown_data = [d for d in self.train_on if d not in DATASET_NAMES]
        _require(
            not unknown_data, f"train_on: unknown dataset(s) {unknown_data}; expected some of {list(DATASET_NAMES)}"
        )
        _require(
            len(set(self.train_on)) == len(self.train_on), f"train_on lists a dataset twice: {list(self.train_on)}"
        )

        # the names also reach dvc.yaml's command lines (finetune matrix): only known names pass
        _require(bool(self.rewards), "rewards must name at least one reward (dvc.yaml's finetune matrix needs one)")
        unknown = [r for r in self.rewards if r not in REWARD_NAMES]
        _require(not unknown, f"rewards: unknown reward(s) {unknown}; expected some of {list(REWARD_NAMES)}")
        _require(len(set(self.rewards)) == len(self.rewards), f"rewards lists a reward twice: {list(self.rewards)}")
        _require(
            self.baseline is None or self.baseline in self.rewards,
            f"baseline {self.baseline!r} is not one of rewards {list(self.rewards)}: the '+V-JEPA' row and claim C7 "
            "need it (null: no baseline)",
        )

        models = ("base", *self.rewards)
        _require(
            set(self.frameinit) <= set(models) and len(set(self.frameinit)) == len(self.frameinit),
            f"frameinit {list(self.frameinit)} must name distinct models of {list(models)} (base and rewards)",
        )

    @property
    def all(self) -> tuple[str, ...]:
        """The base model, every reward's first run, then the FrameInit methods, in table order."""
        from .methods import frameinit_name

        return ("base", *self.rewards, *(frameinit_name(m) for m in self.frameinit))


@dataclass(frozen=True)
class FrameInitConfig:
    """``frameinit``: ConsistI2V's FrameInit for a flow-matching sampler (:mod:`vcd.frameinit`)."""

    #: ConsistI2V's DDPM timestep tau for the static video's noise; sigma matches its SNR
    ddpm_timestep: int
    #: the flow-matching noise level of the static video (null: SNR-matched to ddpm_timestep)
    sigma: float | None
    spatial_cutoff: float  # FreeInit's d_s (normalised, 0..1); 0: plain sampling
    temporal_cutoff: float  # d_t

    def __post_init__(self) -> None:
        _require(0 <= self.ddpm_timestep < 1000, f"ddpm_timestep must be in 0..999, got {self.ddpm_timestep}")
        _require(self.sigma is None or 0 < self.sigma <= 1, f"sigma must be in (0, 1] or null, got {self.sigma}")
        for name in ("spatial_cutoff", "temporal_cutoff"):
            value = getattr(self, name)
            _require(0 <= value <= 1, f"{name} must be in [0, 1] (a normalised frequency), got {value}")


@dataclass(frozen=True)
class RewardModelHead:
    """``reward_models.head``: sizes of the learned rewards' heads (:mod:`vcd.reward_models`)."""

    mlp_hidden: int  # the MLP baseline's hidden width
    width: int  # the attention model's token width
    heads: int  # its attention heads
    layers: int  # its shared token-encoder layers

    def __post_init__(self) -> None:
        _require(min(self.mlp_hidden, self.width, self.heads, self.layers) >= 1, "head sizes must be >= 1")
        _require(self.width % self.heads == 0, f"width {self.width} must be a multiple of heads {self.heads}")


@dataclass(frozen=True)
class RewardModelTraining:
    """``reward_models.train``: the pairwise training of both heads on cached features."""

    steps: int
    batch_pairs: int
    lr: float

    def __post_init__(self) -> None:
        _require(self.steps >= 1 and self.batch_pairs >= 1, "steps and batch_pairs must be >= 1")
        _require(self.lr > 0, f"lr must be > 0, got {self.lr}")


@dataclass(frozen=True)
class LabelledPairsConfig:
    """``reward_models.labelled_pairs``: real preference pairs in VideoAlign's CSV format
    (``path_A, path_B, prompt`` and a column per criterion holding ``A``, ``B`` or
    ``same``; :mod:`vcd.labelled_pairs`), with a column naming each pair's conditioning
    image. Relative paths are read from the CSV's folder. When set, the learned rewards
    are trained on these pairs instead of the synthetic drift severity (paper profile)."""

    csv: str  # the CSV file (relative to the repository root)
    criterion: str  # the label column the rewards learn (for example VQ, MQ, TA or a consistency column)
    image_column: str = "image"  # the column with each pair's conditioning image
    validation_share: float = 0.15  # conditioning images kept for early stopping
    test_share: float = 0.15  # and for the held-out accuracy (never trained on)

    def __post_init__(self) -> None:
        _require(bool(self.csv.strip()), "csv must name a file")
        _require(bool(self.criterion.strip()), "criterion must name a label column")
        _require(0 < self.validation_share < 1, f"validation_share must be in (0, 1); got {self.validation_share}")
        _require(0 < self.test_share < 1, f"test_share must be in (0, 1); got {self.test_share}")
        _require(self.validation_share + self.test_share < 1, "validation_share + test_share must be below 1")


@dataclass(frozen=True)
class RewardModelConfig:
    """``reward_models``: the learned consistency rewards (ICReward-style attention model
    and its MLP baseline; notebook 03c, :mod:`vcd.reward_models`), trained on the known
    severity of synthetic drift laid over natural-motion videos of training-split sources."""

    seed: int
    photo_views: int  # training sources: views of the training photographs (vcd.training_images)
    procedural: int  # and procedural images
    videos_per_source: int  # labelled videos per source: the preference pairs are made within a source
    heldout_views: int  # views of each evaluation-split image in the held-out test (never trained on)
    heldout_videos_per_view: int  # labelled videos per held-out view
    zero_share: float  # share of videos without drift (motion only: label-preserving)
    layers: tuple[str, ...]  # frozen VGG19 layers the tokens are pooled from
    grid: tuple[int, int]  # token grid (rows, columns)
    frame_stride: int  # every this many frames is scored, from frame 1
    head: RewardModelHead
    train: RewardModelTraining
    labelled_pairs: LabelledPairsConfig | None = None  # real A/B/same pairs instead of synthetic severity

    def __post_init__(self) -> None:
        _require(self.photo_views + self.procedural >= 2, "photo_views + procedural must give at least 2 sources")
        _require(self.videos_per_source >= 2, f"videos_per_source must be >= 2; got {self.videos_per_source}")
        _require(self.heldout_views >= 1, f"heldout_views must be >= 1; got {self.heldout_views}")
        _require(self.heldout_videos_per_view >= 2, "heldout_videos_per_view must be >= 2 (pairs within a view)")
        _require(self.frame_stride >= 1, f"frame_stride must be >= 1; got {self.frame_stride}")
        _require(0 <= self.zero_share < 1, f"zero_share must be in [0, 1); got {self.zero_share}")
        _require(min(self.grid) >= 1, f"grid must be positive; got {list(self.grid)}")
        _require(bool(self.layers), "layers must name at least one VGG19 layer")


@dataclass(frozen=True)
class BestOfNConfig:
    """``best_of_n``: sampling-time selection (:mod:`vcd.best_of_n`): the base model samples
    ``n`` candidates per (item, seed) and each scorer keeps its best."""

    n: int
    scorers: tuple[str, ...]  # vcd (lowest VCD) and learned rewards (highest score)

    def __post_init__(self) -> None:
        from .methods import SCORERS

        _require(self.n >= 1, f"n must be >= 1; got {self.n}")
        unknown = [s for s in self.scorers if s not in SCORERS]
        _require(not unknown, f"scorers: unknown {unknown}; expected some of {list(SCORERS)}")
        _require(len(set(self.scorers)) == len(self.scorers), f"scorers lists one twice: {list(self.scorers)}")


@dataclass(frozen=True)
class TradeoffConfig:
    """``evaluation.tradeoff``: the fixed subset on which every run's snapshots are
    scored (the consistency-motion trade-off curves)."""

    #: the first this many evaluation items of each dataset (null: all of them)
    items: int | None
    #: sampling seeds of the snapshots' videos (a subset of ``replicate_seeds``, so every
    #: run's own videos give the path's last point)
    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        _require(self.items is None or self.items >= 1, f"items must be >= 1 or null (all); got {self.items}")
        _require(bool(self.seeds), "seeds must name at least one seed")


@dataclass(frozen=True)
class EvalConfig:
    """``evaluation``: which videos are generated and scored (Sec. 4.1: five seeds)."""

    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    #: sampling seeds of a replicate run's videos (a subset of ``seeds``: every run of
    #: the study is scored on every item with these; the first run has all ``seeds``)
    replicate_seeds: tuple[int, ...]
    vcd_seeds: tuple[int, ...] | None
    #: evaluation dataset -> the training dataset whose LoRAs make its videos; a dataset
    #: not listed uses its own (Sec. 4.1: VBench-I2V is evaluated with I2V-Bench's LoRAs)
    lora_from: Mapping[str, str]
    tradeoff: TradeoffConfig
    #: videos sampled in one batch: whole items are gathered until the batch has at least
    #: this many (an item's seeds are never split), so a snapshot's one seed per item does
    #: not run alone (:func:`vcd.generation.generate_method_videos`)
    batch_videos: int

    def __post_init__(self) -> None:
        _require(bool(self.datasets), "datasets must name at least one dataset")
        unknown = [d for d in [*self.lora_from, *self.lora_from.values()] if d not in DATASET_NAMES]
        _require(not unknown, f"lora_from: unknown dataset(s) {unknown}; expected some of {list(DATASET_NAMES)}")
        _require(bool(self.seeds), "seeds must name at least one seed (the paper uses five)")
        _require(self.batch_videos >= 1, f"batch_videos must be at least 1, got {self.batch_videos}")
        _require(len(set(self.seeds)) == len(self.seeds), f"seeds lists a seed twice: {list(self.seeds)}")
        _require(
            bool(self.replicate_seeds) and set(self.replicate_seeds) <= set(self.seeds),
            f"replicate_seeds {list(self.replicate_seeds)} must name seeds of seeds {list(self.seeds)}",
        )
        _require(
            self.vcd_seeds is None or set(self.vcd_seeds) <= set(self.seeds),
            f"vcd_seeds {list(self.vcd_seeds or ())} must be a subset of seeds {list(self.seeds)} (or null: all)",
        )
        _require(
            set(self.tradeoff.seeds) <= set(self.replicate_seeds),
            f"tradeoff.seeds {list(self.tradeoff.seeds)} must name seeds of replicate_seeds "
            f"{list(self.replicate_seeds)} (every run's own videos end its trade-off path)",
        )

    def seeds_of(self, method: str) -> tuple[int, ...]:
        """The sampling seeds of ``method``'s videos: ``tradeoff.seeds`` for a snapshot
        (``<run>~<step>``), ``replicate_seeds`` for a replicate run (``<reward>@<seed>``),
        ``seeds`` for the base model and each first run."""
        from .methods import split_replicate, split_snapshot

        if split_snapshot(method)[1] is not None:
            return self.tradeoff.seeds
        return self.seeds if split_replicate(method)[1] is None else self.replicate_seeds

    def vcd_seeds_of(self, method: str) -> tuple[int, ...] | None:
        """The seeds whose videos get VCD per frame (the drift curves the report draws for
        the paper-protocol methods): ``vcd_seeds`` for the base model and each first run,
        none (``()``) for replicate runs and snapshots, which no figure or claim reads."""
        from .methods import split_replicate, split_snapshot

        if split_snapshot(method)[1] is not None or split_replicate(method)[1] is not None:
            return ()
        return self.vcd_seeds

    def items_of(self, method: str, items: Sequence[T]) -> list[T]:
        """The evaluation items ``method`` is scored on: the first ``tradeoff.items`` for a
        snapshot, every item otherwise."""
        from .methods import split_snapshot

        if split_snapshot(method)[1] is None or self.tradeoff.items is None:
            return list(items)
        return list(items)[: self.tradeoff.items]

    def trained_on(self, dataset: str) -> str:
        """The training dataset whose LoRAs generate ``dataset``'s evaluation videos."""
        return self.lora_from.get(dataset, dataset)


@dataclass(frozen=True)
class TradeoffAxes:
    """``report.tradeoff``: the metrics of the consistency-motion trade-off figure."""

    consistency: str  # the x axis: consistency to the conditioning image
    motion: tuple[str, ...]  # one panel per motion metric (y axis)


@dataclass(frozen=True)
class ReportConfig:
    """``report``: tables and figures (notebook 06); changing it re-runs only that stage."""

    table_metrics: tuple[str, ...]
    strip_images: tuple[str, ...] | int
    official: bool
    tradeoff: TradeoffAxes

    def __post_init__(self) -> None:
        from .columns import METRICS

        _require(bool(self.table_metrics), "table_metrics must name at least one metric")
        unknown = [m for m in self.table_metrics if m not in METRICS]
        _require(not unknown, f"table_metrics: unknown metric(s) {unknown}; expected some of {list(METRICS)}")
        axes = [self.tradeoff.consistency, *self.tradeoff.motion]
        unknown = [m for m in axes if m not in METRICS]
        _require(not unknown, f"tradeoff: unknown metric(s) {unknown}; expected some of {list(METRICS)}")
        _require(bool(self.tradeoff.motion), "tradeoff.motion must name at least one motion metric")
        _require(
            not isinstance(self.strip_images, int) or self.strip_images >= 1,
            "strip_images must be >= 1 or a list of ids",
        )


#: the questions of the human study (App. C.1), by criterion name
HUMAN_CRITERIA: dict[str, str] = {
    "temporal_consistency": "Which video remains faithful to the conditioning image across frames?",
    "video_text_alignment": "Which video is better aligned with the text prompt?",
    "motion_naturalness": "Which video shows more natural movement? Judge the motion alone, "
    "without regard to the image and the prompt.",
}


@dataclass(frozen=True)
class HumanStudyConfig:
    """``human_study``: the pairwise rating study of Sec. 4.2 / App. C.1 (notebook 07,
    ``vcd/human_study.py``, the rating app ``vcd/rating_app.py``)."""

    seed: int
    videos_per_dataset: int  # paper: 30 per dataset, the same (item, seed) keys for every pair
    pairs: tuple[tuple[str, str], ...]  # (first, second) methods; paper: base-+V-JEPA, base-+VCD, +V-JEPA-+VCD
    criteria: tuple[str, ...]
    raters: int  # rater links the design plans (each with its own trial order and sides); paper: 15

    def __post_init__(self) -> None:
        _require(self.videos_per_dataset >= 1, f"videos_per_dataset must be >= 1; got {self.videos_per_dataset}")
        _require(self.raters >= 1, f"raters must be >= 1; got {self.raters}")
        _require(bool(self.pairs), "pairs must name at least one pair of methods")
        for first, second in self.pairs:
            _require(first != second, f"pairs: a method is compared with itself: {[first, second]}")
        keys = [frozenset(p) for p in self.pairs]
        _require(len(set(keys)) == len(keys), f"pairs lists a comparison twice: {[list(p) for p in self.pairs]}")
        unknown = [c for c in self.criteria if c not in HUMAN_CRITERIA]
        _require(bool(self.criteria), "criteria must name at least one criterion")
        _require(not unknown, f"criteria: unknown {unknown}; expected some of {list(HUMAN_CRITERIA)}")
        _require(len(set(self.criteria)) == len(self.criteria), f"criteria lists one twice: {list(self.criteria)}")


@dataclass(frozen=True)
class Settings:
    """Every section of ``params.yaml``; build it with :meth:`load`."""

    profile: str
    runtime: Runtime
    data: DataSettings
    video: VideoSpec
    vcd: VCDConfig
    sanity: SanitySettings
    model: ModelSettings
    pretrain: PretrainConfig
    finetune: FinetuneConfig
    rewards: RewardSettings
    methods: MethodSettings
    frameinit: FrameInitConfig
    reward_models: RewardModelConfig
    best_of_n: BestOfNConfig
    evaluation: EvalConfig
    report: ReportConfig
    human_study: HumanStudyConfig

    def __post_init__(self) -> None:
        if "vbench_i2v" in self.data.datasets:
            # App. C.1: the conditioning images are cropped (VBench-I2V's content-aware crops)
            # to the generation's aspect ratio, not centre-cropped from another ratio
            crop, video = self.data.vbench_i2v.aspect, self.video.width / self.video.height
            _require(
                abs(crop / video - 1) <= 0.02,
                f"data.vbench_i2v.ratio {self.data.vbench_i2v.ratio!r} (aspect {crop:.3f}) does not match the "
                f"video's {self.video.width}x{self.video.height} (aspect {video:.3f}); make VBench-I2V's crops at the "
                "generation's ratio with its tool (README, 'Paper profile': crop_to_diff_ratio)",
            )
        missing = [d for d in self.evaluation.datasets if d not in self.data.datasets]
        _require(
            not missing,
            f"evaluation.datasets {missing} are not in data.datasets {list(self.data.datasets)}: "
            "only those are split (data_split stage)",
        )
        not_split = [d for d in self.methods.train_on if d not in self.data.datasets]
        _require(
            not not_split,
            f"methods.train_on {not_split} are not in data.datasets {list(self.data.datasets)}: "
            "only those are split (data_split stage)",
        )
        untrainable = [d for d in self.methods.train_on if not self.data.options(d).n_train]
        _require(
            not untrainable,
            f"methods.train_on {untrainable}: data.<dataset>.n_train is 0, there is nothing to fine-tune on "
            "(VBench-I2V is evaluation-only; Sec. 4.1 evaluates it with I2V-Bench's LoRAs: evaluation.lora_from)",
        )
        for dataset in self.evaluation.datasets:
            source = self.evaluation.trained_on(dataset)
            _require(
                source in self.methods.train_on,
                f"evaluation dataset {dataset!r} is generated with the LoRAs trained on {source!r}, which is not in "
                f"methods.train_on {list(self.methods.train_on)}; add it there or map {dataset!r} to one of them in "
                "evaluation.lora_from",
            )
        factor = self.model.temporal_factor
        _require(
            (self.video.num_frames - 1) % factor == 0,
            f"video.num_frames - 1 must be a multiple of the model's temporal compression {factor} "
            f"(e.g. {1 + factor * max(1, (self.video.num_frames - 1) // factor)}); got {self.video.num_frames}",
        )
        multiple = self.model.spatial_multiple
        _require(
            self.video.width % multiple == 0 and self.video.height % multiple == 0,
            f"video.width and video.height must be multiples of {multiple} for this model; got "
            f"{self.video.width}x{self.video.height}",
        )
        _require(
            self.finetune.backprop_steps <= self.model.num_inference_steps,
            f"finetune.backprop_steps (K) must be between 1 and model.num_inference_steps = "
            f"{self.model.num_inference_steps}; got {self.finetune.backprop_steps}",
        )
        methods = self.methods.all
        strangers = sorted({m for pair in self.human_study.pairs for m in pair if m not in methods})
        _require(
            not strangers,
            f"human_study.pairs name {strangers}, which are not among the evaluated methods {list(methods)} "
            "(base and methods.rewards)",
        )
        seeds = {
            "data.split_seed": [self.data.split_seed],
            "vcd.seed": [self.vcd.seed],
            "pretrain.seed": [self.pretrain.seed],
            "pretrain.check_seeds": list(self.pretrain.check_seeds),
            "finetune.run_seeds": list(self.finetune.run_seeds),
            "evaluation.seeds": list(self.evaluation.seeds),
            "human_study.seed": [self.human_study.seed],
        }
        for key, values in seeds.items():  # random generators take seeds in [0, 2**63)
            _require(all(0 <= v < 2**63 for v in values), f"{key} must be in [0, 2**63); got {values}")
        if self.model.is_toy:  # the toy VAE's training clips must fit its compression and the videos
            vae, clip = self.model.toy.vae, self.pretrain.vae
            _require(
                clip.clip_frames <= self.video.num_frames and (clip.clip_frames - 1) % vae.temporal_factor == 0,
                f"pretrain.vae.clip_frames must be at most video.num_frames = {self.video.num_frames} and 1 + a "
                f"multiple of the VAE's temporal compression {vae.temporal_factor}; got {clip.clip_frames}",
            )
            # Wan's causal VAE encodes frame 1, then chunks of 4 frames carrying a cache from
            # the chunk before; a VAE that never saw two chunks fails on the second one
            # (vcd.toy.train_vae: frames 6-9 at SSIM 0.41-0.61 after 5-frame clips)
            _require(
                clip.clip_frames >= min(self.video.num_frames, 9),
                f"pretrain.vae.clip_frames must be at least min(video.num_frames, 9) = "
                f"{min(self.video.num_frames, 9)} so that the VAE trains on two chunks of its causal "
                f"cache; got {clip.clip_frames}",
            )
            if clip.crop is not None:
                height, width = clip.crop
                _require(
                    height <= self.video.height
                    and width <= self.video.width
                    and height % vae.spatial_factor == 0
                    and width % vae.spatial_factor == 0,
                    f"pretrain.vae.crop [height, width] must fit in the {self.video.width}x{self.video.height} "
                    f"videos and be multiples of the VAE's spatial compression {vae.spatial_factor}; "
                    f"got {list(clip.crop)}",
                )

    @property
    def study_methods(self) -> tuple[str, ...]:
        """Every evaluated method: the base model, each reward's first run (the paper's one
        model per method), the FrameInit and best-of-N methods (:attr:`evaluated_methods`), then each reward's
        replicate runs (``<reward>@<seed>`` for the other ``finetune.run_seeds``) and those
        of the FrameInit methods (``<reward>+frameinit@<seed>``)."""
        from .methods import BASE, frameinit_name, replicate_name

        seeds = self.finetune.run_seeds[1:]
        replicates = [replicate_name(r, s) for r in self.methods.rewards for s in seeds]
        replicates += [frameinit_name(replicate_name(m, s)) for m in self.methods.frameinit if m != BASE for s in seeds]
        return (*self.evaluated_methods, *replicates)

    @property
    def evaluated_methods(self) -> tuple[str, ...]:
        """The paper protocol's methods, in table order: ``methods.all`` (the base model,
        each reward's first run, the FrameInit methods), then the base model's best-of-N
        selections (``base+bestof-<scorer>``, :mod:`vcd.best_of_n`)."""
        from .methods import best_of_name

        return (*self.methods.all, *(best_of_name(s) for s in self.best_of_n.scorers))

    @property
    def snapshot_methods(self) -> tuple[str, ...]:
        """Every fine-tuning run's trade-off snapshots (``<run>~<step>`` for each of
        ``finetune.snapshot_steps``), run by run in :attr:`study_methods` order."""
        from .methods import snapshot_name

        steps = self.finetune.snapshot_steps
        return tuple(snapshot_name(run, s) for r in self.methods.rewards for run in self.runs_of(r) for s in steps)

    def runs_of(self, reward: str) -> tuple[str, ...]:
        """The method names of ``reward``'s runs, one per ``finetune.run_seeds`` (first: the bare name)."""
        from .methods import replicate_name

        return (reward, *(replicate_name(reward, s) for s in self.finetune.run_seeds[1:]))

    def run_seeds_of(self, reward: str) -> dict[str, int]:
        """``reward``'s runs (:meth:`runs_of`) -> the run seed each was fine-tuned from."""
        return dict(zip(self.runs_of(reward), self.finetune.run_seeds, strict=True))

    @property
    def sampling(self) -> SamplingConfig:
        """The video shape and the denoising loop, as sampling needs them."""
        return SamplingConfig(
            self.video.num_frames,
            self.video.height,
            self.video.width,
            self.model.num_inference_steps,
            self.model.guidance_scale,
            self.model.max_sequence_length,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for digests and provenance records)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any], source: str = "parameters") -> Settings:
        """Build and check every section; raises :class:`SettingsError` naming the key."""
        try:
            return parse(cls, params, "")
        except SettingsError as exc:
            raise SettingsError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        """Read ``params.yaml`` (or another parameter file) and build the settings."""
        return cls.from_mapping(load_params(path), str(path))

    def with_changes(self, **sections: Any) -> Settings:
        """A copy with whole sections replaced (tests, notebooks exploring a variant)."""
        return replace(self, **sections)


# ---------------------------------------------------------------------------- the parser
def load_params(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a parameter file (:meth:`Settings.load` builds the settings from it;
    only :mod:`vcd.config`'s overlays work on the raw mapping)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parameter file not found: {path}")
    try:
        with path.open(encoding="utf-8") as handle:
            params = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(params, dict):
        raise ValueError(f"{path} must hold a mapping of parameters")
    return params


def _describe(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        return "a list" if len(args) == 2 and args[1] is Ellipsis else f"a list of {len(args)} values"
    if tp is type(None):
        return "null"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _where(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def parse(tp: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the type ``tp`` and build it (dataclasses recursively).

    Strict: a bool is not an integer, a string is not a number, an integer is a
    number. ``where`` is the dotted key, for messages.
    """
    name = where or "params"
    origin, args = get_origin(tp), get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _parse_dataclass(tp, value, where)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return parse(option, value, where)
            except SettingsError:
                continue
        raise SettingsError(f"{name} must be {_describe(tp)}; got {value!r}")
    if origin is Literal:
        if value in args and not isinstance(value, bool):
            return value
        raise SettingsError(f"{name} must be {_describe(tp)}; got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"{name} must be {_describe(tp)}; got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(parse(args[0], v, _where(where, i)) for i, v in enumerate(value))
        if len(value) != len(args):
            raise SettingsError(f"{name} must be {_describe(tp)}; got {len(value)}: {value!r}")
        return tuple(parse(a, v, _where(where, i)) for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise SettingsError(f"{name} must be a mapping; got {value!r}")
        return {str(k): parse(args[1], v, _where(where, str(k))) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SettingsError(f"{name} must be true or false; got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SettingsError(f"{name} must be an integer; got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        hint = ""
        if isinstance(value, str):
            hint = (
                " (YAML reads a number without a decimal point in its mantissa, like 1e-2, as a string: write 1.0e-2)"
            )
        raise SettingsError(f"{name} must be a number; got {value!r}{hint}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise SettingsError(f"{name} must be a string; got {value!r}")
    if tp is Any:
        return value
    raise TypeError(f"no parser for {tp!r} at {name}")  # a programming error, not a user's


def _parse_dataclass(cls: type, value: Any, where: str) -> Any:
    name = where or "params"
    if not isinstance(value, Mapping):
        raise SettingsError(f"{name} must be a mapping of settings; got {value!r}")
    hints = get_type_hints(cls)
    known = [f.name for f in fields(cls) if f.init]
    unknown = [k for k in value if k not in known]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), known, n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        raise SettingsError(f"unknown key {_where(where, key)!r}{suggestion}; {name} takes {', '.join(known)}")
    required = getattr(cls, "REQUIRED_IN_PARAMS", None)
    kwargs = {}
    for f in fields(cls):
        if not f.init:
            continue
        needed = (
            f.name in required
            if required is not None
            else (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        )
        if f.name not in value:
            if needed:
                raise SettingsError(f"{_where(where, f.name)} is missing")
            continue
        kwargs[f.name] = parse(hints[f.name], value[f.name], _where(where, f.name))
    try:
        return cls(**kwargs)
    except SettingsError as exc:
        raise SettingsError(f"{name}: {exc}" if where else str(exc)) from None
