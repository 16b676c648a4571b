"""fastdl.datasets.imdb (also keras.datasets.imdb): the verified download of a made-up archive
and word index from a local server, caching, every argument of load_data against a
re-implementation written from Keras's documented semantics, and Keras 3 itself where it is
installed."""
import hashlib
import io
import json
import os

import numpy as np
import pytest
from fastdl import keras
from fastdl.datasets import imdb, safe_npz
from fastdl.datasets.storage import ChecksumError, DatasetNotFoundError, FileSpec
from keras_reference import requires_keras, run_keras
from test_datasets import Server, closed_port_url

N_TRAIN, N_TEST = 40, 30


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty cache and mirrors that refuse connections (as in test_datasets.py)."""
    monkeypatch.setenv("FASTDL_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", closed_port_url())
    return tmp_path


@pytest.fixture
def server():
    served = Server()
    yield served
    served.close()


def ragged(reviews):
    array = np.empty(len(reviews), dtype=object)
    for i, review in enumerate(reviews):
        array[i] = list(review)
    return array


def make_archive(seed=0, vocabulary=50, lengths=(1, 16), empty=False):
    """Random reviews (lists of word indices 1..vocabulary) and 0/1 labels, as imdb.npz has."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        reviews = [rng.integers(1, vocabulary + 1, int(rng.integers(*lengths))).tolist()
                   for _ in range(n)]
        if empty:
            reviews[3] = []
        arrays["x_" + split] = ragged(reviews)
        arrays["y_" + split] = rng.integers(0, 2, n)
    return arrays


def write_archive(path, arrays):
    np.savez(path, **arrays)
    return path


def reference(arrays, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """Keras's documented steps, one review at a time in plain Python."""
    rng = np.random.RandomState(seed)
    splits = []
    for split in ("train", "test"):
        x, y = list(arrays["x_" + split]), list(arrays["y_" + split])
        order = np.arange(len(x))
        rng.shuffle(order)
        reviews = []
        for i in order:
            review = [] if start_char is None else [start_char]
            review += [word + index_from for word in x[i]]
            if not maxlen or len(review) < maxlen:
                reviews.append((review, int(y[i])))
        splits.append(reviews)
    top = num_words or max(w for split in splits for review, _ in split for w in review)
    result = []
    for reviews in splits:
        x = [[w if skip_top <= w < top else oov_char for w in review if
              oov_char is not None or skip_top <= w < top] for review, _ in reviews]
        result.append((x, [label for _, label in reviews]))
    return result


def assert_matches(loaded, expected):
    for (x, y), (x_expected, y_expected) in zip(loaded, expected):
        assert isinstance(x, np.ndarray) and x.dtype == object and x.ndim == 1
        assert all(type(review) is list for review in x)
        assert all(type(w) is int for review in x for w in review)
        assert x.tolist() == x_expected
        assert y.dtype.kind == "i" and y.tolist() == y_expected


def serve(server, monkeypatch, arrays=None, word_index=None):
    """Puts an archive and a word index on ``server`` and pins their hashes as IMDB's."""
    arrays = make_archive() if arrays is None else arrays
    local = server.files
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    local["imdb.npz"] = buffer.getvalue()
    word_index = {"the": 1, "and": 2, "a": 3, "of": 4} if word_index is None else word_index
    local["imdb_word_index.json"] = json.dumps(word_index).encode()
    monkeypatch.setattr(imdb, "DATA_FILE", FileSpec(
        "imdb.npz", hashlib.sha256(local["imdb.npz"]).hexdigest()))
    monkeypatch.setattr(imdb, "WORD_INDEX_FILE", FileSpec(
        "imdb_word_index.json", "", md5=hashlib.md5(local["imdb_word_index.json"]).hexdigest()))
    monkeypatch.setenv("FASTDL_DATASETS_MIRROR", server.url)
    return arrays, word_index


def test_keras_namespace():
    assert keras.datasets.imdb is imdb
    assert imdb.DATA_FILE.sha256 == (
        "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
    assert imdb.WORD_INDEX_FILE.md5 == "bfafd718b763782e994055a2d397834f"


# ---------------------------------------------------------------------------- downloading


def test_download_into_cache_then_read_from_it(env, server, monkeypatch):
    arrays, word_index = serve(server, monkeypatch)
    assert_matches(imdb.load_data(), reference(arrays))
    assert imdb.get_word_index() == word_index
    cache = env / "cache" / "imdb"
    assert sorted(os.listdir(cache)) == ["imdb.npz", "imdb_word_index.json"]
    assert server.requests == ["imdb.npz", "imdb_word_index.json"]
    server.close()
    assert_matches(imdb.load_data(download=False, seed=5), reference(arrays, seed=5))
    assert imdb.get_word_index(download=False) == word_index


def test_path_names_the_file_in_the_cache_or_anywhere(env, server, monkeypatch):
    arrays, _ = serve(server, monkeypatch)
    assert_matches(imdb.load_data("mine.npz"), reference(arrays))
    assert os.listdir(env / "cache" / "imdb") == ["mine.npz"]
    elsewhere = env / "elsewhere" / "reviews.npz"
    assert_matches(imdb.load_data(elsewhere), reference(arrays))
    assert os.listdir(elsewhere.parent) == ["reviews.npz"]
    assert server.requests == ["imdb.npz", "imdb.npz"]
    # a file of one's own is read as it is, without a hash to match
    own = make_archive(seed=9)
    write_archive(env / "own.npz", own)
    assert_matches(imdb.load_data(str(env / "own.npz"), download=False), reference(own))


@pytest.mark.parametrize("corrupt", ["wrong bytes", "truncated", "flipped bit"])
def test_corrupted_archive_is_rejected_and_leaves_nothing(env, server, monkeypatch, corrupt):
    serve(server, monkeypatch)
    good = server.files["imdb.npz"]
    server.files["imdb.npz"] = {"wrong bytes": b"<html>Not the file</html>",
                                "truncated": good[: len(good) // 2],
                                "flipped bit": good[:-9] + bytes([good[-9] ^ 1]) + good[-8:]
                                }[corrupt]
    with pytest.raises(ChecksumError) as info:
        imdb.load_data()
    message = str(info.value)
    assert server.url + "imdb.npz" in message and "SHA-256 mismatch" in message
    assert imdb.DATA_FILE.sha256 in message
    assert hashlib.sha256(server.files["imdb.npz"]).hexdigest() in message
    assert os.listdir(env / "cache" / "imdb") == []


def test_word_index_is_checked_by_its_md5(env, server, monkeypatch):
    serve(server, monkeypatch)
    served = server.files["imdb_word_index.json"] = b'{"the": 1, "and": 3}'
    with pytest.raises(ChecksumError, match="imdb_word_index.json: MD5 mismatch: expected "
                                            f"{imdb.WORD_INDEX_FILE.md5}, received "
                                            f"{hashlib.md5(served).hexdigest()}"):
        imdb.get_word_index()
    assert os.listdir(env / "cache" / "imdb") == []


def test_offline_without_a_copy(env):
    url = os.environ["FASTDL_DATASETS_MIRROR"]
    with pytest.raises(DatasetNotFoundError) as info:
        imdb.load_data()
    message = str(info.value)
    for expected in (str(env / "cache" / "imdb" / "imdb.npz"), "Download failed",
                     url + "imdb.npz", "refused", "FASTDL_DATA", "path="):
        assert expected in message, expected
    with pytest.raises(DatasetNotFoundError, match=r"disabled \(download=False\)"):
        imdb.get_word_index(download=False)


def test_mirrors_tried_in_order(env, server, monkeypatch):
    arrays, _ = serve(server, monkeypatch)
    monkeypatch.delenv("FASTDL_DATASETS_MIRROR")
    monkeypatch.setattr(imdb, "MIRRORS", (closed_port_url(), server.url))
    assert_matches(imdb.load_data(), reference(arrays))


# ------------------------------------------------------------------------ load_data's steps


ARGUMENTS = [
    {},
    {"seed": 0},
    {"num_words": 20},
    {"num_words": 20, "skip_top": 6},
    {"num_words": 20, "skip_top": 6, "oov_char": None},
    {"skip_top": 10, "oov_char": 99},
    {"maxlen": 8},
    {"maxlen": 8, "num_words": 15, "start_char": None},
    {"start_char": None},
    {"start_char": None, "index_from": 0},
    {"start_char": 7, "oov_char": 9, "index_from": 10, "num_words": 40},
    {"index_from": 0, "oov_char": None, "skip_top": 3},
    {"num_words": 0, "maxlen": 0},  # 0 means no limit, as None
]


@pytest.mark.parametrize("kwargs", ARGUMENTS, ids=[str(k) for k in ARGUMENTS])
def test_arguments_match_the_reference(tmp_path, kwargs):
    arrays = make_archive(seed=3)
    path = write_archive(tmp_path / "imdb.npz", arrays)
    assert_matches(imdb.load_data(path, **kwargs), reference(arrays, **kwargs))


def test_an_empty_review(tmp_path):
    arrays = make_archive(seed=4, empty=True)
    path = write_archive(tmp_path / "imdb.npz", arrays)
    for kwargs in ({}, {"start_char": None, "num_words": 30}, {"oov_char": None}):
        assert_matches(imdb.load_data(path, **kwargs), reference(arrays, **kwargs))


def test_shuffling_keeps_each_review_with_its_label(tmp_path):
    # review i of each split is [i + 1] and its label says which i it was
    arrays = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        arrays["x_" + split] = ragged([[i + 1] for i in range(n)])
        arrays["y_" + split] = np.arange(n) * 10
    path = write_archive(tmp_path / "imdb.npz", arrays)
    plain = {"start_char": None, "index_from": 0, "num_words": 1000}
    orders = []
    for seed in (113, 113, 1):
        (x_train, y_train), (x_test, y_test) = imdb.load_data(path, seed=seed, **plain)
        train = [review[0] - 1 for review in x_train]
        test = [review[0] - 1 for review in x_test]
        assert y_train.tolist() == [10 * i for i in train]
        assert y_test.tolist() == [10 * i for i in test]
        orders.append((train, test))
        rng = np.random.RandomState(seed)  # train first, then test, from one generator
        assert train == rng.permutation(N_TRAIN).tolist()
        assert test == rng.permutation(N_TEST).tolist()
    assert orders[0] == orders[1] and orders[0] != orders[2]
    assert sorted(orders[2][0]) == list(range(N_TRAIN))
    assert sorted(imdb.load_data(path, seed=None, **plain)[1][0].tolist()) == \
        [[i + 1] for i in range(N_TEST)]


def test_maxlen_that_keeps_nothing(tmp_path):
    path = write_archive(tmp_path / "imdb.npz", make_archive(lengths=(5, 9)))
    with pytest.raises(ValueError, match="imdb.load_data: no training review is shorter than "
                                         "maxlen=6"):
        imdb.load_data(path, maxlen=6)


def test_rectangular_integer_reviews(tmp_path):
    arrays = make_archive()
    arrays["x_test"] = np.arange(N_TEST * 4).reshape(N_TEST, 4) + 1
    path = write_archive(tmp_path / "imdb.npz", arrays)
    expected = dict(arrays, x_test=ragged(arrays["x_test"].tolist()))
    assert_matches(imdb.load_data(path, num_words=30), reference(expected, num_words=30))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_words": 2.5}, TypeError, "num_words must be an int or None, received 2.5"),
    ({"num_words": -1}, ValueError, "num_words must be >= 0, received -1"),
    ({"skip_top": None}, TypeError, "skip_top must be an int, received None"),
    ({"maxlen": "10"}, TypeError, "maxlen must be an int or None, received '10'"),
    ({"seed": -3}, ValueError, "seed must be in \\[0, 4294967295\\], received -3"),
    ({"start_char": True}, TypeError, "start_char must be an int or None, received True"),
    ({"index_from": -1}, ValueError, "index_from must be >= 0, received -1"),
])
def test_bad_arguments(tmp_path, kwargs, error, message):
    path = write_archive(tmp_path / "imdb.npz", make_archive())
    with pytest.raises(error, match="imdb.load_data: " + message):
        imdb.load_data(path, **kwargs)


# --------------------------------------------------------------------------- bad files


def test_bad_archives(tmp_path):
    arrays = make_archive()
    partial = write_archive(tmp_path / "partial.npz", {k: v for k, v in arrays.items()
                                                       if k != "y_test"})
    with pytest.raises(ValueError, match="partial.npz: no array y_test"):
        imdb.load_data(partial)
    floats = dict(arrays, x_train=ragged([[0.5, 1.0]] * N_TRAIN))
    with pytest.raises(ValueError, match=r"floats.npz: x_train\[0\] is float64"):
        imdb.load_data(write_archive(tmp_path / "floats.npz", floats))
    short = dict(arrays, y_train=arrays["y_train"][:-1])
    with pytest.raises(ValueError, match=f"short.npz: y_train is int64 of shape "
                                         f"\\({N_TRAIN - 1},\\), expected {N_TRAIN}"):
        imdb.load_data(write_archive(tmp_path / "short.npz", short))
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz archive"):
        imdb.load_data(tmp_path / "junk.npz")


class Payload:
    """Pickled as a call of os.mkdir: a file that would run it when unpickled freely."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_a_pickle_asking_for_more_than_arrays_is_refused(tmp_path):
    marker = tmp_path / "made-by-the-pickle"
    arrays = dict(make_archive(), x_train=ragged([[1, 2]] * (N_TRAIN - 1) + [[3]]))
    arrays["x_train"][0] = Payload(str(marker))
    path = write_archive(tmp_path / "evil.npz", arrays)
    with pytest.raises(safe_npz.RefusedPickleError, match="evil.npz: load_npz: refusing to load "
                                                          "(posix|os|nt).mkdir"):
        imdb.load_data(path)
    assert not marker.exists()


def test_bad_word_index(tmp_path):
    (tmp_path / "index.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="index.json: expected a JSON object mapping words"):
        imdb.get_word_index(tmp_path / "index.json")
    (tmp_path / "broken.json").write_text('{"the": ')
    with pytest.raises(ValueError, match="broken.json: not a JSON word index"):
        imdb.get_word_index(tmp_path / "broken.json")


# ---------------------------------------------------------------------------- Keras itself


KERAS_SCRIPT = """
import numpy as np
from keras.src.datasets import imdb
imdb.get_file = lambda **kwargs: payload["path"]  # the made-up archive, not the download
result = []
for kwargs in payload["cases"]:
    (x_train, y_train), (x_test, y_test) = imdb.load_data(**kwargs)
    result.append(([list(map(int, r)) for r in x_train], y_train.tolist(),
                   [list(map(int, r)) for r in x_test], y_test.tolist()))
"""


@requires_keras
def test_same_results_as_keras(tmp_path):
    arrays = make_archive(seed=7)
    path = write_archive(tmp_path / "imdb.npz", arrays)
    cases = [kwargs for kwargs in ARGUMENTS if kwargs != {"num_words": 0, "maxlen": 0}]
    expected = run_keras(KERAS_SCRIPT, {"path": str(path), "cases": cases})
    assert len(expected) == len(cases)
    for kwargs, (x_train, y_train, x_test, y_test) in zip(cases, expected):
        (got_x_train, got_y_train), (got_x_test, got_y_test) = imdb.load_data(path, **kwargs)
        assert got_x_train.tolist() == x_train and got_y_train.tolist() == y_train, kwargs
        assert got_x_test.tolist() == x_test and got_y_test.tolist() == y_test, kwargs
