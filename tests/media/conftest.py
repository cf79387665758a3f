"""Media fixtures: the app with its own temporary media directory, and image builders (a phone-like JPEG with
EXIF orientation and a GPS position)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import ExifTags, Image

from backend.reports import routing
from tests.reports.conftest import world  # noqa: F401 - the reports world, on this package's client


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def msettings(settings, media_dir):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"media_dir": media_dir})


@contextlib.asynccontextmanager
async def app_client(settings, bus) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client of the app built with these settings (e.g. a test's own media directory)."""
    from backend.main import create_app

    app = create_app(settings, with_lifespan=False)
    app.state.bus = bus
    app.state.http = httpx.AsyncClient()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
        ) as client:
            yield client
    finally:
        await app.state.http.aclose()


@pytest_asyncio.fixture
async def client(msettings, bus) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The app with this test's media directory (overrides the suite's ``client``)."""
    async with app_client(msettings, bus) as client:
        yield client


def phone_photo(width: int = 40, height: int = 20, *, orientation: int = 6, fmt: str = "JPEG") -> bytes:
    """A photo as a phone takes it: EXIF orientation, maker and a GPS position (兰州, GCJ-02-ish)."""
    img = Image.new("RGB", (width, height), (200, 30, 30))
    img.putpixel((0, 0), (0, 0, 255))  # a marker to check the rotation
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (36.0, 4.0, 12.0), 3: "E", 4: (103.0, 44.0, 30.0)}
    out = io.BytesIO()
    img.save(out, fmt, exif=exif)
    return out.getvalue()


def png_with_alpha() -> bytes:
    img = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


@pytest.fixture(autouse=True)
def _fresh_geometry():  # type: ignore[no-untyped-def]
    routing.forget_geometry()
    yield
