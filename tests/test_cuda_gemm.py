"""GPU matrix products against float64 NumPy and the CPU kernels, on identical inputs: every
kernel version, transposed operands, awkward shapes, batches, the fused epilogue, the dense
layer's forward and backward passes, misaligned arrays and the errors of bad inputs."""
import numpy as np
import pytest

from cuda_support import assert_matches_cpu, requires_gpu, to_cpu, to_gpu
import fastdl
from fastdl.backend import cpu

pytestmark = requires_gpu

VERSIONS = [1, 2, 3, 4, 5]
TF32 = 5
TRANSPOSES = [(False, False), (True, False), (False, True), (True, True)]
# (M, N, K): 1, primes, sizes off every tile (32, 64, 128) and vector width, degenerate
# products, a wide output with a short K, and a long K.
SHAPES = [(1, 1, 1), (7, 13, 5), (64, 64, 64), (127, 129, 131), (1, 1000, 1), (1000, 1, 1000),
          (33, 4096, 17), (256, 256, 1024)]
ACTIVATIONS = ["none", "relu", "leaky_relu", "sigmoid", "tanh", "step", "gelu", "gelu_tanh"]


def _gemm():
    from fastdl.backend.cuda import gemm
    return gemm


def _kernels():
    from fastdl.backend.cuda import runtime
    return runtime.kernels()


def _stream():
    from fastdl.backend.cuda import runtime
    return runtime.stream()


def randn(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def assert_product_close(got, want, k, version):
    """float32 kernels: rtol 1e-4 plus an atol growing like sqrt(K) (a sum of K rounded
    products of unit-variance data). TF32: the relative error of the whole array (Frobenius
    norms) below 5e-3, 10-bit mantissas being what the version trades for speed; relative to
    at least sqrt(size * K), the norm of a product of unit-variance data, since a few short dot
    products can cancel to nearly 0."""
    got = to_cpu(got).astype(np.float64)
    assert got.shape == np.shape(want)
    if version == TF32:
        scale = max(np.linalg.norm(want), np.sqrt(np.size(want) * max(k, 1)))
        assert np.linalg.norm(got - want) / scale < 5e-3
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.sqrt(max(k, 1)))


def gpu_matrix(host, transposed):
    """`host` on the GPU; when `transposed`, as the transposed view of a C-contiguous array
    holding host.T, which the kernels must read in place."""
    if transposed:
        return to_gpu(np.ascontiguousarray(np.swapaxes(host, -1, -2))).swapaxes(-1, -2)
    return to_gpu(host)


# --------------------------------------------------------------------------- every version

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_every_version_and_transpose_matches_float64(version, trans_a, trans_b, m, n, k):
    rng = np.random.default_rng(m * 7919 + n * 31 + k)
    a, b = randn(rng, (m, k)), randn(rng, (k, n))
    got = _gemm().matmul(gpu_matrix(a, trans_a), gpu_matrix(b, trans_b), version=version)
    assert_product_close(got, a.astype(np.float64) @ b, k, version)


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_default_matches_the_cpu_kernel(m, n, k):
    rng = np.random.default_rng(k)
    a, b = randn(rng, (m, k)), randn(rng, (k, n))
    assert_matches_cpu(_gemm().matmul(to_gpu(a), to_gpu(b)), cpu.matmul(a, b), rtol=1e-4,
                       atol=1e-5 * np.sqrt(k))


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_inner_dimension_gives_zeros_then_the_epilogue(version):
    a, b = to_gpu(np.zeros((5, 0), np.float32)), to_gpu(np.zeros((0, 3), np.float32))
    np.testing.assert_array_equal(to_cpu(_gemm().matmul(a, b, version=version)), np.zeros((5, 3)))
    bias = np.array([-1.0, 0.5, 2.0], np.float32)
    out = to_gpu(np.full((5, 3), 7.0, np.float32))
    _kernels().gemm(a, b, out, to_gpu(bias), "relu", 0.0, 1.0, False, False, False, version,
                    _stream(), "gemm")
    np.testing.assert_array_equal(to_cpu(out), np.broadcast_to(np.maximum(bias, 0), (5, 3)))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_misaligned_arrays_take_the_scalar_path(version, trans_a, trans_b):
    # Every extent a multiple of 4: only the start addresses, 4 bytes past 16-byte alignment,
    # keep the kernels off their float4 loads and stores.
    import cupy
    m, n, k = 64, 96, 132
    rng = np.random.default_rng(5)
    a, b, c0 = randn(rng, (m, k)), randn(rng, (k, n)), randn(rng, (m, n))

    def misaligned(host):
        flat = cupy.empty(host.size + 1, cupy.float32)[1:]
        flat[...] = to_gpu(host.ravel())
        return flat.reshape(host.shape)

    ga = misaligned(a.T.copy()) if trans_a else misaligned(a)
    gb = misaligned(b.T.copy()) if trans_b else misaligned(b)
    out = misaligned(c0)
    _kernels().gemm(ga, gb, out, None, "none", 0.0, 1.0, True, trans_a, trans_b, version,
                    _stream(), "gemm")
    assert_product_close(out, c0 + a.astype(np.float64) @ b, k, version)
    views = (ga.T if trans_a else ga), (gb.T if trans_b else gb)
    assert_product_close(_gemm().matmul(*views, version=version), a.astype(np.float64) @ b, k,
                         version)


def test_versions_are_listed_and_tf32_is_opt_in(monkeypatch):
    gemm = _gemm()
    assert sorted(gemm.gemm_versions()) == VERSIONS
    rng = np.random.default_rng(9)
    a, b = randn(rng, (128, 1024)), randn(rng, (1024, 128))
    want = a.astype(np.float64) @ b

    def error(got):
        return np.linalg.norm(to_cpu(got) - want) / np.linalg.norm(want)

    exact = error(gemm.matmul(to_gpu(a), to_gpu(b)))
    monkeypatch.setattr(fastdl.cuda, "allow_tf32", True)
    tf32 = error(gemm.matmul(to_gpu(a), to_gpu(b)))
    assert exact < 1e-6 < tf32 < 5e-3


def test_a_transposed_view_is_read_in_place():
    import cupy
    x = cupy.arange(12, dtype=cupy.float32).reshape(3, 4)
    (stored,), (transposed,) = _gemm()._stored("matmul", x.T)
    assert transposed and stored.data.ptr == x.data.ptr and stored.shape == (3, 4)
    stack = cupy.zeros((2, 3, 4), cupy.float32)
    (stored,), (transposed,) = _gemm()._stored("matmul", stack.swapaxes(-1, -2))
    assert transposed and stored.data.ptr == stack.data.ptr


# --------------------------------------------------------------------------- batches

BATCHED = [((3, 5, 7), (3, 7, 4)),        # one product per matrix
           ((2, 3, 5, 7), (7, 4)),        # one right operand for every row: a tall product
           ((5, 7), (3, 7, 4)),           # a 2-D left operand broadcast by the kernel
           ((1, 5, 7), (4, 7, 6)),        # a batch of one, likewise
           ((2, 1, 5, 7), (1, 3, 7, 4)),  # batch dimensions broadcast against each other
           ((7,), (3, 7, 4)), ((3, 5, 7), (7,)), ((7,), (7,)), ((5, 7), (7,)), ((7,), (7, 3))]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("shape_a,shape_b", BATCHED)
def test_batched_and_broadcast_products_match_cpu(version, shape_a, shape_b):
    rng = np.random.default_rng(len(shape_a) * 10 + len(shape_b))
    a, b = randn(rng, shape_a), randn(rng, shape_b)
    got = _gemm().matmul(to_gpu(a), to_gpu(b), version=version)
    assert_product_close(got, cpu.matmul(a.astype(np.float64), b.astype(np.float64)), 7, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_batches_of_transposed_views(version, trans_a, trans_b):
    rng = np.random.default_rng(3)
    a, b = randn(rng, (4, 9, 13)), randn(rng, (4, 13, 6))
    got = _gemm().matmul(gpu_matrix(a, trans_a), gpu_matrix(b, trans_b), version=version)
    assert_product_close(got, a.astype(np.float64) @ b, 13, version)


@pytest.mark.parametrize("version", [1, 4, 5])
def test_batches_beyond_the_grid_limit(version):
    # 70000 products: more than gridDim.z's 65535, launched in slices.
    rng = np.random.default_rng(4)
    a, b = randn(rng, (70000, 2, 3)), randn(rng, (3, 5))
    assert_product_close(_gemm().matmul(to_gpu(a), to_gpu(b)[None], version=version),
                         a.astype(np.float64) @ b, 3, version)


# --------------------------------------------------------------------------- epilogue

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("accumulate,with_bias", [(False, False), (False, True), (True, True)])
@pytest.mark.parametrize("m,n,k", [(37, 45, 29), (64, 128, 32)])
def test_fused_epilogue(version, activation, accumulate, with_bias, m, n, k):
    rng = np.random.default_rng(m + n + k)
    a, b, c0, bias = randn(rng, (m, k)), randn(rng, (k, n)), randn(rng, (m, n)), randn(rng, n)
    alpha, act_alpha = 0.75, 0.1
    out = to_gpu(c0)
    _kernels().gemm(to_gpu(a), to_gpu(b), out, to_gpu(bias) if with_bias else None, activation,
                    act_alpha, alpha, accumulate, False, False, version, _stream(), "gemm")
    z = alpha * (a.astype(np.float64) @ b) + (c0 if accumulate else 0) + (bias if with_bias else 0)
    want = cpu.activation_forward(activation, z, act_alpha)
    got = to_cpu(out).astype(np.float64)
    if activation == "step":  # a jump: compare away from it
        keep = np.abs(z) > 0.1
        got, want = got[keep], want[keep]
    assert_product_close(got, want, k, version)


# --------------------------------------------------------------------------- dense layer

LINEAR_SHAPES = [(1, 1, 1), (5, 3, 1), (13, 29, 31), (64, 128, 10), (64, 784, 128)]


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("m,k,n", LINEAR_SHAPES)
def test_linear_matches_cpu(activation, m, k, n):
    rng = np.random.default_rng(m * k * n)
    x, w, b = randn(rng, (m, k)), randn(rng, (k, n)), randn(rng, n)
    tol = {"rtol": 1e-4, "atol": 1e-5 * np.sqrt(k)}
    assert_matches_cpu(_gemm().linear(to_gpu(x), to_gpu(w), to_gpu(b), activation),
                       cpu.linear(x, w, b, activation), **tol)
    assert_matches_cpu(_gemm().linear(to_gpu(x), gpu_matrix(w, True), None, activation),
                       cpu.linear(x, w, None, activation), **tol)


def test_linear_of_rows_of_any_rank():
    rng = np.random.default_rng(2)
    w, b = randn(rng, (7, 3)), randn(rng, 3)
    for shape in [(7,), (2, 5, 7), (2, 0, 7)]:
        x = randn(rng, shape)
        assert_matches_cpu(_gemm().linear(to_gpu(x), to_gpu(w), to_gpu(b), "tanh"),
                           cpu.linear(x, w, b, "tanh"))
    x = randn(rng, (2, 5, 7))
    # A stack of transposed views: flattened into rows by a copy.
    assert_matches_cpu(_gemm().linear(gpu_matrix(x, True), to_gpu(w), None), cpu.linear(x, w))


@pytest.mark.parametrize("activation", ["none", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("m,k,n", LINEAR_SHAPES)
def test_linear_backward_matches_cpu(activation, m, k, n):
    rng = np.random.default_rng(m + k + n)
    x, w, b, dy = randn(rng, (m, k)), randn(rng, (k, n)), randn(rng, n), randn(rng, (m, n))
    y = cpu.linear(x, w, b, activation)
    out = None if activation == "none" else y
    want = cpu.linear_backward(dy, x, w, out, activation, True, True, True)
    got = _gemm().linear_backward(to_gpu(dy), to_gpu(x), to_gpu(w),
                                  None if out is None else to_gpu(out), activation, True, True,
                                  True)
    # Sums over n for dx, over m for dw and db.
    for g, c, length in zip(got, want, (n, m, m)):
        assert_matches_cpu(g, c, rtol=1e-4, atol=1e-5 * np.sqrt(length))
    gx, gw, gb = _gemm().linear_backward(to_gpu(dy), gpu_matrix(x, True), gpu_matrix(w, True),
                                         None if out is None else to_gpu(out), activation,
                                         False, True, False)
    assert gx is None and gb is None
    assert_matches_cpu(gw, want[1], rtol=1e-4, atol=1e-5 * np.sqrt(m))


@pytest.mark.parametrize("rows,cols", [(1, 1), (1000, 3), (3, 1000), (4097, 33), (0, 5)])
def test_column_sum(rows, cols):
    x = randn(np.random.default_rng(rows), (rows, cols))
    out = to_gpu(np.full(cols, np.nan, np.float32))
    _kernels().column_sum(to_gpu(x), out, _stream())
    np.testing.assert_allclose(to_cpu(out), x.astype(np.float64).sum(axis=0), rtol=1e-5,
                               atol=1e-6 * np.sqrt(max(rows, 1)))


# --------------------------------------------------------------------------- errors

def test_matmul_errors_name_the_shapes():
    import cupy
    gemm = _gemm()
    with pytest.raises(ValueError, match=r"matmul: inner dimensions do not match: a has shape "
                                         r"\(3, 4\), b has shape \(5, 6\) \(4 != 5\)"):
        gemm.matmul(cupy.ones((3, 4), cupy.float32), cupy.ones((5, 6), cupy.float32))
    with pytest.raises(ValueError, match=r"matmul: inner dimensions do not match: a has shape "
                                         r"\(4, 3\), b has shape \(4, 6\) \(3 != 4\)"):
        gemm.matmul(cupy.ones((3, 4), cupy.float32).T, cupy.ones((4, 6), cupy.float32))
    with pytest.raises(ValueError, match="matmul: batch dimensions do not broadcast"):
        gemm.matmul(cupy.ones((2, 3, 4), cupy.float32), cupy.ones((3, 4, 5), cupy.float32))
    with pytest.raises(ValueError, match="matmul: operands must have at least 1 dimension"):
        gemm.matmul(cupy.ones((), cupy.float32), cupy.ones(3, cupy.float32))
    with pytest.raises(TypeError, match="matmul: the CUDA kernels take float32"):
        gemm.matmul(cupy.ones((2, 2)), cupy.ones((2, 2), cupy.float32))
    with pytest.raises(RuntimeError, match="matmul: expected every operand on the GPU"):
        gemm.matmul(np.ones((2, 2), np.float32), cupy.ones((2, 2), cupy.float32))


def test_gemm_binding_validates_its_arguments():
    import cupy

    def call(a, b, out, bias=None, version=4, trans_a=False, trans_b=False):
        _kernels().gemm(a, b, out, bias, "none", 0.0, 1.0, False, trans_a, trans_b, version,
                        _stream(), "gemm")

    f32 = cupy.float32
    a, b, out = cupy.ones((3, 4), f32), cupy.ones((4, 6), f32), cupy.empty((3, 6), f32)
    with pytest.raises(ValueError, match=r"gemm: a has shape \(3, 4\) but b has shape \(5, 6\); "
                                         r"inner dimensions 4 and 5 differ"):
        call(a, cupy.ones((5, 6), f32), out)
    with pytest.raises(ValueError, match=r"gemm: a has shape \(3, 4\), used transposed but b has "
                                         r"shape \(4, 6\); inner dimensions 3 and 4 differ"):
        call(a, b, out, trans_a=True)
    with pytest.raises(ValueError, match=r"gemm: a has shape \(2, 3, 4\) but b has shape "
                                         r"\(3, 4, 6\); batch sizes 2 and 3 differ"):
        call(cupy.ones((2, 3, 4), f32), cupy.ones((3, 4, 6), f32), cupy.empty((2, 3, 6), f32))
    with pytest.raises(ValueError, match=r"gemm: out has shape \(3, 5\) but a product of 3 x 4 "
                                         r"and 4 x 6 matrices needs shape \(3, 6\)"):
        call(a, b, cupy.empty((3, 5), f32))
    with pytest.raises(ValueError, match=r"gemm: bias has shape \(5,\) but a product with 6 "
                                         r"columns needs shape \(6,\)"):
        call(a, b, out, bias=cupy.ones(5, f32))
    with pytest.raises(ValueError, match="gemm: a and b must be 2-D or 3-D"):
        call(cupy.ones((1, 1, 3, 4), f32), b, out)
    with pytest.raises(ValueError, match="gemm: version must be 1 to 5"):
        call(a, b, out, version=6)
    with pytest.raises(ValueError, match=r"gemm: out \(shape \(3, 4\)\) overlaps a"):
        call(a, cupy.ones((4, 4), f32), a)
    with pytest.raises(TypeError, match="gemm: b has dtype float64"):
        call(a, cupy.ones((4, 6)), out)
    with pytest.raises(ValueError, match="gemm: a .* must be C-contiguous"):
        call(a.T, b, out)
    with pytest.raises(ValueError, match="gemm: unknown activation 'swish'"):
        _kernels().gemm(a, b, out, None, "swish", 0.0, 1.0, False, False, False, 4, _stream(),
                        "gemm")


def test_dense_layer_errors_match_the_cpu():
    import cupy
    gemm = _gemm()
    x, w = cupy.ones((4, 3), cupy.float32), cupy.ones((3, 2), cupy.float32)
    with pytest.raises(ValueError, match="linear: unknown activation 'gelu'"):
        gemm.linear(x, w, None, "gelu")
    with pytest.raises(ValueError, match=r"linear: x has shape \(4, 3\) but w has shape \(2, 2\)"):
        gemm.linear(x, cupy.ones((2, 2), cupy.float32))
    with pytest.raises(ValueError, match=r"linear_backward: grad has shape \(4, 5\); expected "
                                         r"\(4, 2\)"):
        gemm.linear_backward(cupy.ones((4, 5), cupy.float32), x, w, None, "none", True, True,
                             True)
    with pytest.raises(ValueError, match=r"linear_backward: x has shape \(4, 3\) and w has shape "
                                         r"\(2, 2\)"):
        gemm.linear_backward(cupy.ones((4, 2), cupy.float32), x, cupy.ones((2, 2), cupy.float32),
                             None, "none", True, True, True)
    with pytest.raises(ValueError, match="linear_backward: activation 'gelu' does not "
                                         "differentiate from its output"):
        gemm.linear_backward(cupy.ones((4, 2), cupy.float32), x, w, cupy.ones((4, 2), cupy.float32),
                             "gelu", True, True, True)
    with pytest.raises(TypeError, match="linear_backward: out .* is required"):
        gemm.linear_backward(cupy.ones((4, 2), cupy.float32), x, w, None, "relu", True, True, True)
