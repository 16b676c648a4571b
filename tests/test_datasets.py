"""fastdl.datasets: IDX and .npz reading, where datasets are looked for, verified downloads."""
import gzip
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from fastdl import datasets
from fastdl.datasets import fashion_mnist, idx, mnist, storage
from fastdl.datasets.storage import ChecksumError, DatasetNotFoundError, FileSpec

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def make_arrays(n_train, n_test, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_train, dtype=np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_test, dtype=np.uint8)]


def write_set(directory, n_train=5, n_test=3, gz=True, seed=0):
    """Writes a small dataset in the standard layout; returns its four arrays."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = make_arrays(n_train, n_test, seed)
    for name, array in zip(NAMES, arrays):
        idx.write_idx(directory / (name + (".gz" if gz else "")), array)
    return arrays


def assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, want in zip((x_train, y_train, x_test, y_test), arrays):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty cache, no Debian directory, and mirrors that refuse connections."""
    monkeypatch.setenv("FASTDL_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", closed_port_url())
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "debian")
    return tmp_path


class Server:
    """An HTTP server on 127.0.0.1 (ephemeral port) serving ``files`` by name."""

    def __init__(self):
        self.files = {}
        self.lengths = {}  # a Content-Length to announce instead of the true one
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                owner.requests.append(name)
                body = owner.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(owner.lengths.get(name, len(body))))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    served = Server()
    yield served
    served.close()


def serve_set(server, monkeypatch, n_train=5, n_test=3, seed=1):
    """Puts a synthetic set on ``server`` and pins its hashes as MNIST's; returns its arrays."""
    arrays = make_arrays(n_train, n_test, seed)
    specs = []
    for name, array in zip(NAMES, arrays):
        raw = idx.encode_idx(array)
        body = gzip.compress(raw, mtime=0)
        server.files[name + ".gz"] = body
        specs.append(FileSpec(name + ".gz", hashlib.sha256(body).hexdigest(),
                              hashlib.sha256(raw).hexdigest()))
    monkeypatch.setattr(mnist, "FILES", tuple(specs))
    return arrays


# ------------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-1, 0, 7], np.int8),
    np.array([[-70000, 5], [3, 2**31 - 1]], np.int32),
    np.array([1.5, -2.25], np.float32),
    np.array([[np.pi]], np.float64),
], ids=["uint8", "int8", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, array, suffix):
    path = tmp_path / ("file-idx" + suffix)
    idx.write_idx(path, array)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if suffix else b"\x00\x00")
    back = idx.read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    # NumPy's own dtype object, which the kernels' entry points recognize without asking NumPy
    # for the dtype's name (a uint8 made native from '|u1' is an equal, distinct object).
    assert back.dtype is np.dtype(array.dtype.char)
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # writable


def test_idx_header_is_big_endian():
    data = idx.encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:16] == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")
    assert len(data) == 16 + 2 * 28 * 28


def test_idx_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: bad magic number 0x504B0304"):
        idx.read_idx(path)


def test_idx_wrong_kind_of_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    idx.write_idx(path, np.zeros(4, np.uint8))  # a labels file where images are expected
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: magic number 0x00000801, "
                                         r"expected 0x00000803"):
        idx.read_idx(path, idx.IMAGES_MAGIC)


@pytest.mark.parametrize("cut, message", [
    (-1, "truncated: 2367 bytes, the header's shape \\(3, 28, 28\\) of uint8 needs 2368"),
    (10, "truncated header"),
    (2, "2 bytes, too short"),
])
def test_idx_truncated(tmp_path, cut, message):
    data = idx.encode_idx(np.zeros((3, 28, 28), np.uint8))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data[:cut])
    with pytest.raises(ValueError, match=f"{path}: {message}"):
        idx.read_idx(path)


def test_idx_trailing_bytes(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx.encode_idx(np.zeros(3, np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match="labels: trailing bytes"):
        idx.read_idx(path)


def test_idx_truncated_gzip(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    idx.write_idx(path, np.arange(1000, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz: corrupt or truncated gzip"):
        idx.read_idx(path)


# ------------------------------------------------------------------------ load_data, local


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_directory(env, gz):
    arrays = write_set(env / "data", gz=gz)
    assert_loaded(mnist.load_data(path=env / "data", download=False), arrays)
    assert_loaded(mnist.load_data(path=str(env / "data"), download=False), arrays)


def test_images_and_labels_must_agree(env):
    write_set(env / "data")
    idx.write_idx(env / "data" / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz holds 3 images but .*"
                                         "t10k-labels-idx1-ubyte.gz holds 2 labels"):
        mnist.load_data(path=env / "data", download=False)


def test_a_broken_file_is_an_error_not_skipped(env):
    write_set(env / "cache" / "mnist")
    (env / "cache" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"garbage!")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz: bad magic"):
        mnist.load_data(download=False)


def test_load_npz(env):
    arrays = make_arrays(4, 2)
    np.savez(env / "mine.npz", **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    assert_loaded(mnist.load_data(path=env / "mine.npz", download=False), arrays)
    # Keras's name for it, in a directory searched
    (env / "cache" / "mnist").mkdir(parents=True)
    os.replace(env / "mine.npz", env / "cache" / "mnist" / "mnist.npz")
    assert_loaded(mnist.load_data(download=False), arrays)


def test_npz_errors(env):
    x, y = np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)
    np.savez(env / "partial.npz", x_train=x, y_train=y, x_test=x)
    with pytest.raises(ValueError, match="partial.npz: .*no array y_test"):
        mnist.load_data(path=env / "partial.npz")
    np.savez(env / "floats.npz", x_train=x.astype(np.float32), y_train=y, x_test=x, y_test=y)
    with pytest.raises(ValueError, match="floats.npz: x_train is float32"):
        mnist.load_data(path=env / "floats.npz")
    objects = np.empty(2, object)
    np.savez(env / "pickled.npz", x_train=x, y_train=objects, x_test=x, y_test=y)
    with pytest.raises(ValueError, match="pickled.npz: not a readable"):
        mnist.load_data(path=env / "pickled.npz")
    (env / "junk.npz").write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="junk.npz: not a readable"):
        mnist.load_data(path=env / "junk.npz")


def test_search_order(env):
    given = write_set(env / "given", n_train=2, seed=2)
    cached = write_set(env / "cache" / "fashion-mnist", n_train=3, seed=3)
    debian = write_set(env / "debian", n_train=4, seed=4)
    assert_loaded(fashion_mnist.load_data(path=env / "given", download=False), given)
    assert_loaded(fashion_mnist.load_data(download=False), cached)
    # a path= without the files falls through to the next places
    assert_loaded(fashion_mnist.load_data(path=env / "absent", download=False), cached)
    (env / "cache" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()  # incomplete
    assert_loaded(fashion_mnist.load_data(download=False), debian)


def test_default_cache_is_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("FASTDL_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert storage.data_home() == tmp_path / ".fastdl" / "datasets"


# ---------------------------------------------------------------------------- downloading


def test_download_into_cache(env, server, monkeypatch):
    arrays = serve_set(server, monkeypatch)
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", server.url)
    assert_loaded(mnist.load_data(), arrays)
    cache = env / "cache" / "mnist"
    assert sorted(os.listdir(cache)) == sorted(name + ".gz" for name in NAMES)
    server.close()  # the next load reads the cache
    assert_loaded(mnist.load_data(download=False), arrays)


def test_download_tries_mirrors_in_order_and_only_missing_files(env, server, monkeypatch):
    arrays = serve_set(server, monkeypatch)
    monkeypatch.delenv("FASTDL_DATASETS_MIRROR")
    monkeypatch.setattr(mnist, "MIRRORS", (closed_port_url(), server.url))
    cache = env / "cache" / "mnist"
    cache.mkdir(parents=True)
    for name in NAMES[:2]:
        (cache / (name + ".gz")).write_bytes(server.files[name + ".gz"])
    assert_loaded(mnist.load_data(), arrays)
    assert server.requests == [name + ".gz" for name in NAMES[2:]]


def test_download_recompressed_mirror_accepted_by_content_hash(env, server, monkeypatch):
    arrays = serve_set(server, monkeypatch)
    for name in server.files:  # same content, different gzip bytes (as Debian's copies)
        server.files[name] = gzip.compress(gzip.decompress(server.files[name]), 1, mtime=12345)
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", server.url)
    assert_loaded(mnist.load_data(), arrays)


@pytest.mark.parametrize("corrupt", ["wrong bytes", "truncated", "flipped bit"])
def test_corrupted_download_is_rejected_and_leaves_nothing(env, server, monkeypatch, corrupt):
    serve_set(server, monkeypatch)
    name = "train-images-idx3-ubyte.gz"
    good = server.files[name]
    server.files[name] = {"wrong bytes": b"<html>Not the file</html>",
                          "truncated": good[: len(good) // 2],
                          "flipped bit": good[:-9] + bytes([good[-9] ^ 1]) + good[-8:]}[corrupt]
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", server.url)
    with pytest.raises(ChecksumError) as info:
        mnist.load_data()
    message = str(info.value)
    assert server.url + name in message
    assert mnist.FILES[0].sha256 in message
    assert hashlib.sha256(server.files[name]).hexdigest() in message
    assert "SHA-256 mismatch" in message
    assert os.listdir(env / "cache" / "mnist") == []


def test_connection_dropped_mid_file(env, server, monkeypatch):
    serve_set(server, monkeypatch)
    name = "train-images-idx3-ubyte.gz"
    server.lengths[name] = len(server.files[name]) + 1000
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", server.url)
    reason = "ConnectionError: connection closed after"
    with pytest.raises(DatasetNotFoundError, match=f"{server.url}{name}: {reason}"):
        mnist.load_data()
    assert os.listdir(env / "cache" / "mnist") == []


def test_offline_without_a_copy(env, monkeypatch):
    url = os.environ["FASTDL_DATASETS_MIRROR"]
    (env / "given").mkdir()
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data(path=env / "given")
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for expected in (str(env / "given"), str(env / "cache" / "fashion-mnist"),
                     str(env / "debian"), "FASTDL_DATA", "path=", "t10k-labels-idx1-ubyte.gz",
                     "Download failed", url + "train-images-idx3-ubyte.gz", "refused"):
        assert expected in message, expected
    assert os.listdir(env / "cache" / "fashion-mnist") == []

    with pytest.raises(DatasetNotFoundError, match=r"disabled \(download=False\)"):
        mnist.load_data(download=False)


# ------------------------------------------------------------------- sample, first available


def test_load_sample():
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_sample()
    assert x_train.shape == (5000, 28, 28) and y_train.shape == (5000,)
    assert x_test.shape == (1000, 28, 28) and y_test.shape == (1000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [500] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert 0 < x_train.mean() < 255
    assert fashion_mnist.SAMPLE_PATH.stat().st_size <= 5 * 2**20


def test_load_first_available(env, server, monkeypatch):
    assert datasets.load_first_available()[0] == "fashion_mnist_sample"
    fashion = write_set(env / "debian", n_train=3, seed=5)
    name, result = datasets.load_first_available()
    assert name == "fashion_mnist"
    assert_loaded(result, fashion)
    digits = serve_set(server, monkeypatch)
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", server.url)
    assert datasets.load_first_available()[0] == "fashion_mnist"  # no download by default
    assert server.requests == []
    name, result = datasets.load_first_available(download=True)  # a local copy still wins
    assert name == "fashion_mnist" and server.requests == []
    write_set(env / "cache" / "mnist", seed=6)
    assert datasets.load_first_available()[0] == "mnist"
    for path in (env / "cache" / "mnist").iterdir():
        path.unlink()
    (env / "debian" / "train-labels-idx1-ubyte.gz").unlink()
    name, result = datasets.load_first_available(download=True)
    assert name == "mnist"
    assert_loaded(result, digits)


DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_debian_fashion_mnist(env, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", DEBIAN)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == [6000] * 10
    for spec in fashion_mnist.FILES:
        raw = idx.read_bytes(DEBIAN / spec.name)
        assert hashlib.sha256(raw).hexdigest() == spec.raw_sha256, spec.name
    # the packaged sample is the first 500 (100) images of each class, in order
    (s_train, t_train), (s_test, t_test) = fashion_mnist.load_sample()
    with np.load(fashion_mnist.SAMPLE_PATH) as archive:
        train_index, test_index = archive["train_index"], archive["test_index"]
    np.testing.assert_array_equal(s_train, x_train[train_index])
    np.testing.assert_array_equal(t_train, y_train[train_index])
    np.testing.assert_array_equal(s_test, x_test[test_index])
    np.testing.assert_array_equal(t_test, y_test[test_index])
    assert train_index[-1] < np.flatnonzero(y_train == 0)[500]
