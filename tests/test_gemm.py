"""GEMM (fastdl.matmul, fastdl.linear, _C.gemm) beyond the table of operation cases (which
checks values against float64 references at awkward sizes, tests/test_op_cases.py): packing
and thread splits, strided operands read in place, empty and mixed-precision products, NaN,
the kernel entry points, their gradients and bad input."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdl
from fastdl import _C

import reference

def assert_gemm_close(got, want, k, dtype):
    """float32: rtol 1e-4 plus an atol that grows like sqrt(K) (a sum of K rounded products of
    unit-variance data); float64 likewise, scaled to its epsilon."""
    assert got.dtype == dtype
    scale = np.sqrt(max(k, 1))
    if dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13 * scale)


def randn(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# B packed by the first row tile that reads it: a short first tile (4 rows), a narrow last panel
# (50 = 3 x 16 + 2 columns), two blocks of K (600 > KC), and with two threads a column split.
@pytest.mark.parametrize("m,k,n", [(4, 300, 50), (13, 600, 130), (64, 784, 128)])
def test_matmul_packing_b_inside_the_kernel(isa, rng, m, k, n, dtype, threads, set_threads):
    a, b = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    set_threads(threads)
    assert_gemm_close(fastdl.matmul(a, b), reference.matmul(a, b), k, dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_transposed", [False, True])
# At most one vector of columns takes the narrow tile (twice the wide tile's rows), whatever K:
# whole tiles, a partial last one, fewer rows than one tile, K over a cache block (and a row
# stride of 2 KiB), rows split between threads, and the fused bias and ReLU on the way out.
@pytest.mark.parametrize("m,k,n", [(64, 128, 10), (37, 5, 16), (3, 128, 7), (100, 33, 1),
                                   (17, 64, 8), (45, 512, 10), (700, 300, 9)])
def test_narrow_products_with_bias_and_activation(isa, rng, m, k, n, a_transposed, dtype,
                                                  threads, set_threads):
    a = randn(rng, (k, m), dtype).T if a_transposed else randn(rng, (m, k), dtype)
    w, b = randn(rng, (k, n), dtype), randn(rng, (n,), dtype)
    set_threads(threads)
    assert_gemm_close(fastdl.matmul(a, w), reference.matmul(a, w), k, dtype)
    want = np.maximum(reference.matmul(a, w) + b.astype(np.float64), 0)
    assert_gemm_close(fastdl.linear(a, w, b, "relu").numpy(), want, k, dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("b_transposed", [False, True])
@pytest.mark.parametrize("a_transposed", [False, True])
# At most 12 columns and at least a tile of rows take the column tile (vectors down the columns
# of C), for every column count: rows that fill the tile, end in a partial vector, or leave its
# second vector empty; A's columns read in place (A transposed) or packed by register
# transposes; B's elements broadcast from its rows or its columns; rows split between threads;
# alpha, the bias and the sigmoid applied on the transposed way out.
@pytest.mark.parametrize("m,k", [(32, 7), (47, 20), (300, 129)])
def test_column_tiles_for_few_columns(isa, rng, m, k, a_transposed, b_transposed, dtype,
                                      threads, set_threads):
    set_threads(threads)
    a = randn(rng, (k, m), dtype).T if a_transposed else randn(rng, (m, k), dtype)
    for n in range(1, 13):
        w = randn(rng, (n, k), dtype).T if b_transposed else randn(rng, (k, n), dtype)
        bias = randn(rng, (n,), dtype)
        assert_gemm_close(fastdl.matmul(a, w).numpy(), reference.matmul(a, w), k, dtype)
        got = _C.gemm(a, w, bias, "sigmoid", 0.5, 0.0, "linear")
        want = 1 / (1 + np.exp(-(0.5 * reference.matmul(a, w) + bias.astype(np.float64))))
        assert_gemm_close(got, want, k, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# One column and A's rows contiguous (a dense layer of one unit): dot products along the rows,
# four at a time and then one by one, K in whole vectors or not; b contiguous or strided (a
# column of a wider matrix, copied first); alpha, the bias and the activation per element.
@pytest.mark.parametrize("m", [1, 3, 4, 5, 301])
@pytest.mark.parametrize("k", [32, 33, 100, 256])
def test_one_column_as_dot_products(isa, rng, m, k, dtype, set_threads):
    a = randn(rng, (m, k), dtype)
    wide = randn(rng, (k, 3), dtype)
    bias = randn(rng, (1,), dtype)
    for w in (np.ascontiguousarray(wide[:, :1]), wide[:, 1:2]):
        exact = reference.matmul(a, w)
        for threads in (1, 2):
            set_threads(threads)
            assert_gemm_close(fastdl.matmul(a, w).numpy(), exact, k, dtype)
            got = _C.gemm(a, w, bias, "sigmoid", -0.5, 0.0, "linear")
            want = 1 / (1 + np.exp(-(-0.5 * exact + bias.astype(np.float64))))
            assert_gemm_close(got, want, k, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("b_transposed", [False, True])
# One row (a single sample through a dense layer, or its input gradient g @ W^T). B's rows
# contiguous: the row kernel, in blocks of 16 vectors and one block of what is left, its last
# vector masked, the columns split between threads. B's columns contiguous: dot products with
# them from K = 32 (below, the tiles), alpha applied, and the tiles again with a bias. a's
# elements contiguous or strided (a column of a matrix, transposed).
@pytest.mark.parametrize("k,n", [(1000, 1), (784, 10), (3, 16), (31, 50), (32, 1), (300, 129),
                                 (77, 256), (128, 784), (200, 500), (2048, 1000)])
def test_one_row_products(isa, rng, k, n, b_transposed, dtype, set_threads):
    w = randn(rng, (n, k), dtype).T if b_transposed else randn(rng, (k, n), dtype)
    bias = randn(rng, (n,), dtype)
    x = randn(rng, (k, 2), dtype)
    for a in (np.ascontiguousarray(x[:, :1].T), x[:, 1:].T):
        exact = reference.matmul(a, w)
        for threads in (1, 2):
            set_threads(threads)
            assert_gemm_close(fastdl.matmul(a, w).numpy(), exact, k, dtype)
            assert_gemm_close(_C.gemm(a, w, None, "none", -2.0), -2.0 * exact, k, dtype)
            got = _C.gemm(a, w, bias, "relu", 0.5)
            assert_gemm_close(got, np.maximum(0.5 * exact + bias.astype(np.float64), 0), k,
                              dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# K = 1, an outer product (a dense layer of one unit's input gradient): each row of C a multiple
# of b, written whole, in vectors and a masked tail; a of any stride; rows split between threads
# past 64 Ki elements; b's elements strided go the general way.
@pytest.mark.parametrize("m,n", [(1, 1), (5, 17), (64, 784), (300, 1000)])
def test_outer_products(isa, rng, m, n, dtype, set_threads):
    a = randn(rng, (m, 2), dtype)[:, 1:]
    bias = randn(rng, (n,), dtype)
    for b in (randn(rng, (1, n), dtype), randn(rng, (n, 2), dtype).T[:1]):
        exact = reference.matmul(a, b)
        for threads in (1, 2):
            set_threads(threads)
            np.testing.assert_allclose(fastdl.matmul(a, b).numpy(), exact, rtol=1e-6)
            got = _C.gemm(a, b, bias, "tanh", 2.0, 0.0, "linear")
            np.testing.assert_allclose(got, np.tanh(2 * exact + bias.astype(np.float64)),
                                       rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("b_transposed", [False, True])
# Columns past the last whole tile (1, 4 or 8 of them after 32 or 64 on AVX-512, or 12 or 13
# of a small layer's (45, 76), other counts on the other ISAs) are a product of their own when A
# is large: the bias, alpha, activation and the accumulation into C must continue from the
# right column.
@pytest.mark.parametrize("n", [33, 40, 45, 65, 68, 76, 100, 129])
def test_ragged_columns_as_their_own_product(isa, rng, n, b_transposed, dtype, set_threads):
    m, k = 300, 256
    a = randn(rng, (m, k), dtype)
    w = randn(rng, (n, k), dtype).T if b_transposed else randn(rng, (k, n), dtype)
    bias = randn(rng, (n,), dtype)
    exact = reference.matmul(a, w)
    for threads in (1, 2):
        set_threads(threads)
        assert_gemm_close(fastdl.matmul(a, w).numpy(), exact, k, dtype)
        got = _C.gemm(a, w, bias, "relu", 0.5, 0.0, "linear")
        assert_gemm_close(got, np.maximum(0.5 * exact + bias.astype(np.float64), 0), k, dtype)
    # The weight gradient of a dense layer with n units: (M x K)^T @ (M x n).
    g = randn(rng, (m, n), dtype)
    assert_gemm_close(fastdl.matmul(a.T, g).numpy(), reference.matmul(a.T, g), m, dtype)


@pytest.mark.parametrize("b_transposed", [False, True])
# Where splitting the rows or the columns over two threads leaves the busiest as many tiles, a
# large A (2 MiB or more) larger than B has its rows split, B packed whole first; otherwise the
# columns are: the same product either way, bit for bit, and on one thread.
@pytest.mark.parametrize("m,k,n", [(4096, 128, 64), (1030, 520, 64), (784, 64, 128),
                                   (256, 2048, 768)])
def test_rows_or_columns_split_give_the_same_product(isa, rng, m, k, n, b_transposed,
                                                     set_threads):
    a = randn(rng, (m, k), np.float32)
    b = randn(rng, (n, k), np.float32).T if b_transposed else randn(rng, (k, n), np.float32)
    got = {}
    for threads in (1, 2):
        set_threads(threads)
        got[threads] = fastdl.matmul(a, b).numpy()
    assert_gemm_close(got[2], reference.matmul(a, b), k, np.float32)
    np.testing.assert_array_equal(got[1], got[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# B read transposed is packed by a register transpose of whole blocks of rows and columns; a K
# shorter than a vector (10: a layer of 10 units in the backward pass) or with a remainder, and
# a last panel narrower than the tile, are the masked edges of that transpose.
@pytest.mark.parametrize("m,k,n", [(64, 10, 128), (40, 3, 45), (33, 37, 70), (8, 1, 300)])
def test_transposed_b_packed_with_short_or_ragged_k(isa, rng, m, k, n, dtype):
    a, b = randn(rng, (m, k), dtype), randn(rng, (n, k), dtype).T
    assert_gemm_close(fastdl.matmul(a, b), reference.matmul(a, b), k, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_transposed", [False, True])
# A packed (more than 512 columns, or a stride of a multiple of 2 KiB), its rows contiguous
# (transposed in registers) or its columns contiguous (copied along k): a panel of fewer rows
# than the tile (37 = 4 x 8 + 5 and 6 x 6 + 1), K blocks that are not whole vectors (171 of
# 512, 77), and one row.
@pytest.mark.parametrize("m,k,n", [(37, 512, 70), (37, 77, 600), (1, 512, 40), (512, 171, 33)])
def test_packed_a_with_ragged_panels(isa, rng, m, k, n, a_transposed, dtype):
    a = randn(rng, (k, m), dtype).T if a_transposed else randn(rng, (m, k), dtype)
    b = randn(rng, (k, n), dtype)
    assert_gemm_close(fastdl.matmul(a, b), reference.matmul(a, b), k, dtype)


@pytest.mark.parametrize("layout", ["a_transposed", "b_transposed", "fortran", "sliced", "reversed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_reads_strided_operands_in_place(isa, rng, layout, dtype):
    m, k, n = 37, 300, 45
    if layout == "a_transposed":
        a, b = randn(rng, (k, m), dtype).T, randn(rng, (k, n), dtype)
    elif layout == "b_transposed":
        a, b = randn(rng, (m, k), dtype), randn(rng, (n, k), dtype).T
    elif layout == "fortran":
        a, b = np.asfortranarray(randn(rng, (m, k), dtype)), np.asfortranarray(randn(rng, (k, n), dtype))
    elif layout == "sliced":
        a, b = randn(rng, (2 * m, 3 * k), dtype)[::2, ::3], randn(rng, (k, 2 * n), dtype)[:, ::2]
    else:
        a, b = randn(rng, (m, k), dtype)[::-1], randn(rng, (k, n), dtype)[::-1, ::-1]
    assert_gemm_close(fastdl.matmul(a, b), reference.matmul(a, b), k, dtype)


def test_matmul_of_transposed_views_uses_no_copy_of_the_inputs(rng):
    a = randn(rng, (64, 784), np.float32)
    out = fastdl.matmul(a.T, a).numpy()
    assert not np.shares_memory(out, a)
    assert out.flags.c_contiguous
    assert_gemm_close(out, reference.matmul(a.T, a), 64, np.float32)


def test_gemm_alpha_scales_the_product_before_bias(rng):
    a, b, bias = randn(rng, (20, 300), np.float32), randn(rng, (300, 18), np.float32), randn(rng, (18,), np.float32)
    got = _C.gemm(a, b, bias, "none", 0.5)
    assert_gemm_close(got, 0.5 * reference.matmul(a, b) + bias, 300, np.float32)


@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)])
def test_empty_dimensions(isa, m, k, n):
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    got = fastdl.matmul(a, b)
    assert got.shape == (m, n)
    np.testing.assert_array_equal(got, np.zeros((m, n), np.float32))


def test_empty_inner_dimension_still_applies_bias_and_activation():
    bias = np.array([-1.0, 2.0], np.float32)
    got = fastdl.linear(np.ones((3, 0), np.float32), np.ones((0, 2), np.float32), bias, "relu")
    np.testing.assert_array_equal(got, np.tile([0.0, 2.0], (3, 1)).astype(np.float32))


def test_mixed_precision_promotes_to_float64(rng):
    a, b = randn(rng, (5, 6), np.float32), randn(rng, (6, 7), np.float64)
    got = fastdl.matmul(a, b)
    assert got.dtype == np.float64
    assert_gemm_close(got, reference.matmul(a, b), 6, np.float64)


def test_nan_and_inf_propagate_to_their_rows_and_columns(isa):
    a = np.ones((8, 300), np.float32)
    b = np.ones((300, 20), np.float32)
    a[2, 5] = np.nan
    b[7, 3] = np.inf
    got = fastdl.matmul(a, b).numpy()
    assert np.isnan(got[2]).all()
    assert np.isinf(got[[0, 1, 3, 4, 5, 6, 7], 3]).all()
    finite = np.delete(np.delete(got, 2, axis=0), 3, axis=1)
    np.testing.assert_array_equal(finite, 300.0)


def test_one_and_two_threads_give_identical_results(rng, set_threads):
    a, b = randn(rng, (300, 500), np.float32), randn(rng, (500, 200), np.float32)
    set_threads(1)
    one = fastdl.matmul(a, b)
    set_threads(2)
    two = fastdl.matmul(a, b)
    np.testing.assert_array_equal(one, two)


def test_fallback_kernels_are_chosen_by_environment_variable():
    code = (
        "import numpy as np, fastdl\n"
        "info = fastdl.build_info()\n"
        "a = np.arange(12, dtype=np.float32).reshape(3, 4)\n"
        "assert np.array_equal(fastdl.matmul(a, a.T), a.astype(np.float64) @ a.T.astype(np.float64))\n"
        "print(info['isa'], info['avx2'])\n"
    )
    env = dict(os.environ, FASTDL_ISA="generic")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["generic", "False"]


@pytest.mark.parametrize(
    "shape_a,shape_b,dtype_b",
    [((3, 4), (4, 5), np.float32), ((4,), (4, 2), np.float32), ((2, 3, 4), (4, 5), np.float32),
     ((3,), (3,), np.float32), ((3, 4), (4, 5), np.float64)],
)
def test_matmul_of_arrays_is_a_tensor_outside_the_graph(rng, shape_a, shape_b, dtype_b):
    # Arrays carry no gradient, so their product skips the graph's bookkeeping: it must still be
    # a Tensor with NumPy's semantics (ranks, promotion) that later operations can use.
    a, b = randn(rng, shape_a, np.float32), randn(rng, shape_b, dtype_b)
    out = fastdl.matmul(a, b)
    assert type(out) is fastdl.Tensor and not out.requires_grad and out._node is None
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert out.dtype == np.result_type(a, b) and out.shape == want.shape
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    w = fastdl.tensor(np.ones(out.shape, out.dtype), requires_grad=True)
    (out * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), out.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_2d_takes_two_matrices_of_one_float_dtype(rng, dtype):
    a, b = randn(rng, (5, 7), dtype), randn(rng, (7, 3), dtype)
    out = _C.matmul_2d(a, b.T.copy().T)  # B's columns contiguous: any strides are read
    assert type(out) is fastdl.Tensor and not out.requires_grad and out._node is None
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


class _ArraySubclass(np.ndarray):
    pass


@pytest.mark.parametrize(
    "a,b",
    [(np.ones((2, 3), np.float32), np.ones((3, 2), np.float64)),   # promotion: the general path
     (np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)),       # TypeError there
     (np.ones(3, np.float32), np.ones((3, 2), np.float32)),         # 1-D promotion
     (np.ones((1, 2, 3), np.float32), np.ones((3, 2), np.float32)),  # batch dimensions
     (np.ones((2, 3), np.float32).view(_ArraySubclass), np.ones((3, 2), np.float32)),
     ([[1.0, 2.0]], np.ones((2, 2), np.float32))],
    ids=["mixed", "int", "1d", "3d", "subclass", "list"],
)
def test_matmul_2d_leaves_every_other_operand_to_the_general_path(a, b):
    assert _C.matmul_2d(a, b) is None


def test_matmul_2d_reports_shapes_like_the_general_path():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions do not match: a has shape "
                                         r"\(3, 4\), b has shape \(5, 6\)"):
        _C.matmul_2d(np.ones((3, 4), np.float32), np.ones((5, 6), np.float32))


def test_tensor_of_wraps_an_array_without_copying():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = _C.tensor_of(array)
    assert type(t) is fastdl.Tensor and t.data is array
    assert not t.requires_grad and t.grad is None and t._node is None


# ----------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    "shape_a,shape_b,message",
    [
        ((3, 4), (5, 6), r"matmul: inner dimensions do not match: a has shape \(3, 4\), b has shape \(5, 6\)"),
        ((2, 3, 4), (2, 5, 6), r"matmul: inner dimensions do not match: a has shape \(2, 3, 4\), b has shape \(2, 5, 6\)"),
        ((2, 3, 4), (3, 4, 6), r"matmul: batch dimensions do not broadcast: a has shape \(2, 3, 4\), b has shape \(3, 4, 6\)"),
        ((), (3,), r"matmul: operands must have at least 1 dimension; a has shape \(\), b has shape \(3,\)"),
    ],
)
def test_matmul_shape_errors_name_the_operation_and_both_shapes(shape_a, shape_b, message):
    with pytest.raises(ValueError, match=message):
        fastdl.matmul(np.ones(shape_a, np.float32), np.ones(shape_b, np.float32))


def test_native_entry_point_validates_rank_and_shapes():
    with pytest.raises(ValueError, match=r"gemm: operands must be 2-D or 3-D \(batched\); a has shape \(4,\), b has shape \(4, 2\)"):
        _C.gemm(np.ones(4, np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"gemm: batch sizes do not match: a has shape \(2, 3, 4\), b has shape \(3, 4, 5\)"):
        _C.gemm(np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32))
    with pytest.raises(TypeError, match="gemm: a has dtype float32 but b has dtype float64"):
        _C.gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float64))
    with pytest.raises(ValueError, match=r"gemm: bias has shape \(3,\) but the product has 2 columns"):
        _C.gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="gemm: unknown activation 'swish'"):
        _C.gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), None, "swish")


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float16, np.complex64, bool])
@pytest.mark.parametrize("same_dtype", [True, False])
def test_unsupported_dtypes_raise_type_error(dtype, same_dtype):
    a = np.ones((2, 3), dtype)
    b = np.ones((3, 2), dtype if same_dtype else np.float32)
    with pytest.raises(TypeError, match=r"matmul: unsupported dtype .*\(.*\(2, 3\).*\); expected float32 or float64"):
        fastdl.matmul(a, b)


def test_linear_errors_name_the_layer_shapes():
    with pytest.raises(ValueError, match=r"linear: x has shape \(4, 5\) but w has shape \(6, 3\); expected x of shape \(\.\.\., 6\)"):
        fastdl.linear(np.ones((4, 5), np.float32), np.ones((6, 3), np.float32))
    with pytest.raises(ValueError, match=r"linear: bias has shape \(4,\) but the product has 3 columns"):
        fastdl.linear(np.ones((4, 6), np.float32), np.ones((6, 3), np.float32), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="linear: unknown activation 'softmax'"):
        fastdl.linear(np.ones((4, 6), np.float32), np.ones((6, 3), np.float32), activation="softmax")


def test_thread_count_validation():
    with pytest.raises(ValueError, match="set_num_threads: n must be >= 1, got 0"):
        fastdl.set_num_threads(0)
    with pytest.raises(TypeError):
        fastdl.set_num_threads(1.5)


# ------------------------------------------------------------------------------------ fuzzing

@st.composite
def matmul_operands(draw):
    m, k, n = (draw(st.integers(1, 70)) for _ in range(3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    if draw(st.booleans()):
        a = np.asfortranarray(a)
    if draw(st.booleans()):
        b = np.asfortranarray(b)
    return a, b


@settings(max_examples=150, deadline=None)
@given(matmul_operands())
def test_matmul_fuzzed_shapes_match_numpy(operands):
    a, b = operands
    assert_gemm_close(fastdl.matmul(a, b), reference.matmul(a, b), a.shape[1], a.dtype)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("m,k,n", [(64, 784, 128), (3, 1000, 7), (200, 2048, 64), (1, 600, 1)])
def test_products_split_over_k_between_threads(isa, rng, threads, m, k, n, set_threads):
    # Short, narrow products with a long K are split over K between threads and summed in an
    # epilogue pass, which must apply bias and activation exactly once.
    x, w, b = randn(rng, (m, k), np.float32), randn(rng, (k, n), np.float32), randn(rng, (n,), np.float32)
    set_threads(threads)
    assert_gemm_close(fastdl.linear(x, w, b, "relu"), reference.linear(x, w, b, "relu"), k,
                      np.float32)


def test_threads_splitting_the_columns_over_unequal_blocks_of_k(isa, rng, set_threads):
    # Two threads split the columns of C, each packing its own panels of B into one buffer,
    # block of K after block of K, without waiting for each other; K = 1023 makes the last
    # block shorter on every ISA. A thread that reaches the short block first must not write
    # into the panels the other still reads (it did when the panels were kc apart).
    a, b = randn(rng, (128, 1023), np.float32), randn(rng, (1023, 1024), np.float32)
    expected = reference.matmul(a, b)
    set_threads(2)
    for _ in range(10):  # the threads race: several tries
        assert_gemm_close(fastdl.matmul(a, b), expected, 1023, np.float32)


@pytest.mark.parametrize("m, k, n", [(97, 131, 89), (301, 40, 70), (9, 700, 95)])
def test_threads_splitting_the_columns_unevenly(isa, rng, m, k, n, set_threads):
    # Ragged column tiles give one thread more panels than the other (B packed by each thread
    # for its own columns): the same bits as one thread, and close to float64.
    a, b = randn(rng, (m, k), np.float32), randn(rng, (k, n), np.float32)
    set_threads(1)
    one = fastdl.matmul(a, b).numpy()
    set_threads(2)
    two = fastdl.matmul(a, b).numpy()
    np.testing.assert_array_equal(two, one)
    assert_gemm_close(two, reference.matmul(a, b), k, np.float32)


def test_linear_promotes_mixed_precision(rng):
    x, w, b = randn(rng, (5, 7), np.float32), randn(rng, (7, 3), np.float64), randn(rng, (3,), np.float64)
    got = fastdl.linear(x, w, b, "relu")
    assert got.dtype == np.float64
    assert_gemm_close(got, reference.linear(x, w, b, "relu"), 7, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["none", "relu", "sigmoid", "tanh"])
# (64, 128, 10) with two threads: the input and weight gradients run side by side.
@pytest.mark.parametrize("m,k,n,threads", [(64, 784, 128, 2), (64, 128, 10, 1), (64, 128, 10, 2),
                                           (5, 3, 1, 2), (1, 1, 1, 2), (13, 29, 31, 2)])
def test_linear_backward_gives_all_three_gradients(isa, rng, dtype, activation, m, k, n, threads,
                                                   set_threads):
    set_threads(threads)
    _check_linear_backward(rng, dtype, activation, m, k, n)


def _check_linear_backward(rng, dtype, activation, m, k, n):
    x, w, b, dy = (randn(rng, s, dtype) for s in [(m, k), (k, n), (n,), (m, n)])
    z = reference.linear(x, w, b)
    y = reference.ACTIVATIONS[activation](z).astype(dtype)
    dz = {"none": lambda: dy.astype(np.float64),
          "relu": lambda: dy * (z > 0),
          "sigmoid": lambda: dy * y.astype(np.float64) * (1 - y.astype(np.float64)),
          "tanh": lambda: dy * (1 - y.astype(np.float64) ** 2)}[activation]()
    dx, dw, db = _C.linear_backward(dy, x, w, y, activation, True, True, True)
    assert_gemm_close(dw, x.T.astype(np.float64) @ dz, m, dtype)
    assert_gemm_close(dx, dz @ w.T.astype(np.float64), n, dtype)
    assert_gemm_close(db, dz.sum(axis=0), m, dtype)
    assert _C.linear_backward(dy, x, w, y, activation, False, True, False)[::2] == (None, None)


def test_linear_backward_validates_shapes_and_activation():
    x, w = np.ones((4, 3), np.float32), np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"linear_backward: dy has shape \(4, 5\); expected \(4, 2\)"):
        _C.linear_backward(np.ones((4, 5), np.float32), x, w, None, "none", True, True, True)
    with pytest.raises(ValueError, match=r"linear_backward: x has shape \(4, 3\) and w has shape \(2, 2\)"):
        _C.linear_backward(np.ones((4, 2), np.float32), x, np.ones((2, 2), np.float32), None, "none", True, True, True)
    with pytest.raises(ValueError, match="linear_backward: activation 'gelu' does not differentiate from its output"):
        _C.linear_backward(np.ones((4, 2), np.float32), x, w, np.ones((4, 2), np.float32), "gelu", True, True, True)
