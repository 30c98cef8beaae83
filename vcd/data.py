"""Datasets: the embedded mini-benchmark and loaders for the paper's datasets.

Every dataset becomes a list of :class:`Item` (an image, a caption/prompt, provenance),
stored in one manifest format (JSON) whether it is the embedded set or a real dataset:

.. code-block:: json

    {"dataset": "embedded", "items": [
        {"id": "chelsea", "image": "pkg://skimage/data/chelsea.png",
         "caption": "...", "source": "...", "license": "CC0"}]}

``image`` is a path (relative to the manifest's folder, or absolute) or a
``pkg://<package>/<path inside the package>`` URI for files that ship inside an
installed Python package, which is how the embedded set works offline.

Datasets of the paper (Sec. 4.1), read from local folders set in ``params.yaml``
(``data.<dataset>``; where each file goes is :mod:`vcd.layout`'s):

* **I2V-Bench** (ConsistI2V): videos + captions -> first frame + caption; split
  100 train / rest eval.
* **VBench-I2V**: ``crop/{ratio}/<caption>.jpg`` + the info JSON; evaluation only. Each
  prompt of the info file (camera-motion variants included) is one evaluation item.
* **AI-ArtBench** "ukiyoe": images + a hand-written prompts file (the paper wrote its
  own prompts; AI-ArtBench has none); 25 train / 100 eval.

Images are checked before use (:func:`load_rgb`): unreadable, truncated or tiny files
are rejected, grayscale / palette / RGBA / CMYK / 16-bit files are converted, and every
decision is reported per file -- nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .files import atomic_path, write_text
from .layout import DATA_README, Layout
from .settings import DataSettings, VideoSpec

__all__ = [
    "Item",
    "ImageReport",
    "DatasetNotFoundError",
    "resolve_image",
    "load_manifest",
    "write_manifest",
    "load_rgb",
    "prepare_image",
    "split_items",
    "check_video_names",
    "load_embedded",
    "load_i2v_bench",
    "load_vbench_i2v",
    "load_ai_artbench",
    "load_dataset",
    "build_split",
    "read_split",
    "load_original_images",
]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset path from params.yaml does not exist; the message says how to get it."""


@dataclass
class Item:
    """One (conditioning image, caption) pair."""

    id: str
    image: str
    caption: str
    dataset: str
    source: str = ""
    license: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not out["extra"]:
            out.pop("extra")
        return out

    @classmethod
    def from_json(cls, record: Mapping[str, Any], dataset: str) -> Item:
        missing = [k for k in ("id", "image", "caption") if not str(record.get(k) or "").strip()]
        if missing:
            raise ValueError(f"manifest item {record!r} lacks required field(s) {missing}")
        known = {"id", "image", "caption", "source", "license", "extra", "dataset"}
        extra = dict(record.get("extra", {}))
        extra.update({k: v for k, v in record.items() if k not in known})
        return cls(
            id=str(record["id"]),
            image=str(record["image"]),
            caption=str(record["caption"]),
            dataset=str(record.get("dataset", dataset)),
            source=str(record.get("source", "")),
            license=str(record.get("license", "")),
            extra=extra,
        )


@dataclass
class ImageReport:
    """What happened to one image file: ``ok``, ``converted`` or ``rejected`` (with reasons)."""

    id: str
    file: str
    status: str
    reasons: list[str] = field(default_factory=list)
    width: int = 0
    height: int = 0
    mode: str = ""

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": "; ".join(self.reasons)}


# ---------------------------------------------------------------------------- paths
def resolve_image(uri: str, base: str | Path | None = None) -> Path:
    """Path of an image given as a path (relative to ``base``) or ``pkg://package/path``."""
    if uri.startswith("pkg://"):
        package, _, inner = uri[len("pkg://") :].partition("/")
        try:
            root = resources.files(package)
        except ModuleNotFoundError as exc:
            raise DatasetNotFoundError(
                f"{uri}: package {package!r} is not installed (the embedded images ship inside it); "
                "run `make setup` to install the project's dependencies"
            ) from exc
        return Path(str(root.joinpath(inner)))
    path = Path(uri).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return path


def _require(path: str | Path | None, what: str, how: str) -> Path:
    if path in (None, ""):
        raise DatasetNotFoundError(f"No path set for {what}. Set it in params.yaml. {how} (see {DATA_README}).")
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(f"{what} not found at {path}. {how} (see {DATA_README}).")
    return path


# ---------------------------------------------------------------------------- manifests
def load_manifest(path: str | Path) -> tuple[dict[str, Any], list[Item]]:
    """Read a manifest JSON; image paths stay as written (resolve with :func:`resolve_image`)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"manifest not found: {path}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("items"), list):
        raise ValueError(f"{path}: expected an object with a list 'items' (see {DATA_README})")
    dataset = str(meta.get("dataset", path.stem))
    items = [Item.from_json(record, dataset) for record in meta["items"]]
    ids = [it.id for it in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate item ids {duplicates}")
    return {k: v for k, v in meta.items() if k != "items"}, items


def write_manifest(path: str | Path, dataset: str, items: Sequence[Item], **meta: Any) -> Path:
    """Write a manifest (atomically) in the format :func:`load_manifest` reads."""
    payload = {"dataset": dataset, **meta, "items": [it.to_json() for it in items]}
    return write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------- images
def load_rgb(path: str | Path, item_id: str = "", min_side: int = 64) -> tuple[np.ndarray | None, ImageReport]:
    """Load an image as uint8 RGB [H, W, 3], converting what can be converted.

    Returns ``(None, report)`` for files that are missing, unreadable, truncated or
    smaller than ``min_side`` on their short side; the report says why.
    """
    path = Path(path)
    report = ImageReport(id=item_id or path.stem, file=str(path), status="ok")

    def reject(reason: str) -> tuple[None, ImageReport]:
        report.status = "rejected"
        report.reasons.append(reason)
        return None, report

    if not path.is_file():
        return reject("file not found")
    if path.stat().st_size == 0:
        return reject("zero-length file")
    try:
        with Image.open(path) as opened:
            report.mode, (report.width, report.height) = opened.mode, opened.size
            if getattr(opened, "n_frames", 1) > 1:
                report.reasons.append(f"multi-frame file ({opened.n_frames} frames): first frame used")
            opened.seek(0)
            image = opened.copy()
            image.load()  # forces a full decode: truncated files fail here
            transposed = ImageOps.exif_transpose(image)
            if transposed is not None and transposed.size != image.size:
                report.reasons.append("rotated according to its EXIF orientation")
            image = transposed if transposed is not None else image
    except UnidentifiedImageError:
        return reject("not a readable image format")
    except (OSError, SyntaxError, ValueError) as exc:
        text = str(exc)
        return reject("truncated or corrupt image" + (f" ({text})" if text else ""))

    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8), mode="L")
        report.reasons.append(f"{'16-bit' if top > 255 else mode} grayscale scaled to 8 bits")
        mode = "L"
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
        if alpha.min() < 255:
            report.reasons.append("alpha channel composited onto white")
        else:
            report.reasons.append("opaque alpha channel dropped")
    elif mode in ("L", "1"):
        image = image.convert("RGB")
        report.reasons.append("grayscale converted to RGB")
    elif mode == "P":
        image = image.convert("RGB")
        report.reasons.append("palette image converted to RGB")
    elif mode == "CMYK":
        image = image.convert("RGB")
        report.reasons.append("CMYK converted to RGB")
    elif mode != "RGB":
        image = image.convert("RGB")
        report.reasons.append(f"{mode} converted to RGB")

    array = np.asarray(image, dtype=np.uint8)
    if array.ndim != 3 or array.shape[2] != 3:
        return reject(f"unexpected array shape {array.shape} after conversion")
    if min(array.shape[:2]) < min_side:
        return reject(f"too small: {array.shape[1]}x{array.shape[0]} px, short side below the minimum {min_side} px")
    if report.reasons:
        report.status = "converted"
    return array, report


def prepare_image(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop to the ``width``:``height`` aspect ratio, then resize (Lanczos).

    The paper crops every conditioning image to its generation aspect ratio
    (App. C.1, "approximate 4:3" for 368x272) before generation.
    """
    h, w = rgb.shape[:2]
    target = width / height
    if w / h > target:  # too wide: crop the sides
        new_w = max(1, round(h * target))
        left = (w - new_w) // 2
        rgb = rgb[:, left : left + new_w]
    else:  # too tall: crop top and bottom
        new_h = max(1, round(w / target))
        top = (h - new_h) // 2
        rgb = rgb[top : top + new_h]
    resized = Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)


# ---------------------------------------------------------------------------- splits
def split_items(items: Sequence[Item], n_train: int, n_eval: int | None, seed: int) -> tuple[list[Item], list[Item]]:
    """Seeded random split (Sec. 4.1): ``n_train`` items for fine-tuning, ``n_eval`` for
    evaluation (``None`` = all the rest). Items are ordered by id first, so the split
    does not depend on file-system listing order. :func:`build_split` splits every
    *listed* item, readable or not, so an unreadable file never moves other items
    between train and eval; it is then excluded from its part (and reported)."""
    ordered = sorted(items, key=lambda it: it.id)
    n_train = int(n_train)
    if n_train < 0 or (n_eval is not None and int(n_eval) < 0):
        raise ValueError(f"split sizes must be >= 0; got n_train={n_train}, n_eval={n_eval}")
    wanted = n_train + (len(ordered) - n_train if n_eval is None else int(n_eval))
    if wanted > len(ordered):
        raise ValueError(
            f"cannot split {len(ordered)} items into {n_train} train + "
            f"{n_eval} eval; lower the split sizes in params.yaml or add data"
        )
    order = np.random.default_rng(int(seed)).permutation(len(ordered))
    train = [ordered[i] for i in order[:n_train]]
    evaluation = [ordered[i] for i in order[n_train:wanted]]
    return sorted(train, key=lambda it: it.id), sorted(evaluation, key=lambda it: it.id)


# ---------------------------------------------------------------------------- loaders
def load_embedded(manifest: str | Path) -> list[Item]:
    """The embedded mini-benchmark (the layout's ``embedded_manifest``)."""
    manifest = Path(manifest)
    _, items = load_manifest(manifest)
    for it in items:
        # pkg:// URIs stay as they are (portable between machines); relative paths are
        # made absolute against the manifest's folder.
        if not it.image.startswith("pkg://"):
            it.image = str(resolve_image(it.image, manifest.parent))
    return items


_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def _read_captions(path: Path) -> dict[str, str]:
    """Captions file: JSON (list of records or {file: caption}) or CSV with a header.

    Record keys accepted for the file: video / file / video_path / filename / path /
    image / image_name; for the text: caption / text / prompt / prompt_en.
    """
    file_keys = ("video", "file", "video_path", "filename", "path", "image", "image_name", "video_id", "id")
    text_keys = ("caption", "text", "prompt", "prompt_en")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            records: Any = list(csv.DictReader(handle))
    else:
        records = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(records, dict):
        return {Path(str(k)).stem: str(v) for k, v in records.items()}
    captions: dict[str, str] = {}
    for record in records:
        fkey = next((k for k in file_keys if record.get(k)), None)
        tkey = next((k for k in text_keys if record.get(k)), None)
        if fkey is None or tkey is None:
            raise ValueError(
                f"{path}: record {record!r} needs a file field ({'/'.join(file_keys)}) "
                f"and a text field ({'/'.join(text_keys)})"
            )
        captions[Path(str(record[fkey])).stem] = str(record[tkey])
    return captions


def load_i2v_bench(root: str | Path | None, captions: str | Path | None, layout: Layout) -> list[Item]:
    """I2V-Bench: every video with a caption -> (first frame, caption).

    First frames are extracted once into the layout's ``i2v_bench_frames`` (PNG). Videos without a caption
    and captions without a video are errors listed by name (nothing silently dropped).
    """
    from .video_io import VideoReadError, read_first_frame

    how = "Download I2V-Bench (linked from the ConsistI2V README) and set data.i2v_bench.root / .captions"
    root = _require(root, "I2V-Bench video folder (data.i2v_bench.root)", how)
    captions_path = _require(captions, "I2V-Bench captions file (data.i2v_bench.captions)", how)
    texts = _read_captions(captions_path)
    videos = sorted(p for p in root.rglob("*") if p.suffix.lower() in _VIDEO_SUFFIXES)
    if not videos:
        raise DatasetNotFoundError(f"no videos ({', '.join(_VIDEO_SUFFIXES)}) under {root}. {how}.")
    by_stem = {p.stem: p for p in videos}
    no_caption = sorted(set(by_stem) - set(texts))
    no_video = sorted(set(texts) - set(by_stem))
    if no_caption or no_video:
        raise ValueError(
            f"I2V-Bench captions and videos do not match: {len(no_caption)} video(s) without caption "
            f"(e.g. {no_caption[:5]}), {len(no_video)} caption(s) without video (e.g. {no_video[:5]})"
        )
    items = []
    for stem, video in sorted(by_stem.items()):
        frame_path = layout.i2v_bench_frame(stem)
        if not frame_path.is_file():
            try:
                frame = read_first_frame(video)
                with atomic_path(frame_path) as tmp:
                    Image.fromarray(frame).save(tmp)
            except VideoReadError as exc:
                # Keep the item: load_rgb rejects the missing frame with this reason in the report.
                write_text(layout.i2v_bench_frame_error(stem), str(exc))
        items.append(
            Item(
                id=stem,
                image=str(frame_path),
                caption=texts[stem],
                dataset="i2v_bench",
                source=str(video),
                license="I2V-Bench (YouTube videos; see ConsistI2V)",
            )
        )
    return items


_CAMERA_SUFFIX = re.compile(r", camera (pans left|pans right|tilts up|tilts down|zooms in|zooms out|static)$")


def load_vbench_i2v(
    root: str | Path | None, info_json: str | Path | None, ratio: str, include_camera_motion: bool
) -> list[Item]:
    """VBench-I2V image suite: one item per prompt of the info JSON.

    Entries with ``image_name`` use ``crop/{ratio}/{image_name}``; camera-motion variants
    (``"<caption>, camera pans left"`` ...) use the image of their base caption.
    """
    how = (
        "See data/README.md, 'VBench-I2V image suite' (download_data.sh, crop_to_diff_ratio), "
        "then set data.vbench_i2v.root / .info_json"
    )
    root = _require(root, "VBench-I2V data folder (data.vbench_i2v.root)", how)
    info_path = _require(info_json, "VBench-I2V info JSON (data.vbench_i2v.info_json)", how)
    crop_dir = root / "crop" / ratio
    if not crop_dir.is_dir():
        available = sorted(p.name for p in (root / "crop").glob("*")) if (root / "crop").is_dir() else []
        raise DatasetNotFoundError(f"{crop_dir} not found (available ratios: {available}). {how}.")
    entries = json.loads(info_path.read_text(encoding="utf-8"))
    base_images = {e["prompt_en"]: e["image_name"] for e in entries if e.get("image_name")}
    items = []
    for index, entry in enumerate(entries):
        prompt = entry["prompt_en"]
        image_name = entry.get("image_name") or base_images.get(_CAMERA_SUFFIX.sub("", prompt))
        is_camera = "camera_motion" in entry.get("dimension", [])
        if is_camera and not include_camera_motion:
            continue
        if image_name is None:
            raise ValueError(f"{info_path}: entry {index} ({prompt!r}) has no image_name and no base caption")
        items.append(
            Item(
                id=prompt,
                image=str(crop_dir / image_name),
                caption=prompt,
                dataset="vbench_i2v",
                source=f"VBench-I2V crop/{ratio}/{image_name}",
                license="VBench-I2V image suite",
                extra={"dimension": entry.get("dimension", []), "image_type": entry.get("image_type", "")},
            )
        )
    return items


def load_ai_artbench(root: str | Path | None, prompts: str | Path | None) -> list[Item]:
    """AI-ArtBench "ukiyoe" images with hand-written prompts (file name -> prompt).

    Every image needs a prompt; images without one are listed in the error.
    """
    how = (
        "Download AI-ArtBench (arXiv 2412.01512), point data.ai_artbench.root at its ukiyo-e folder "
        "and write a prompts file"
    )
    root = _require(root, "AI-ArtBench ukiyo-e folder (data.ai_artbench.root)", how)
    prompts_path = _require(prompts, "AI-ArtBench prompts file (data.ai_artbench.prompts)", how)
    texts = _read_captions(prompts_path)
    images = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    without = [p.name for p in images if p.stem not in texts]
    if without:
        raise ValueError(
            f"{len(without)} AI-ArtBench image(s) have no prompt in {prompts_path} (e.g. {without[:5]}); "
            "write a prompt for each image you use, or move unused images out of the folder"
        )
    return [
        Item(
            id=p.stem,
            image=str(p),
            caption=texts[p.stem],
            dataset="ai_artbench",
            source=str(p),
            license="AI-ArtBench (see its licence)",
        )
        for p in images
    ]


def load_dataset(name: str, data: DataSettings, layout: Layout) -> list[Item]:
    """Load dataset ``name`` with its ``data.<name>`` settings (paths relative to the root)."""

    def path(value: str | None) -> Path | None:
        return None if value is None else layout.resolve(value)

    if name == "embedded":
        return load_embedded(layout.embedded_manifest)
    if name == "i2v_bench":
        o = data.i2v_bench
        return load_i2v_bench(path(o.root), path(o.captions), layout)
    if name == "vbench_i2v":
        o = data.vbench_i2v
        return load_vbench_i2v(path(o.root), path(o.info_json), o.ratio, o.include_camera_motion)
    if name == "ai_artbench":
        o = data.ai_artbench
        return load_ai_artbench(path(o.root), path(o.prompts))
    raise ValueError(f"unknown dataset {name!r}; expected one of embedded, i2v_bench, vbench_i2v, ai_artbench")


# ---------------------------------------------------------------------------- the split stage
def build_split(
    name: str, data: DataSettings, layout: Layout, video: VideoSpec, progress: bool = True
) -> dict[str, Any]:
    """Load, check, split and prepare one dataset (the ``data_split`` stage).

    Writes the layout's ``split_manifest(name, "train" / "eval")`` (manifests whose
    ``image`` is the prepared ``video.width`` x ``video.height`` PNG, ``original`` the
    source file), ``split_images(name)`` and ``split_report(name)`` with one row per
    input file. Returns a summary.
    """
    from tqdm.auto import tqdm

    out_dir = layout.split_dir(name)
    items = load_dataset(name, data, layout)
    images_dir = layout.split_images(name)
    images_dir.mkdir(parents=True, exist_ok=True)
    reports: list[ImageReport] = []
    usable: list[Item] = []
    prepared_for: dict[str, str] = {}
    # Items can share one image (VBench prompts): check and prepare each file once.
    by_file: dict[str, tuple[str | None, ImageReport]] = {}
    for item in tqdm(items, desc=f"{name}: checking images", disable=not progress):
        if item.image not in by_file:
            rgb, report = load_rgb(resolve_image(item.image), item.id, min_side=data.min_side)
            report.file = item.image
            prepared = None
            if rgb is not None:
                safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(item.image).stem)[:80] or "image"
                prepared = layout.prepared_image(name, safe, len(by_file))
                with atomic_path(prepared) as tmp:
                    Image.fromarray(prepare_image(rgb, video.width, video.height)).save(tmp)
            by_file[item.image] = (None if prepared is None else str(prepared), report)
            reports.append(report)
        prepared_path, report = by_file[item.image]
        if prepared_path is not None:
            prepared_for[item.id] = prepared_path
            usable.append(item)

    options = data.options(name)
    # Membership is decided over every listed item (its identity), then unusable items
    # leave their part: one unreadable file never reshuffles the others.
    listed_train, listed_eval = split_items(items, options.n_train, options.n_eval, data.split_seed)
    train = [it for it in listed_train if it.id in prepared_for]
    evaluation = [it for it in listed_eval if it.id in prepared_for]
    check_video_names(evaluation, name)

    def rewrite(part: Iterable[Item]) -> list[Item]:
        return [
            Item(
                id=it.id,
                image=Path(prepared_for[it.id]).relative_to(out_dir).as_posix(),
                caption=it.caption,
                dataset=it.dataset,
                source=it.source,
                license=it.license,
                extra={**it.extra, "original": it.image},
            )
            for it in part
        ]

    common = {"seed": data.split_seed, "width": video.width, "height": video.height}
    write_manifest(layout.split_manifest(name, "train"), name, rewrite(train), split="train", **common)
    write_manifest(layout.split_manifest(name, "eval"), name, rewrite(evaluation), split="eval", **common)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(ImageReport("", "", "").row()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(r.row() for r in reports)
    write_text(layout.split_report(name), table.getvalue())
    counts = {status: sum(r.status == status for r in reports) for status in ("ok", "converted", "rejected")}
    return {
        "dataset": name,
        "items": len(items),
        "files": len(reports),
        **{f"files_{k}": v for k, v in counts.items()},
        "usable_items": len(usable),
        "train": len(train),
        "eval": len(evaluation),
        "train_rejected": len(listed_train) - len(train),
        "eval_rejected": len(listed_eval) - len(evaluation),
        "unused": len(usable) - len(train) - len(evaluation),
    }


def check_video_names(items: Sequence[Item], dataset: str, seeds_below: int = 100_000) -> None:
    """The evaluation videos of ``items`` are files named by VBench's rule,
    ``{prompt}-{seed}.mp4`` (:func:`vcd.layout.video_name`): every prompt must give a
    valid file name (not empty, no control characters such as a newline, within the
    255-byte limit of common file systems with any seed below ``seeds_below``) and a
    name no other prompt of the dataset gives (``"a/b"`` and ``"a_b"`` collide).
    Raises ``ValueError`` listing every offending item, at split time, before any work
    depends on them."""
    from .layout import conditioning_name, video_name

    problems, by_name = [], {}
    for it in items:
        prompt = it.caption
        if not prompt.strip():
            problems.append(f"{it.id}: the prompt is empty or blank")
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in prompt):
            problems.append(f"{it.id}: the prompt contains a control character (newline, tab, ...): {prompt!r}")
        elif prompt != prompt.strip() or prompt.startswith("."):
            problems.append(f"{it.id}: the prompt starts or ends with a space or starts with '.': {prompt!r}")
        else:
            name = video_name(prompt, seeds_below - 1)
            longest = len(f".{name}.partial.mp4".encode())  # the temporary name a video is written under
            if longest > 255:
                problems.append(
                    f"{it.id}: the prompt is {len(prompt.encode())} bytes; its video file names would exceed 255 bytes"
                )
        other = by_name.setdefault(conditioning_name(prompt), it)
        if other is not it:
            problems.append(
                f"{it.id}: its videos would have the same file names as those of {other.id} "
                f"({conditioning_name(prompt)!r}-<seed>.mp4)"
            )
    if problems:
        raise ValueError(
            f"{dataset}: {len(problems)} evaluation prompt(s) cannot name VBench video files "
            f"'{{prompt}}-{{seed}}.mp4'; fix the captions: " + "; ".join(problems[:10])
        )


def read_split(layout: Layout, dataset: str, part: str) -> list[Item]:
    """Items of ``train``/``eval`` written by :func:`build_split`, image paths resolved."""
    path = layout.split_manifest(dataset, part)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the data_split stage (`dvc repro data_split`) first")
    _, items = load_manifest(path)
    for it in items:
        it.image = str(resolve_image(it.image, path.parent))
    return items


def load_original_images(items: Sequence[Item], min_side: int) -> dict[str, np.ndarray]:
    """The full-resolution source image of each split item (``extra.original``), uint8 RGB.

    Synthetic camera motion is rendered from these so that a pan reveals real content.
    Raises if one is unusable (the split stage already reported and excluded such files).
    """
    out = {}
    for it in items:
        source = it.extra.get("original", it.image)
        rgb, report = load_rgb(resolve_image(source), it.id, min_side=min_side)
        if rgb is None:
            raise ValueError(f"{it.id}: source image {source} is unusable: {'; '.join(report.reasons)}")
        out[it.id] = rgb
    return out
