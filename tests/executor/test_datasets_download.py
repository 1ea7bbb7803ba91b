"""Download samples: each catalog entry fetched from a loopback copy, verified, parsed, cached; offline errors."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from executor.datasets import DatasetRequest, LoadedDataset, catalog, load_dataset
from executor.errors import DatasetError
from executor.limits import EngineLimits
from sandbox.context import JobContext
from tests.executor.test_remote_support import LocalServer, fake_dns_fixture, limits, server_fixture  # noqa: F401


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _cal_housing() -> bytes:
    # longitude, latitude, age, rooms, bedrooms, population, households, income, value
    rows = "\n".join(
        f"-122.{i},37.{i},{20 + i},{880 + i}.0,129.0,{322 + i}.0,{126 + i}.0,8.{i},{452600 + i}.0"
        for i in range(6)
    )
    data = (rows + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("CaliforniaHousing/cal_housing.data")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _titanic() -> bytes:
    head = "PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked\n"
    rows = [f'{i},{i % 2},3,"Doe, Mr. J{i}",male,{20 + i},0,0,A/{i},7.25,,S' for i in range(1, 9)]
    return (head + "\n".join(rows) + "\n").encode()


def _sms() -> bytes:
    lines = [
        "ham\tGo until jurong point, crazy..",
        "spam\tFree entry in 2 a wkly comp\tto win",
        'ham\t"quoted" text',
    ]
    return _zip({"SMSSpamCollection": "\n".join(lines) + "\n", "readme": "SMS Spam Collection v.1"})


def _imdb() -> bytes:
    lines = [
        "A very, very slow-moving, aimless movie.  \t0",
        "Loved it\twith a tab inside.\t1",
        '"Quoted" review \t1',
    ]
    return _zip({
        "sentiment labelled sentences/imdb_labelled.txt": "\n".join(lines) + "\n",
        "__MACOSX/sentiment labelled sentences/._imdb_labelled.txt": "junk",
    })  # fmt: skip


def _credit() -> bytes:
    columns = ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]
    rows = [[float(t), *[0.1 * t] * 28, 10.0 + t, int(t % 50 == 0)] for t in range(12_000)]
    return _zip({"creditcard.csv": pd.DataFrame(rows, columns=columns).to_csv(index=False)})


# id, published bytes, expected shape, checks on the frame
CASES: list[tuple[str, Callable[[], bytes], tuple[int, int], Callable[[pd.DataFrame], bool]]] = [
    ("california_housing", _cal_housing, (6, 9), lambda f: f["target"].iloc[0] == 4.526 and f["AveOccup"].iloc[0] == 322 / 126),
    ("titanic", _titanic, (8, 12), lambda f: f["Survived"].tolist()[:2] == [1, 0] and f["Cabin"].isna().all()),
    ("sms_spam", _sms, (3, 2), lambda f: f["label"].tolist() == ["ham", "spam", "ham"] and f["message"][1].endswith("to win")),
    ("imdb_reviews", _imdb, (3, 2), lambda f: f["sentiment"].tolist() == ["negative", "positive", "positive"]),
    ("credit_fraud", _credit, (10_000, 31), lambda f: f["Class"].sum() == 240 and f["Time"].is_monotonic_increasing),
]  # fmt: skip


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _point_at(monkeypatch: pytest.MonkeyPatch, key: str, url: str, sha256: str | None) -> None:
    spec = dataclasses.replace(catalog.DOWNLOADS[key], url=url, sha256=sha256)
    monkeypatch.setitem(catalog.DOWNLOADS, key, spec)


def _load(key: str, lim: EngineLimits) -> LoadedDataset:
    return load_dataset(
        DatasetRequest(dataset_id=key, is_sample=True, node_id="dataset-2"),
        limits=lim,
        ctx=JobContext.local(),
    )


@pytest.mark.parametrize("key, make, shape, check", CASES)
def test_each_download_sample_is_fetched_verified_parsed_and_cached(
    key: str,
    make: Callable[[], bytes],
    shape: tuple[int, int],
    check: Callable[[pd.DataFrame], bool],
    server: LocalServer,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = make()
    _point_at(monkeypatch, key, server.serve(f"/{key}.bin", body), hashlib.sha256(body).hexdigest())
    lim = limits(cache_dir=str(cache))
    first = _load(key, lim)
    assert first.frame.shape == shape and check(first.frame) and first.warnings == []
    spec = catalog.SAMPLES[key]
    assert first.default_target == spec.target and first.default_target in first.frame.columns
    assert first.text_columns == list(spec.text_columns)
    again = _load(key, lim)
    assert len(server.hits) == 1, "the second load must come from the cache"
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert sorted(p.name for p in cache.iterdir()) == [
        f"{key}.parquet",
        f"{key}.parquet.sha256",
        f"{key}.source.sha256",
    ]


def test_a_download_with_the_wrong_hash_is_refused_and_not_cached(
    server: LocalServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, "titanic", server.serve("/t.csv", _titanic()), "0" * 64)
    with pytest.raises(
        DatasetError, match=r"'titanic' is not available: .*has sha256 [0-9a-f]{64}, not the pinned 0{64}"
    ):
        _load("titanic", limits(cache_dir=str(cache)))
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_tampered_cache_is_fetched_again(
    server: LocalServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _titanic()
    _point_at(monkeypatch, "titanic", server.serve("/t.csv", body), hashlib.sha256(body).hexdigest())
    lim = limits(cache_dir=str(cache))
    _load("titanic", lim)
    (cache / "titanic.parquet").write_bytes(b"PAR1 evil")
    assert _load("titanic", lim).frame.shape == (8, 12)
    assert len(server.hits) == 2


def test_an_unpinned_entry_is_trusted_on_first_use_with_a_warning(
    server: LocalServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, "sms_spam", server.serve("/s.zip", _sms()), None)
    lim = limits(cache_dir=str(cache))
    first = _load("sms_spam", lim)
    assert any("without a pinned checksum" in w for w in first.warnings)
    second = _load("sms_spam", lim)
    assert any("no pinned checksum" in w for w in second.warnings) and len(server.hits) == 1


@pytest.mark.parametrize("key", sorted(catalog.DOWNLOADS))
def test_offline_a_missing_download_is_a_dataset_error_naming_the_id(
    key: str, fake_dns: list[str], cache: Path
) -> None:
    with pytest.raises(
        DatasetError, match=rf"Sample dataset '{key}' is not available: it is not cached"
    ) as info:
        _load(key, limits(cache_dir=str(cache)))
    assert info.value.field == "dataset_id" and info.value.value == key


def test_the_download_cap_applies_to_samples(
    server: LocalServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import executor.datasets.downloads as downloads

    monkeypatch.setattr(downloads, "_MB", 256)  # shrink the unit: here a 1 "MB" cap is 256 bytes
    body = _titanic()
    _point_at(monkeypatch, "titanic", server.serve("/t.csv", body), hashlib.sha256(body).hexdigest())
    with pytest.raises(
        DatasetError,
        match=r"'titanic' is not available: .*over the limit of 256 bytes .*max_download_mb = 1\)",
    ):
        _load("titanic", limits(cache_dir=str(cache), max_download_mb=1))
    assert _load("titanic", limits(cache_dir=str(cache), max_download_mb=10)).frame.shape == (8, 12)


def test_pinned_urls_are_https_and_hashes_are_hex() -> None:
    for key, spec in catalog.DOWNLOADS.items():
        assert spec.url.startswith("https://"), key
        assert spec.sha256 is None or (len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0), key
