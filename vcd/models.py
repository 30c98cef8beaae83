"""Image-to-video pipelines: one place builds them from the ``model`` settings.

* ``toy``: a small ``WanImageToVideoPipeline`` (Wan VAE, Wan transformer, UMT5 text
  encoder, word-level tokenizer) whose architecture comes from ``model.toy`` in params
  and whose weights are trained by this project (notebook ``03a_base_model``) into the
  layout's ``models/base``. It is saved with ``save_pretrained`` and loaded back with
  ``from_pretrained`` -- the same path the real models take.
* Wan models from the Hugging Face hub (``model.hub``): the paper's
  "Wan2.1-1.3B-I2V" (most likely alibaba-pai's Wan2.1-Fun-1.3B-InP; a community
  diffusers conversion is the default), Wan2.1-I2V-14B-480P and Wan2.2-TI2V-5B.
  All load through ``WanImageToVideoPipeline.from_pretrained``; offline, only the local
  cache is used and a missing model fails before any work with the repo id it needs.

Open-Sora 1.2, the paper's other model, is not in diffusers (see README: what adding
it would take).

LoRA (peft) lives here too: adapters on the transformer's attention projections,
saved as LoRA-only ``.safetensors`` and loaded back for evaluation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .files import atomic_path, write_text
from .layout import Layout, RunFiles
from .settings import LoraSettings, ModelSettings, ToyArchitecture, parse

__all__ = [
    "ModelNotAvailableError",
    "build_tokenizer",
    "build_toy_pipeline",
    "resolve_model_source",
    "check_model_available",
    "load_pipeline",
    "model_provenance",
    "add_lora",
    "lora_target_report",
    "save_lora",
    "load_lora",
    "lora_digest",
    "sha256_of_files",
]


class ModelNotAvailableError(FileNotFoundError):
    """The model's weights are not on this machine (and may not be downloaded)."""


# ------------------------------------------------------------------------ toy model
_WORD = re.compile(r"\w+|[^\w\s]")


def build_tokenizer(texts: Iterable[str], extra_words: Sequence[str] = ()):
    """A word-level fast tokenizer over the words of ``texts`` (built offline).

    It stands in for Wan's UMT5 tokenizer in the toy model: same interface
    (``PreTrainedTokenizerFast``, pad/eos/unk, ``save_pretrained``), vocabulary from
    the captions the toy model sees; unknown words map to ``<unk>``.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    words = sorted({w.lower() for text in texts for w in _WORD.findall(text)} | {w.lower() for w in extra_words})
    for word in words:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def build_toy_pipeline(toy: ToyArchitecture, texts: Iterable[str], seed: int = 0, flow_shift: float | None = 3.0):
    """A randomly initialised toy ``WanImageToVideoPipeline`` of ``model.toy``.

    With ``toy.expand_timesteps`` the image conditioning is Wan2.2-TI2V's (the first
    latent frame is the image's latent, the transformer sees only the noise latents);
    otherwise the transformer takes the Wan2.1 image-to-video input (noise latents + mask
    channels + first-frame latents, like Wan2.1-Fun-InP's 36 = 16 + 4 + 16). No CLIP
    image tokens; the text encoder is a tiny UMT5 that stays frozen. The
    scheduler is diffusers' flow-matching Euler sampler with ``flow_shift``.
    """
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(int(seed))
    vae_cfg, te, tr = toy.vae, toy.text_encoder, toy.transformer
    z_dim, patch = vae_cfg.z_dim, vae_cfg.patch_size
    channels = 3 * (patch**2 if patch else 1)
    vae = AutoencoderKLWan(
        base_dim=vae_cfg.base_dim,
        z_dim=z_dim,
        dim_mult=list(vae_cfg.dim_mult),
        num_res_blocks=vae_cfg.num_res_blocks,
        attn_scales=[],
        temperal_downsample=list(vae_cfg.temporal_downsample),
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
        patch_size=patch,
        in_channels=channels,
        out_channels=channels,
        scale_factor_spatial=vae_cfg.spatial_factor,
        scale_factor_temporal=vae_cfg.temporal_factor,
    )
    tokenizer = build_tokenizer(texts)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=te.d_model,
            d_kv=te.d_model // te.num_heads,
            d_ff=te.d_ff,
            num_layers=te.num_layers,
            num_heads=te.num_heads,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    transformer = WanTransformer3DModel(
        patch_size=tuple(tr.patch_size),
        num_attention_heads=tr.num_attention_heads,
        attention_head_dim=tr.attention_head_dim,
        # Wan2.2: noise latents only (the first frame is given); Wan2.1: + mask + image latents
        in_channels=z_dim if toy.expand_timesteps else 2 * z_dim + vae_cfg.temporal_factor,
        out_channels=z_dim,
        text_dim=te.d_model,
        freq_dim=tr.freq_dim,
        ffn_dim=tr.ffn_dim,
        num_layers=tr.num_layers,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        image_dim=None,
        rope_max_seq_len=64,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0 if flow_shift is None else float(flow_shift))
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=scheduler,
        expand_timesteps=toy.expand_timesteps,
    )


# ------------------------------------------------------------------------ loading
def resolve_model_source(model: ModelSettings, layout: Layout) -> tuple[str, str | None]:
    """(path or repo id, revision) of ``model.name``: the toy model lives in the
    layout's ``models/base``; hub models are repositories (or local folders)."""
    if model.is_toy:
        return str(layout.base_model), None
    hub = model.hub[model.name]
    local = layout.resolve(hub.repo_id)
    return (str(local), None) if local.is_dir() else (hub.repo_id, hub.revision)


def check_model_available(model: ModelSettings, layout: Layout, offline: bool = True) -> str:
    """Fail fast, before any compute, when the model's files are not on this machine.

    Returns the local folder holding ``model_index.json``.
    """
    source, revision = resolve_model_source(model, layout)
    if model.is_toy:
        if not (Path(source) / "model_index.json").is_file():
            raise ModelNotAvailableError(
                f"the toy base model is not at {source}/ (no model_index.json); it ships with the "
                "repository (models/base) and is retrained by the base_model stage: run `make pretrain`"
            )
        return source
    if Path(source).is_dir():
        if not (Path(source) / "model_index.json").is_file():
            raise ModelNotAvailableError(f"{source} has no model_index.json: not a diffusers pipeline folder")
        return source
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(
            source, revision=revision, local_files_only=offline, allow_patterns=["model_index.json"]
        )
    except (LocalEntryNotFoundError, OSError, ValueError) as exc:
        raise ModelNotAvailableError(
            f"model {model.name!r} ({source}@{revision or 'main'}) is not in the local Hugging Face cache "
            f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}) and runtime.offline is set. On a machine with "
            f"network access run `huggingface-cli download {source}{' --revision ' + revision if revision else ''}`, "
            "or set model.hub.<name>.repo_id to a local diffusers folder."
        ) from exc


def load_pipeline(model: ModelSettings, layout: Layout, device: str | torch.device = "cpu", offline: bool = True):
    """Load ``model.name`` as a ``WanImageToVideoPipeline`` on ``device``.

    The transformer and text encoder use ``model.dtype``; the VAE stays in float32
    (Wan's recommendation); frozen components have ``requires_grad=False``.
    """
    from diffusers import AutoencoderKLWan, WanImageToVideoPipeline

    local = check_model_available(model, layout, offline)
    source, revision = resolve_model_source(model, layout)
    kwargs: dict[str, Any] = {"torch_dtype": model.torch_dtype}
    if not model.is_toy and not Path(source).is_dir():
        kwargs.update(revision=revision, local_files_only=offline)
        vae = AutoencoderKLWan.from_pretrained(
            source, subfolder="vae", torch_dtype=torch.float32, revision=revision, local_files_only=offline
        )
        pipe = WanImageToVideoPipeline.from_pretrained(source, vae=vae, **kwargs)
    else:
        vae = AutoencoderKLWan.from_pretrained(local, subfolder="vae", torch_dtype=torch.float32)
        pipe = WanImageToVideoPipeline.from_pretrained(local, vae=vae, **kwargs)
    if model.flow_shift is not None:
        from diffusers import FlowMatchEulerDiscreteScheduler

        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, shift=model.flow_shift)
    for component in (pipe.vae, pipe.text_encoder, pipe.transformer, getattr(pipe, "image_encoder", None)):
        if component is not None:
            component.requires_grad_(False)
            component.eval()
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def sha256_of_files(paths: Iterable[Path]) -> str:
    """SHA-256 over the contents of ``paths`` (sorted), e.g. a model's weight files."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def model_provenance(model: ModelSettings, layout: Layout) -> dict[str, str]:
    """Which base-model weights a result came from (name, source, revision, digest)."""
    source, revision = resolve_model_source(model, layout)
    record = {"model": model.name, "source": layout.relative(source) if model.is_toy else source}
    if model.is_toy or Path(source).is_dir():
        weights = list(Path(source).rglob("*.safetensors"))
        record["weights_sha256"] = sha256_of_files(weights) if weights else "missing"
    else:
        record["revision"] = revision or "main"
        try:
            record["snapshot"] = Path(check_model_available(model, layout)).name
        except ModelNotAvailableError:
            record["snapshot"] = "not downloaded"
    return record


# ------------------------------------------------------------------------ LoRA
def lora_target_report(transformer: torch.nn.Module, targets: Sequence[str]) -> dict[str, int]:
    """How many linear modules each LoRA target name matches (peft's suffix rule)."""
    names = [n for n, m in transformer.named_modules() if isinstance(m, torch.nn.Linear)]
    return {t: sum(n == t or n.endswith("." + t) for n in names) for t in targets}


def add_lora(transformer: torch.nn.Module, lora: LoraSettings):
    """Attach a peft LoRA adapter to the transformer's attention projections.

    Every target must match at least one linear layer; otherwise a ``ValueError``
    lists what does exist (before any compute).
    """
    from peft import LoraConfig

    targets = list(lora.target_modules)
    report = lora_target_report(transformer, targets)
    unmatched = [t for t, n in report.items() if n == 0]
    if unmatched:
        linear = sorted({n.split(".", 2)[-1] for n, m in transformer.named_modules() if isinstance(m, torch.nn.Linear)})
        raise ValueError(
            f"LoRA target(s) {unmatched} match no linear layer of the transformer; available names: {linear[:30]}"
        )
    config = LoraConfig(
        r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets, init_lora_weights=True
    )
    transformer.add_adapter(config)
    return config


def save_lora(
    transformer: torch.nn.Module, run: RunFiles, lora: LoraSettings, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Save the LoRA weights only (``lora.safetensors``) and their config (``lora_config.json``)."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    state = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in get_peft_model_state_dict(transformer).items()
    }
    non_lora = [k for k in state if "lora_" not in k]
    if non_lora:
        raise RuntimeError(f"refusing to save non-LoRA weights {non_lora[:3]} as a LoRA file")
    # safetensors writes its metadata mapping in an arbitrary key order (a hash map), so
    # several keys would give different bytes for the same tensors: one JSON key instead.
    header = {"vcd": json.dumps({k: str(v) for k, v in (metadata or {}).items()}, sort_keys=True)} if metadata else None
    with atomic_path(run.lora) as tmp:
        save_file(state, str(tmp), metadata=header)
    write_text(run.lora_config, json.dumps(dataclasses.asdict(lora), indent=2) + "\n")
    return run.lora


def lora_digest(run: RunFiles) -> str:
    """SHA-256 of the adapter's content: tensor names, dtypes, shapes and values (not the
    file's bytes), so evaluation reuses videos whenever the weights are the same."""
    from safetensors import safe_open

    if not run.lora.is_file():
        raise FileNotFoundError(f"no LoRA weights at {run.lora}; run the finetune stage first")
    digest = hashlib.sha256()
    with safe_open(str(run.lora), framework="pt") as handle:
        for name in sorted(handle.keys()):
            tensor = handle.get_tensor(name).contiguous()
            digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def load_lora(transformer: torch.nn.Module, run: RunFiles, merge: bool = False) -> None:
    """Attach the adapter saved by :func:`save_lora` to a fresh transformer.

    ``merge=True`` (sampling only) then folds each adapter into its base weight,
    W + (alpha / r) B A, as diffusers' ``fuse_lora`` does: the same function with one
    matrix product per layer instead of three (evaluation generates ~10 % faster on the
    CPU). The adapter can no longer be trained or saved separately afterwards.
    """
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = run.lora
    if not path.is_file():
        raise FileNotFoundError(f"no LoRA weights at {path}; run the finetune stage first")
    lora = parse(LoraSettings, json.loads(run.lora_config.read_text()), str(run.lora_config))
    add_lora(transformer, lora)
    state = load_file(str(path))
    result = set_peft_model_state_dict(transformer, state)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(f"{path} has keys the transformer does not: {unexpected[:3]}")
    if merge:
        from peft.tuners.tuners_utils import BaseTunerLayer

        for module in transformer.modules():
            if isinstance(module, BaseTunerLayer):
                module.merge()
