"""Frame encoders for VCD: VGG19 ``features`` in plain torch.

The paper (Sec. 3.1) uses "shallow layers of VGG19 (relu1_1 ... relu5_1)" as the
image encoder E of Eq. 2. torchvision does not import against the CPU torch build
this project targets, so the network is written here with *torchvision-compatible
state-dict keys* (``features.N.weight`` / ``features.N.bias``): the ImageNet weights
published by torchvision load unchanged from a ``.pth`` or ``.safetensors`` file, or
through ``torch.hub`` when ``weights="imagenet"``.

``weights=None`` gives a seeded random (Kaiming-normal, torchvision's VGG init)
network. That is the offline stand-in of the embedded profile: random convolutional
features still respond to colour, texture and local structure (which is what VCD's
spectra summarise), but the numbers are *not* those of an ImageNet VGG19, and every
result records which weights were used (:meth:`VGG19Features.provenance`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "VGG19_LAYER_INDEX",
    "VGG19_IMAGENET_URL",
    "VGG19Features",
    "load_vgg19_state_dict",
    "offline_requested",
]

# torchvision's VGG19 configuration "E": channel counts, "M" = 2x2 max-pool.
_VGG19_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
    512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)  # fmt: skip


def _layer_names() -> dict[str, int]:
    """Map ``reluB_K`` (block B, conv K) to its index in torchvision's ``features``."""
    names: dict[str, int] = {}
    index, block, conv = 0, 1, 0
    for item in _VGG19_CFG:
        if item == "M":
            index += 1  # the pool
            block, conv = block + 1, 0
            continue
        conv += 1
        names[f"conv{block}_{conv}"] = index
        names[f"relu{block}_{conv}"] = index + 1
        index += 2
    return names


#: ``relu1_1 -> 1``, ``relu5_4 -> 35`` ... (torchvision ``vgg19().features`` indices)
VGG19_LAYER_INDEX: dict[str, int] = _layer_names()

#: torchvision's ImageNet VGG19 weights (``VGG19_Weights.IMAGENET1K_V1``).
VGG19_IMAGENET_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _build_features(depth: int) -> nn.Sequential:
    """torchvision's ``vgg19().features`` truncated after ``depth`` modules."""
    layers: list[nn.Module] = []
    in_ch = 3
    for item in _VGG19_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_ch, int(item), kernel_size=3, padding=1))
            # Not in-place: the intermediate activations are the features we return.
            layers.append(nn.ReLU(inplace=False))
            in_ch = int(item)
    return nn.Sequential(*layers[:depth])


#: torch.hub's file name carries the first hex digits of the file's SHA-256 (check_hash)
_VGG19_HASH_PREFIX = "dcbb9e9d"


def offline_requested() -> bool:
    """Whether ``runtime.offline`` is set for this process (``vcd.config.set_offline``)."""
    import os

    return os.environ.get("VCD_OFFLINE", "") not in ("", "0")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_vgg19_state_dict(weights: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load a torchvision-format VGG19 state dict.

    ``weights`` is ``"imagenet"`` (torchvision's published file via ``torch.hub``,
    which reuses ``~/.cache/torch/hub/checkpoints`` when the file is already there)
    or a path to a ``.pth``/``.pt``/``.bin`` (``torch.load``) or ``.safetensors`` file.
    Returns the state dict and a provenance record.
    """
    if isinstance(weights, str) and weights == "imagenet":
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG19_IMAGENET_URL).name
        missing = (
            "encoder_weights='imagenet' needs torchvision's VGG19 weights "
            f"({VGG19_IMAGENET_URL}); they are not cached at {cache} and {{why}}. Download the file once on "
            "a machine with network access and put it there, or pass encoder_weights=<path to the .pth/.safetensors "
            "file>."
        )
        if offline_requested():  # runtime.offline: only the local cache, never the network
            if not cache.is_file():
                raise RuntimeError(missing.format(why="runtime.offline forbids downloading them"))
            if not _sha256(cache).startswith(_VGG19_HASH_PREFIX):
                raise RuntimeError(
                    f"{cache} is not torchvision's VGG19 file (its SHA-256 does not start with "
                    f"{_VGG19_HASH_PREFIX}); delete it and download it again"
                )
            state = torch.load(str(cache), map_location="cpu", weights_only=True)
            return state, {"encoder_weights": "imagenet", "source": VGG19_IMAGENET_URL}
        try:
            state = torch.hub.load_state_dict_from_url(
                VGG19_IMAGENET_URL, map_location="cpu", progress=False, check_hash=True, weights_only=True
            )
        except Exception as exc:  # network errors come in many types
            raise RuntimeError(missing.format(why="could not be downloaded")) from exc
        return state, {"encoder_weights": "imagenet", "source": VGG19_IMAGENET_URL}

    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"VGG19 weight file not found: {path}. Expected torchvision's vgg19 state dict "
            f"(e.g. {Path(VGG19_IMAGENET_URL).name}) as .pth or .safetensors, or "
            "encoder_weights='imagenet' / None."
        )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict (found {type(state).__name__}).")
    return state, {"encoder_weights": str(path), "sha256": _sha256(path)}


class VGG19Features(nn.Module):
    """VGG19 feature extractor returning the activations at the requested layers.

    Parameters
    ----------
    layers:
        Layer names such as ``("relu1_1", "relu2_1", ...)`` (see :data:`VGG19_LAYER_INDEX`).
        The network is truncated after the deepest one, so unused blocks cost nothing.
    weights:
        ``None`` (seeded random init), ``"imagenet"`` or a path to torchvision weights.
    seed:
        Seed of the random initialisation when ``weights is None``.

    Inputs are RGB in [0, 1]; ImageNet mean/std normalisation happens inside, as in
    FDL (Ni et al.), whose VGG wrapper VCD builds on. Parameters are frozen
    (``requires_grad=False``): gradients flow to the *input* only.
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        weights: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        layers = tuple(layers)
        if not layers:
            raise ValueError("layers must name at least one VGG19 layer, e.g. ('relu1_1',).")
        unknown = [name for name in layers if name not in VGG19_LAYER_INDEX]
        if unknown:
            raise ValueError(
                f"Unknown VGG19 layer(s) {unknown}; expected names like 'relu1_1'..'relu5_4' "
                f"or 'conv1_1'..'conv5_4' (known: {sorted(VGG19_LAYER_INDEX, key=VGG19_LAYER_INDEX.get)})."
            )
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers contains duplicates: {layers}")
        self.layers = layers
        self._indices = tuple(VGG19_LAYER_INDEX[name] for name in layers)
        self.features = _build_features(max(self._indices) + 1)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

        if weights is None:
            self._init_random(seed)
            self._provenance = {"encoder_weights": "random", "init": "kaiming_normal(fan_out)", "seed": str(seed)}
        else:
            state, self._provenance = load_vgg19_state_dict(weights)
            self._load_features(state)
        self.requires_grad_(False)
        self.eval()

    @property
    def channels(self) -> tuple[int, ...]:
        """Channel count of each returned layer."""
        out = []
        for idx in self._indices:
            conv_idx = idx if isinstance(self.features[idx], nn.Conv2d) else idx - 1
            out.append(self.features[conv_idx].out_channels)
        return tuple(out)

    @property
    def strides(self) -> tuple[int, ...]:
        """Spatial down-sampling factor of each returned layer (1, 2, 4, 8 or 16)."""
        return tuple(2 ** sum(isinstance(m, nn.MaxPool2d) for m in list(self.features)[:idx]) for idx in self._indices)

    def provenance(self) -> dict[str, str]:
        """Which weights produced the features (recorded with every result)."""
        return {"encoder": "vgg19", "layers": ",".join(self.layers), **self._provenance}

    def _init_random(self, seed: int) -> None:
        generator = torch.Generator().manual_seed(int(seed))
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                # torchvision's VGG initialisation, drawn from a private generator so the
                # global RNG stream (and thus every other seeded thing) is untouched.
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                nn.init.zeros_(module.bias)

    def _load_features(self, state: dict[str, torch.Tensor]) -> None:
        own = self.state_dict()
        missing = [key for key in own if key not in state]
        if missing:
            raise ValueError(
                f"VGG19 weights lack {len(missing)} key(s) this encoder needs, e.g. {missing[:4]}; "
                "expected torchvision's vgg19 state dict with keys 'features.N.weight'/'features.N.bias'."
            )
        mismatched = [k for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
        if mismatched:
            k = mismatched[0]
            raise ValueError(
                f"VGG19 weight {k} has shape {tuple(state[k].shape)}, expected {tuple(own[k].shape)} "
                "(is this a VGG19, not a VGG16, checkpoint?)."
            )
        self.load_state_dict({k: state[k].to(own[k].dtype) for k in own}, strict=True)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``images``: [B, 3, H, W] in [0, 1] -> list of [B, C_l, H_l, W_l], one per layer."""
        dtype = self.features[0].weight.dtype
        if not torch.is_autocast_enabled(images.device.type):
            images = images.to(dtype)
        h = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        wanted = dict(zip(self._indices, range(len(self._indices))))
        outputs: list[torch.Tensor | None] = [None] * len(self._indices)
        for idx, module in enumerate(self.features):
            h = module(h)
            if idx in wanted:
                outputs[wanted[idx]] = h
        return [o for o in outputs if o is not None]
