"""User data by URL (``dataset_url``): fetched in memory under ``[download]`` caps, then parsed."""

from __future__ import annotations

from urllib.parse import urlsplit

from executor.echo import clip
from executor.errors import DatasetError
from executor.limits import EngineLimits

from . import remote
from .base import LoadedDataset
from .downloads import limit_hint
from .formats import FormatError, parse_table

__all__ = ["load_url"]

_MB = 1 << 20


def _shown(url: str) -> str:
    """The URL without its query string (presigned URLs carry credentials there), cut to ``max_echo_chars``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[": refused by remote.check_url, still named in the message
        return clip(url)
    return clip(f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else url)


def load_url(url: str, *, limits: EngineLimits, node_id: str | None, name: str | None) -> LoadedDataset:
    """Fetch and parse a CSV, Parquet or JSON file, or raise DatasetError naming the limit or the refusal."""
    dl = limits.download
    shown = _shown(url.strip())
    try:
        fetched = remote.fetch(
            url.strip(),
            max_bytes=dl.max_download_mb * _MB,
            timeout_seconds=dl.timeout_seconds,
            allowed_hosts=dl.allowed_hosts,
            max_redirects=dl.max_redirects,
        )
    except remote.FetchError as exc:
        hint = limit_hint(exc.kind, limits)
        verb = "refused" if exc.kind == "refused" else "could not be downloaded"
        raise DatasetError(
            f"Dataset URL {verb}: {exc}{hint}", node_id=node_id, field="dataset_url", value=shown
        ) from exc
    try:
        frame, fmt = parse_table(
            fetched.data, path=fetched.url, content_type=fetched.content_type, limits=limits.data
        )
    except FormatError as exc:
        raise DatasetError(
            f"Dataset at the URL cannot be read: {exc}", node_id=node_id, field="dataset_url", value=shown
        ) from exc
    path_name = urlsplit(fetched.url).path.rsplit("/", 1)[-1]
    return LoadedDataset(frame=frame, name=name or path_name or "URL dataset", source="url", warnings=[])
