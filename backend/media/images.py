"""Decode an uploaded image and re-encode it as a clean JPEG (Pillow), in a worker thread.

What is stored is always our own encoding: the upload's EXIF (GPS position, device, time), XMP, ICC profile and
comments are never copied, and the orientation EXIF would have applied is baked into the pixels first. Pillow's
decoders see untrusted bytes, so the pixel count is checked from the header before any decoding (decompression
bombs), and only a few formats are accepted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.media.exceptions import BrokenImage, NotAnImage, TooManyPixels

ALLOWED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}  # MPO: phones' multi-picture JPEG (the first frame is kept)
ALLOWED_CONTENT_TYPES = {"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp"}
MAX_PIXELS = 50_000_000
MAX_SIDE = 2560  # larger photos are scaled down: enough to see a broken manhole cover
JPEG_QUALITY = 85
OUTPUT_CONTENT_TYPE = "image/jpeg"


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int


def _flatten(img: Image.Image) -> Image.Image:
    """RGB on a white background (JPEG has no alpha)."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB") if img.mode != "RGB" else img


def reencode(data: bytes) -> Encoded:
    """The upload as a metadata-free JPEG, or NotAnImage / BrokenImage / TooManyPixels."""
    # Pillow warns above MAX_IMAGE_PIXELS and refuses twice that at open; our own, lower limit is checked from
    # the header before anything is decoded.
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise NotAnImage() from exc
    except Image.DecompressionBombError as exc:
        raise TooManyPixels() from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BrokenImage() from exc
    with img:
        if img.format not in ALLOWED_FORMATS:
            raise NotAnImage(detail={"format": img.format})
        width, height = img.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise TooManyPixels(detail={"width": width, "height": height})
        try:
            img.load()
            upright = ImageOps.exif_transpose(img)
            clean = _flatten(upright)
            clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            # No exif=, icc_profile= or comment=: Pillow writes none of the source's metadata.
            clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise BrokenImage() from exc
        return Encoded(data=out.getvalue(), width=clean.width, height=clean.height)
