"""_C.take_rows, which draws the shuffled batches of fit: NumPy's ``a[index]`` for C-contiguous
arrays of any dtype, on one or two threads, with its errors; the dtypes of such batches (labels
read from a file) as the other entry points see them; and _C.index_add_rows, an Embedding's
gradient, against float64 np.add.at."""
import numpy as np
import pytest

from fastdl import _C


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.int64, np.bool_])
# Rows of one element, images, and enough rows (of 3136 bytes) that two threads share them.
@pytest.mark.parametrize("shape,rows", [((1000,), 64), ((500, 28, 28), 33), ((3000, 784), 640)])
def test_take_rows_matches_numpy_indexing(rng, dtype, shape, rows, threads, set_threads):
    a = (rng.standard_normal(shape) * 100).astype(dtype)
    index = rng.integers(0, shape[0], rows)
    set_threads(threads)
    got = _C.take_rows(a, index)
    assert got.dtype == a.dtype and got.shape == (rows,) + shape[1:]
    np.testing.assert_array_equal(got, a[index])


def test_take_rows_of_nothing_and_of_empty_rows():
    assert _C.take_rows(np.ones((5, 3), np.float32), np.array([], np.int64)).shape == (0, 3)
    np.testing.assert_array_equal(_C.take_rows(np.ones((5, 0)), np.array([4, 0])),
                                  np.ones((2, 0)))


def test_take_rows_accepts_any_integer_indices():
    a = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(_C.take_rows(a, np.array([5, 1], np.int32)), a[[5, 1]])


@pytest.mark.parametrize("index", [[0, 6], [-1]])
def test_take_rows_rejects_indices_out_of_bounds(index):
    with pytest.raises(IndexError, match=r"take_rows: index -?\d+ is out of bounds for 6 rows"):
        _C.take_rows(np.zeros((6, 2)), np.array(index))


def test_take_rows_rejects_what_it_cannot_copy_as_rows():
    with pytest.raises(ValueError, match=r"C-contiguous \(shape \(2, 3\)\)"):
        _C.take_rows(np.zeros((3, 2)).T, np.array([0]))
    with pytest.raises(ValueError, match="at least one dimension"):
        _C.take_rows(np.array(1.0), np.array([0]))
    with pytest.raises(TypeError, match="1-D integer array, got dtype float64"):
        _C.take_rows(np.zeros((3, 2)), np.array([0.0]))


def test_a_one_byte_dtype_that_is_not_numpys_own_object_is_still_uint8(rng):
    # uint8 made native by newbyteorder (as a reader of big-endian files does) is another
    # object than np.dtype(np.uint8): the entry points take it as uint8 (a dropout mask here),
    # not as an unsupported dtype.
    dy = rng.standard_normal((4, 5)).astype(np.float32)
    keep = (rng.random((4, 5)) < 0.5).astype(np.dtype(np.uint8).newbyteorder("="))
    assert keep.dtype is not np.dtype(np.uint8)
    np.testing.assert_allclose(_C.dropout_backward(dy, keep, 0.5), dy * keep * 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# Few rows hit many times (a character vocabulary), and a table large enough for two threads.
@pytest.mark.parametrize("rows,width,count", [(5, 3, 40), (76, 128, 768), (300, 256, 3000)])
def test_index_add_rows_adds_every_row_into_its_index(rng, dtype, rows, width, count,
                                                      set_threads):
    index = rng.integers(0, rows, count)
    index[: count // 4] = 1  # one row hit far more often than the others
    values = rng.standard_normal((count, width)).astype(dtype)
    start = rng.standard_normal((rows, width)).astype(dtype)
    expected = start.astype(np.float64)
    np.add.at(expected, index, values.astype(np.float64))
    results = []
    for threads in (1, 2):
        set_threads(threads)
        out = start.copy()
        _C.index_add_rows(out, index, values)
        results.append(out)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(results[0], expected, rtol=tolerance, atol=tolerance * count)
    # Each element sums in the order of the indices, whatever the thread count.
    np.testing.assert_array_equal(results[0], results[1])


def test_index_add_rows_takes_any_integer_indices_and_strided_values(rng):
    out = np.zeros((4, 3), np.float32)
    values = rng.standard_normal((3, 6)).astype(np.float32)[:, ::2]
    _C.index_add_rows(out, np.array([3, 0, 3], np.int32), values)
    np.testing.assert_allclose(out, [values[1], [0, 0, 0], [0, 0, 0], values[0] + values[2]])


def test_index_add_rows_rejects_what_it_cannot_add():
    out, values = np.zeros((6, 2)), np.ones((2, 2))
    with pytest.raises(IndexError, match="index_add_rows: index 6 is out of bounds for 6 rows"):
        _C.index_add_rows(out, np.array([0, 6]), values)
    with pytest.raises(ValueError, match=r"values has shape \(2, 2\); expected \(3, 2\)"):
        _C.index_add_rows(out, np.array([0, 1, 2]), values)
    with pytest.raises(ValueError, match=r"out \(shape \(2, 6\)\) must be a writeable C-contig"):
        _C.index_add_rows(out.T, np.array([0, 1]), values)
    with pytest.raises(TypeError, match="1-D integer array, got dtype float64"):
        _C.index_add_rows(out, np.array([0.0, 1.0]), values)
    with pytest.raises(TypeError, match="index_add_rows"):
        _C.index_add_rows(out, np.array([0, 1]), values.astype(np.float32))
    with pytest.raises(ValueError, match="must not share memory"):
        _C.index_add_rows(out, np.array([0, 1]), out[:2])
    frozen = np.zeros((6, 2))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _C.index_add_rows(frozen, np.array([0, 1]), values)
