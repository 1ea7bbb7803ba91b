"""Samples fetched on first use from a pinned public URL, verified by sha256, and cached as Parquet.

    cache hit   <cache>/<id>.parquet whose sha256 matches <id>.parquet.sha256   -> read it
    cache miss  fetch(url) under [download] caps -> sha256 == pinned? -> parse -> write the cache

The cache holds the parsed table (Parquet, never pickle), written atomically; file names come from
the catalog, never from a request. An entry without a pinned hash (its bytes could not be obtained
where it was written) is trusted on first use: its hash is recorded and a warning says so.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from executor.limits import EngineLimits

from . import remote

__all__ = ["DownloadError", "DownloadSpec", "cache_dir", "limit_hint", "load_download"]

_MB = 1 << 20


class DownloadError(Exception):
    """A download sample is not cached and could not be fetched, verified or parsed."""


@dataclass(frozen=True)
class DownloadSpec:
    """Where a sample lives and how its bytes become the platform's table."""

    key: str
    url: str
    sha256: str | None
    """Pinned hash of the downloaded bytes; None = not pinned yet (trust on first use, with a warning)."""
    parse: Callable[[bytes, EngineLimits], pd.DataFrame]


def limit_hint(kind: str, limits: EngineLimits) -> str:
    """The limits.toml setting behind a size or time refusal, for the message."""
    dl = limits.download
    if kind == "too_large":
        return f" (limits.toml [download] max_download_mb = {dl.max_download_mb})"
    if kind == "timeout":
        return f" (limits.toml [download] timeout_seconds = {dl.timeout_seconds:g})"
    return ""


def cache_dir(limits: EngineLimits) -> Path:
    """``[download] cache_dir`` (the parent sends it resolved: see ``DownloadLimits.cache_path``)."""
    return limits.download.cache_path()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_cache(path: Path) -> pd.DataFrame | None:
    try:
        data = path.read_bytes()
        recorded = path.with_name(path.name + ".sha256").read_text().strip()
    except OSError:
        return None
    if _sha256(data) != recorded:
        return None  # torn or tampered: fetch again
    import pyarrow.parquet as pq

    try:
        return pq.read_table(io.BytesIO(data)).to_pandas()
    except Exception:  # an unreadable cache file is a miss, not a failure
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_cache(path: Path, frame: pd.DataFrame, source_sha: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, data)
    _write_atomic(path.with_name(path.name + ".sha256"), (_sha256(data) + "\n").encode())
    _write_atomic(path.with_name(f"{spec_stem(path)}.source.sha256"), (source_sha + "\n").encode())


def spec_stem(path: Path) -> str:
    return path.name.removesuffix(".parquet")


def _recorded_source(path: Path) -> str | None:
    try:
        return path.with_name(f"{spec_stem(path)}.source.sha256").read_text().strip() or None
    except OSError:
        return None


def load_download(spec: DownloadSpec, limits: EngineLimits, warnings: list[str]) -> pd.DataFrame:
    """The sample's table from the cache, or fetched, verified, parsed and cached now."""
    path = cache_dir(limits) / f"{spec.key}.parquet"
    recorded = _recorded_source(path)
    if spec.sha256 is None or recorded == spec.sha256:
        cached = _read_cache(path)
        if cached is not None:
            if spec.sha256 is None:
                warnings.append(
                    f"sample {spec.key!r} has no pinned checksum; the cached copy is the one first fetched"
                )
            return cached
    dl = limits.download
    try:
        fetched = remote.fetch(
            spec.url,
            max_bytes=dl.max_download_mb * _MB,
            timeout_seconds=dl.timeout_seconds,
            allowed_hosts=dl.allowed_hosts,
            max_redirects=dl.max_redirects,
        )
    except remote.FetchError as exc:
        hint = limit_hint(exc.kind, limits)
        raise DownloadError(
            f"it is not cached and could not be downloaded from {spec.url}: {exc}{hint}"
        ) from exc
    digest = _sha256(fetched.data)
    if spec.sha256 is not None and digest != spec.sha256:
        raise DownloadError(
            f"the file downloaded from {spec.url} has sha256 {digest}, not the pinned {spec.sha256}; refusing it"
        )
    if spec.sha256 is None:
        warnings.append(
            f"sample {spec.key!r} was downloaded from {spec.url} without a pinned checksum (sha256 {digest} recorded)"
        )
    try:
        frame = spec.parse(fetched.data, limits)
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise DownloadError(f"the file downloaded from {spec.url} cannot be parsed: {exc}") from exc
    try:
        _write_cache(path, frame, digest)
    except OSError as exc:  # a read-only or full disk costs a re-download next time, nothing more
        warnings.append(f"sample {spec.key!r} could not be cached in {path.parent} ({exc.strerror or exc})")
    return frame
