"""The UCI banknote authentication data: fetch, verify, cache, load and split.

The data set is never committed. :func:`fetch_banknote` copies it from a local
mirror folder or downloads it from UCI, checks its SHA-256 and caches it; every
later call reads the cache.
"""
from __future__ import annotations

import hashlib
import io
import shutil
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .paths import CACHE_ENV, MIRROR_ENV, default_cache, default_mirror

FILENAME = "banknote_authentication.csv"
#: SHA-256 of the course CSV (UCI values, header line added, LF line endings).
CSV_SHA256 = "a4e6eb57f00dc0c5696badf6553001e8871644b5b98ab1b2869054af1d255125"
#: SHA-256 of the original UCI text file inside the UCI zip archive.
UCI_SHA256 = "d0539aaed2139ba7a587b3e34fb345ce503ff7d5d33dbf9912d8e195ce425cb9"
UCI_URL = "https://archive.ics.uci.edu/static/public/267/banknote+authentication.zip"
UCI_MEMBER = "data_banknote_authentication.txt"
HEADER = "variance,skewness,curtosis,entropy,class"
COLUMNS = tuple(HEADER.split(","))
#: The two features the course uses (as in ``X = dataset[:, [1, 3]]``).
FEATURES = ("skewness", "entropy")
#: Seed of the fixed train/validation/test split; never changes between runs.
SPLIT_SEED = 20250415


class DataUnavailableError(RuntimeError):
    """The data set could be neither copied from the mirror nor downloaded."""


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def uci_text_to_csv(raw: bytes) -> bytes:
    """Turn the UCI original (no header, CRLF) into the course CSV bytes."""
    body = raw.replace(b"\r\n", b"\n")
    if not body.endswith(b"\n"):
        body += b"\n"
    return HEADER.encode() + b"\n" + body


def _download_uci(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
        payload = response.read()
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        raw = archive.read(UCI_MEMBER)
    if sha256_of(raw) != UCI_SHA256:
        raise DataUnavailableError(f"the file downloaded from {url} has the wrong SHA-256; refusing to use it")
    return uci_text_to_csv(raw)


def fetch_banknote(
    mirror: Path | None = None,
    cache_dir: Path | None = None,
    *,
    url: str = UCI_URL,
    allow_download: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Return the path of the verified, cached banknote CSV, fetching it if needed.

    Order: the cache (if its hash is right), then ``mirror/banknote_authentication.csv``,
    then a download from UCI. Raises :class:`DataUnavailableError` with what to do
    when none of them works.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache()
    mirror = Path(mirror) if mirror is not None else default_mirror()
    cached = cache_dir / FILENAME
    if cached.is_file() and sha256_of(cached.read_bytes()) == CSV_SHA256:
        return cached

    problems: list[str] = []
    content: bytes | None = None
    mirrored = mirror / FILENAME
    if mirrored.is_file():
        candidate = mirrored.read_bytes()
        if sha256_of(candidate) == CSV_SHA256:
            content = candidate
        else:
            problems.append(f"{mirrored} exists but its SHA-256 is not {CSV_SHA256}")
    else:
        problems.append(f"no mirror copy at {mirrored}")
    if content is None and allow_download:
        try:
            content = _download_uci(url, timeout)
        except DataUnavailableError as exc:
            problems.append(str(exc))
        except Exception as exc:  # network errors come in many types
            problems.append(f"download from {url} failed: {exc}")
    if content is None:
        raise DataUnavailableError(
            "The banknote data set is not available: " + "; ".join(problems) + ". "
            f"Fix: put {FILENAME} in a folder and set {MIRROR_ENV} to it, or allow internet access "
            f"to {url}, then run `course data fetch`."
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(content)
    partial.replace(cached)  # atomic: a reader never sees half a file
    return cached


def load_banknote(path: Path | None = None) -> np.ndarray:
    """All 1372 rows as a float array of shape (1372, 5), columns as in :data:`COLUMNS`."""
    csv = Path(path) if path is not None else fetch_banknote()
    return np.loadtxt(csv, delimiter=",", skiprows=1)


@dataclass(frozen=True)
class Splits:
    """The fixed course split: features (N, 2) float32, labels (N, 1) float32 (1 = forged)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def banknote_splits(path: Path | None = None, fractions: tuple[float, float] = (0.6, 0.2)) -> Splits:
    """Split the data into train/validation/test (60/20/20 by default) with a fixed seed.

    Features are skewness and entropy, as in the course. The split never depends on
    the training seed, so every student and every grading run sees the same rows.
    """
    dataset = load_banknote(path)
    x = dataset[:, [COLUMNS.index(f) for f in FEATURES]].astype(np.float32)
    y = dataset[:, [COLUMNS.index("class")]].astype(np.float32)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(dataset))
    n_train = int(round(fractions[0] * len(dataset)))
    n_val = int(round(fractions[1] * len(dataset)))
    train, val, test = np.split(order, [n_train, n_train + n_val])
    return Splits(x[train], y[train], x[val], y[val], x[test], y[test])


def copy_to(target_dir: Path) -> Path:
    """Copy the verified CSV into ``target_dir`` (for sandboxes without the cache)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(fetch_banknote(), target_dir / FILENAME))
