"""_C.column_sums, the sums a bias's gradient takes over every axis but its own (dense and
convolution layers, and any broadcast bias through unbroadcast): values against float64, the
same bits on any thread count, any layout, and its errors."""
import numpy as np
import pytest

import fastdl
from fastdl import _C
from fastdl.backend import cpu
from fastdl.ops.common import unbroadcast


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# Fewer rows than one slab, many slabs, one column (the rows grouped to fill a vector), a
# column count that leaves a remainder in the group, and wide rows.
@pytest.mark.parametrize("rows,cols", [(0, 3), (1, 1), (7, 5), (64, 10), (50_176, 1),
                                       (50_176, 3), (12_544, 32), (200, 1000), (3_001, 17)])
def test_column_sums_match_float64(rng, dtype, rows, cols):
    a = rng.standard_normal((rows, cols)).astype(dtype)
    got = _C.column_sums(a)
    assert got.dtype == dtype and got.shape == (cols,)
    exact = a.astype(np.float64).sum(axis=0)
    # Each output adds `rows` terms of size ~1 in float32: a few ulp of sqrt(rows) at worst.
    tol = 1e-6 * max(1.0, np.sqrt(rows)) if dtype == np.float32 else 1e-13 * max(1, rows)
    np.testing.assert_allclose(got, exact, rtol=0, atol=tol)


def test_column_sums_are_the_same_bits_on_any_thread_count(rng, set_threads):
    a = rng.standard_normal((64 * 28 * 28, 32)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        set_threads(threads)
        results.append(_C.column_sums(a))
    assert all(np.array_equal(results[0], r) for r in results[1:])


def test_column_sums_of_a_strided_view(rng):
    a = rng.standard_normal((300, 40)).astype(np.float32)
    view = a[::3, ::2]
    np.testing.assert_allclose(_C.column_sums(view), view.astype(np.float64).sum(axis=0),
                               atol=1e-5)


def test_column_sums_errors():
    with pytest.raises(ValueError, match=r"column_sums: a has shape \(4,\); expected a 2-D"):
        _C.column_sums(np.ones(4, np.float32))
    with pytest.raises(TypeError, match="column_sums"):
        _C.column_sums(np.ones((2, 2), np.int32))


def test_sum_leading_axes_is_numpys_sum_over_them(rng):
    for shape, lead in [((64, 13, 13, 32), 3), ((5, 4), 1), ((3, 2, 4), 2), ((0, 4), 1),
                        ((4,), 0)]:
        a = rng.standard_normal(shape).astype(np.float32)
        got = cpu.sum_leading_axes(a, lead)
        assert got.shape == shape[lead:]
        np.testing.assert_allclose(got, a.astype(np.float64).sum(axis=tuple(range(lead))),
                                   atol=1e-4)
    ints = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(cpu.sum_leading_axes(ints, 1), ints.sum(axis=0))


def test_a_broadcast_bias_gets_the_column_sums(rng):
    grad = rng.standard_normal((8, 6, 5)).astype(np.float32)
    np.testing.assert_array_equal(unbroadcast(grad, (5,)), _C.column_sums(grad.reshape(-1, 5)))
    # Stretched axes of size 1 still sum as NumPy does.
    np.testing.assert_allclose(unbroadcast(grad, (6, 1)),
                               grad.sum(axis=(0, 2)).reshape(6, 1), rtol=1e-5)
    x = fastdl.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    b = fastdl.tensor(np.zeros(3, np.float32), requires_grad=True)
    (x + b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [4, 4, 4])
