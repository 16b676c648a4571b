"""Where datasets are cached, and downloading files into the cache with their hashes checked.

The cache root is ``$FASTDL_DATA`` when that is set, else ``~/.fastdl/datasets``; each
dataset has a subdirectory (``mnist/``, ``fashion-mnist/``).

Downloads use urllib only. A file is written to a temporary file in the cache directory,
its SHA-256 (or, for a file whose publisher pins only that, its MD5) checked against the
pinned value, then renamed into place with ``os.replace``: the final name only ever holds
a complete, verified file, and a failed or rejected download leaves nothing behind.

The environment variable ``FASTDL_DATASETS_MIRROR``, when set to a base URL (the file
names are appended to it), replaces every dataset's built-in list of mirrors; tests point
it at a local server, and it serves a private mirror as well.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

#: Environment variable naming the cache root.
DATA_ENV = "FASTDL_DATA"
#: Environment variable holding one base URL that replaces the built-in mirrors.
MIRROR_ENV = "FASTDL_DATASETS_MIRROR"
#: Seconds a connection or a read may stall before a download is abandoned.
TIMEOUT = 30.0

_CHUNK = 1 << 20


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither on this machine nor could it be downloaded.

    The message names the files needed, every place searched, why the download failed
    (or that it was disabled) and where to put the files.
    """


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 is not the pinned one; the file was not kept."""


class FileSpec(NamedTuple):
    """One file of a dataset as its mirrors serve it.

    ``name`` is the file name on the mirrors (a ``.gz`` for the IDX datasets), ``sha256``
    the SHA-256 of those bytes and ``raw_sha256`` the SHA-256 of the decompressed IDX file.
    A download is accepted when either matches, so a mirror that compressed the same data
    differently (as Debian's package does) is accepted too. ``raw_sha256`` is empty for a
    file that is not compressed. ``md5`` serves a file whose publisher pins only an MD5: it
    is checked when ``sha256`` is empty (a file with neither is never accepted).
    """

    name: str
    sha256: str
    raw_sha256: str = ""
    md5: str = ""

    @property
    def raw_name(self) -> str:
        """The name of the uncompressed file (``name`` without ``.gz``)."""
        return self.name.removesuffix(".gz")


def data_home() -> Path:
    """The cache root: ``$FASTDL_DATA`` if set, else ``~/.fastdl/datasets``.

    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"FASTDL_DATA": "/srv/data"}):
    ...     print(data_home())
    /srv/data
    """
    root = os.environ.get(DATA_ENV)
    if root:
        return Path(root).expanduser()
    return Path.home() / ".fastdl" / "datasets"


def mirrors(defaults: Sequence[str]) -> tuple[str, ...]:
    """The base URLs to download from: ``$FASTDL_DATASETS_MIRROR`` if set, else ``defaults``.

    >>> mirrors(("https://example.org/mnist/",))
    ('https://example.org/mnist/',)
    """
    override = os.environ.get(MIRROR_ENV, "").strip()
    return (override,) if override else tuple(defaults)


def sha256_file(path: os.PathLike | str) -> str:
    """The hex SHA-256 of a file's bytes."""
    return _file_digest(path, hashlib.sha256())


def md5_file(path: os.PathLike | str) -> str:
    """The hex MD5 of a file's bytes (for files whose publisher pins nothing stronger)."""
    return _file_digest(path, hashlib.md5(usedforsecurity=False))


def _file_digest(path: os.PathLike | str, digest: "hashlib._Hash") -> str:
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _raw_sha256(path: Path) -> str | None:
    """The SHA-256 of a gzip file's decompressed content; None when it is not valid gzip."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
    except (EOFError, OSError, zlib.error):
        return None
    return digest.hexdigest()


def verify(path: Path, spec: FileSpec, source: str) -> None:
    """Raises ChecksumError, naming ``source``, unless ``path`` matches ``spec``'s hashes."""
    if not (spec.sha256 or spec.md5):
        raise ValueError(f"verify: {spec.name} has no pinned SHA-256 or MD5 to check")
    received = sha256_file(path)
    if spec.sha256 and received == spec.sha256:
        return
    if spec.raw_sha256:
        raw = _raw_sha256(path)
        if raw == spec.raw_sha256:
            return
        content = f"; decompressed, {raw}" if raw is not None else "; not valid gzip data"
        raise ChecksumError(
            f"{source}: SHA-256 mismatch: expected {spec.sha256} (or {spec.raw_sha256} for "
            f"the decompressed file), received {received}{content}")
    if spec.sha256:
        raise ChecksumError(
            f"{source}: SHA-256 mismatch: expected {spec.sha256}, received {received}")
    received_md5 = md5_file(path)
    if received_md5 == spec.md5:
        return
    raise ChecksumError(f"{source}: MD5 mismatch: expected {spec.md5}, received "
                        f"{received_md5} (SHA-256 {received})")


def download(url: str, directory: Path, spec: FileSpec, timeout: float = TIMEOUT,
             name: str | None = None) -> Path:
    """Downloads ``url`` into ``directory`` as ``name`` (default ``spec.name``) once its hash
    is checked.

    The bytes go to a temporary file in ``directory``, which is renamed to its final name
    only after :func:`verify` accepted it; on any failure (network, timeout, hash mismatch)
    the temporary file is removed and the error raised. Returns the final path.
    """
    name = name or spec.name
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    os.close(handle)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "fastdl"})
        with urllib.request.urlopen(request, timeout=timeout) as response, \
                open(temporary, "wb") as out:
            shutil.copyfileobj(response, out, _CHUNK)
            announced, received = response.headers.get("Content-Length"), out.tell()
        if announced is not None and announced.isdigit() and int(announced) != received:
            raise ConnectionError(f"connection closed after {received} of {announced} bytes")
        verify(Path(temporary), spec, url)
        final = directory / name
        os.replace(temporary, final)
        return final
    except BaseException:
        os.unlink(temporary)
        raise


def fetch(specs: Sequence[FileSpec], bases: Sequence[str], directory: Path) -> list[str]:
    """Downloads each of ``specs`` into ``directory``, trying the mirrors ``bases`` in order.

    Stops at the first file no mirror could provide and returns the reasons, one line per
    URL tried; returns an empty list when every file arrived. Raises ChecksumError when a file
    could not be had and at least one mirror served it with the wrong hash.
    """
    for spec in specs:
        reasons = fetch_file(spec, bases, directory)
        if reasons:
            return reasons
    return []


def fetch_file(spec: FileSpec, bases: Sequence[str], directory: Path,
               name: str | None = None) -> list[str]:
    """Downloads ``spec`` into ``directory`` as ``name`` (default ``spec.name``), trying the
    mirrors ``bases`` in order; as :func:`fetch` for one file: returns the reasons it failed
    (empty when it arrived) and raises ChecksumError when a mirror served wrong bytes."""
    reasons: list[str] = []
    mismatched = False
    for base in bases:
        url = base if base.endswith("/") else base + "/"
        url += spec.name
        try:
            download(url, directory, spec, name=name)
            return []
        except ChecksumError as error:
            mismatched = True
            reasons.append(str(error))
        except (OSError, http.client.HTTPException) as error:
            # URLError, HTTPError, timeouts, a connection dropped mid-file, a read-only cache
            reasons.append(f"{url}: {_reason(error)}")
    if mismatched:
        raise ChecksumError("\n".join(reasons))
    return reasons or [f"{spec.name}: no mirror to download from"]


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    if reason is not None and not getattr(error, "code", None):
        return f"{type(error).__name__}: {reason}"
    return f"{type(error).__name__}: {error}"
