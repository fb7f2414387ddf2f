"""The banknote data: mirror copy, UCI download path, hash checks, caching, clear errors, fixed splits."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_grader.paths import course_root
from course_utils import data

ROOT = course_root()


def uci_original(csv_bytes: bytes) -> bytes:
    """Rebuild the UCI file (no header, CRLF, no final line break) from the course CSV."""
    body = csv_bytes.split(b"\n", 1)[1]
    return body.rstrip(b"\n").replace(b"\n", b"\r\n")  # the UCI file has no final line break


def test_course_csv_is_the_uci_file_plus_header(banknote_csv: Path) -> None:
    csv = banknote_csv.read_bytes()
    assert data.sha256_of(uci_original(csv)) == data.UCI_SHA256
    assert data.uci_text_to_csv(uci_original(csv)) == csv


def test_copies_from_mirror_verifies_and_caches(banknote_csv: Path, tmp_path: Path) -> None:
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    mirror.mkdir()
    (mirror / data.FILENAME).write_bytes(banknote_csv.read_bytes())
    path = data.fetch_banknote(mirror, cache, allow_download=False)
    assert path == cache / data.FILENAME
    assert data.sha256_of(path.read_bytes()) == data.CSV_SHA256
    (mirror / data.FILENAME).unlink()  # the cache now serves on its own
    assert data.fetch_banknote(mirror, cache, allow_download=False) == path


def test_corrupt_cache_is_replaced(banknote_csv: Path, tmp_path: Path) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    cache.mkdir()
    mirror.mkdir()
    (cache / data.FILENAME).write_text("tampered")
    (mirror / data.FILENAME).write_bytes(banknote_csv.read_bytes())
    path = data.fetch_banknote(mirror, cache, allow_download=False)
    assert data.sha256_of(path.read_bytes()) == data.CSV_SHA256


def test_wrong_mirror_hash_is_refused_with_advice(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / data.FILENAME).write_text("variance,skewness,curtosis,entropy,class\n1,2,3,4,0\n")
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch_banknote(mirror, tmp_path / "cache", allow_download=False)
    message = str(err.value)
    assert "SHA-256" in message and data.MIRROR_ENV in message and "course data fetch" in message
    assert not (tmp_path / "cache" / data.FILENAME).exists()


def test_download_from_uci_when_no_mirror(banknote_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr(data.UCI_MEMBER, uci_original(banknote_csv.read_bytes()))
    requested = []

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(url, timeout):
        requested.append(url)
        return Response(payload.getvalue())

    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)
    path = data.fetch_banknote(tmp_path / "no-mirror", tmp_path / "cache")
    assert requested == [data.UCI_URL]
    assert path.read_bytes() == banknote_csv.read_bytes()


def test_download_with_wrong_hash_and_offline_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr(data.UCI_MEMBER, b"1,2,3,4,0\r\n")
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload.getvalue()))
    with pytest.raises(data.DataUnavailableError, match="wrong SHA-256"):
        data.fetch_banknote(tmp_path / "none", tmp_path / "cache")

    def offline(url, timeout):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(data.DataUnavailableError, match="Network is unreachable"):
        data.fetch_banknote(tmp_path / "none", tmp_path / "cache")


def test_mirror_and_cache_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course_utils import paths

    monkeypatch.setenv(paths.MIRROR_ENV, str(tmp_path / "m"))
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "c"))
    assert paths.default_mirror() == tmp_path / "m"
    assert paths.default_cache() == tmp_path / "c"
    monkeypatch.delenv(paths.MIRROR_ENV)
    assert paths.default_mirror() == ROOT.parent / "shared" / "data"


def test_load_has_all_rows_and_classes(banknote_csv: Path) -> None:
    rows = data.load_banknote(banknote_csv)
    assert rows.shape == (1372, 5)
    assert int((rows[:, 4] == 0).sum()) == 762 and int((rows[:, 4] == 1).sum()) == 610


def test_splits_are_fixed_disjoint_and_use_skewness_entropy(banknote_csv: Path) -> None:
    first, second = data.banknote_splits(banknote_csv), data.banknote_splits(banknote_csv)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert first.x_train.shape == (823, 2) and first.y_train.shape == (823, 1)
    assert len(first.x_val) + len(first.x_test) == 1372 - 823
    assert first.x_train.dtype == np.float32
    rows = data.load_banknote(banknote_csv)
    all_x = np.concatenate([first.x_train, first.x_val, first.x_test])
    np.testing.assert_allclose(np.sort(all_x[:, 0]), np.sort(rows[:, 1].astype(np.float32)))
    np.testing.assert_allclose(np.sort(all_x[:, 1]), np.sort(rows[:, 3].astype(np.float32)))
    for part in (first.y_train, first.y_val, first.y_test):
        assert 0.3 < float(part.mean()) < 0.6  # both classes in every part
