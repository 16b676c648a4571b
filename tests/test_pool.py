"""2-D max and average pooling (NHWC) beyond the table of operation cases (which checks values
and gradients against loop-based float64 references and by gradcheck, tests/test_op_cases.py):
the argmax the kernels keep, ties, padding, NaN, layouts, thread counts, empty inputs, the NCHW
edge, PyTorch, errors and fuzzing, on both kernel sets (the `isa` fixture)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdl
from fastdl.backend import cpu
# The table's images, windows and channel counts (see fastdl.testing.op_cases.pool).
from fastdl.testing.op_cases.pool import CHANNELS, IMAGES, RECTANGLES, WINDOWS

import reference as ref


def tolerances(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


def distinct(rng, shape, dtype=np.float64):
    """Values with no ties anywhere (a permutation, scaled), so that every max is unique."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 3.0).astype(dtype)


# ---------------------------------------------------------------- the argmax the kernels keep


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,stride", WINDOWS)
def test_argmax_is_the_first_maximum(isa, rng, pool, stride, padding, channels, dtype):
    for n, h, w in IMAGES:
        x = rng.standard_normal((n, h, w, channels)).astype(dtype)
        _, argmax = cpu.max_pool2d_with_argmax(x, pool, stride, padding)
        assert argmax.dtype == np.int32
        _, expected = ref.max_pool2d(x, (pool, pool), (stride, stride), padding)
        np.testing.assert_array_equal(argmax, expected)


@pytest.mark.parametrize("pool,strides,padding,size", RECTANGLES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_argmax_of_rectangular_windows(isa, rng, pool, strides, padding, size, dtype):
    x = rng.standard_normal((2,) + size + (11,)).astype(dtype)
    _, argmax = cpu.max_pool2d_with_argmax(x, pool, strides, padding)
    np.testing.assert_array_equal(argmax, ref.max_pool2d(x, pool, strides, padding)[1])


def test_same_padding_output_sizes():
    x = np.zeros((1, 7, 8, 1), np.float32)
    for pool, strides, expected in [(2, 2, (4, 4)), (3, 1, (7, 8)), (3, 3, (3, 3)),
                                    ((1, 4), (2, 3), (4, 3))]:
        assert fastdl.max_pool2d(x, pool, strides, "same").shape == (1,) + expected + (1,)
        assert fastdl.avg_pool2d(x, pool, strides, "same").shape == (1,) + expected + (1,)
    assert fastdl.max_pool2d(x, 3, 2).shape == (1, 3, 3, 1)


def test_strides_default_to_pool_size_and_accept_pairs(rng):
    x = rng.standard_normal((1, 6, 6, 2)).astype(np.float32)
    assert np.array_equal(fastdl.max_pool2d(x, 2), fastdl.max_pool2d(x, (2, 2), (2, 2)))
    assert np.array_equal(fastdl.max_pool2d(x, [3, 2], None), fastdl.max_pool2d(x, (3, 2), (3, 2)))
    assert np.array_equal(fastdl.avg_pool2d(x, np.int64(2), strides=np.array([1, 1])),
                          fastdl.avg_pool2d(x, 2, 1))
    assert np.array_equal(fastdl.avg_pool2d(x, 2, padding="SAME"),
                          fastdl.avg_pool2d(x, 2, padding="same"))


# ---------------------------------------------------------------- ties, padding, NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_go_to_the_first_position_in_scan_order(isa, dtype):
    # Every window of a constant image is a tie: the whole gradient goes to its top-left.
    x = np.zeros((1, 3, 3, 9), dtype)
    y, argmax = cpu.max_pool2d_with_argmax(x, 2, 1)
    assert np.array_equal(argmax[0, :, :, 0], [[0, 1], [3, 4]])
    assert (argmax == argmax[..., :1]).all()
    dx = cpu.max_pool2d_backward(np.ones_like(y), argmax, x.shape, 2, 1)
    assert np.array_equal(dx[0, :, :, 4], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    # A maximum that appears twice: the earlier one (row 0 before row 1) wins.
    x = np.array([[1, 5, 0], [5, 2, 5]], dtype).reshape(1, 2, 3, 1)
    y, argmax = cpu.max_pool2d_with_argmax(x, (2, 3))
    assert y.item() == 5 and argmax.item() == 1
    t = fastdl.tensor(x, requires_grad=True)
    fastdl.max_pool2d(t, (2, 3)).sum().backward()
    assert np.array_equal(t.grad.numpy().ravel(), [0, 1, 0, 0, 0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overlapping_windows_add_their_gradients(isa, dtype):
    # The centre of a 3x3 image is the maximum of all four 2x2 windows at stride 1.
    x = np.zeros((1, 3, 3, 2), dtype)
    x[0, 1, 1] = 1.0
    y, argmax = cpu.max_pool2d_with_argmax(x, 2, 1)
    g = np.arange(1, 9, dtype=dtype).reshape(y.shape)
    dx = cpu.max_pool2d_backward(g, argmax, x.shape, 2, 1)
    assert dx[0, 1, 1].tolist() == [1 + 3 + 5 + 7, 2 + 4 + 6 + 8]
    assert np.count_nonzero(dx) == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_padding_never_wins_and_is_not_averaged(isa, dtype):
    x = np.full((1, 4, 4, 3), -5.0, dtype)
    y, argmax = cpu.max_pool2d_with_argmax(x, 3, 1, "same")
    assert (y == -5).all()
    assert argmax[0, 0, 0, 0] == 0 and argmax[0, 3, 3, 0] == 2 * 4 + 2  # first valid position
    assert (fastdl.avg_pool2d(x, 3, 1, "same").numpy() == -5).all()
    x = np.full((1, 3, 3, 5), -np.inf, dtype)
    y, argmax = cpu.max_pool2d_with_argmax(x, 2, 2, "same")
    assert (y == -np.inf).all()
    assert np.array_equal(argmax[0, :, :, 0], [[0, 2], [6, 8]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates_and_the_first_nan_wins(isa, dtype):
    x = np.arange(16 * 10, dtype=dtype).reshape(1, 4, 4, 10)
    x[0, 0, 1, 3] = np.nan
    x[0, 1, 0, 3] = np.nan
    x[0, 3, 3, 9] = np.nan
    y, argmax = cpu.max_pool2d_with_argmax(x, 2)
    assert np.isnan(y[0, 0, 0, 3]) and argmax[0, 0, 0, 3] == 1
    assert np.isnan(y[0, 1, 1, 9]) and argmax[0, 1, 1, 9] == 15
    assert np.isnan(y).sum() == 2
    assert np.array_equal(np.isnan(fastdl.max_pool2d(x, 2).numpy()), np.isnan(y))  # no argmax
    assert np.isnan(fastdl.avg_pool2d(x, 2).numpy()).sum() == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool,stride,padding", [(2, 2, "valid"), (3, 2, "same"), (2, 1, "valid")])
def test_nan_and_infinities_anywhere(isa, rng, pool, stride, padding, dtype):
    # The kernels scan a row assuming no NaN and rescan it exactly when one shows up (or both
    # infinities, whose sum is NaN too): every mix of them in the windows of a row, against
    # the reference.
    x = rng.standard_normal((3, 8, 9, 37)).astype(dtype)
    special = rng.random(x.shape)
    x[special < 0.03] = np.nan
    x[(special >= 0.03) & (special < 0.06)] = np.inf
    x[(special >= 0.06) & (special < 0.09)] = -np.inf
    x[1, :, :, :5] = np.inf  # infinities alone in some windows, no NaN
    x[1, 2:4, :, :5] = -np.inf
    x[2] = np.round(x[2])  # ties
    y, argmax = cpu.max_pool2d_with_argmax(x, pool, stride, padding)
    want, want_argmax = ref.max_pool2d(x, (pool, pool), (stride, stride), padding)
    np.testing.assert_array_equal(y, want.astype(dtype))  # NaN where the reference has NaN
    np.testing.assert_array_equal(argmax, want_argmax)
    np.testing.assert_array_equal(fastdl.max_pool2d(x, pool, stride, padding).numpy(), y)


# ---------------------------------------------------------------- layouts, threads, sizes


def test_non_contiguous_inputs(rng):
    base = rng.standard_normal((2, 9, 14, 6))
    for x in (base[:, ::2, ::2], base[..., ::2], np.asfortranarray(base), base.astype(np.float32)):
        xc = np.ascontiguousarray(x)
        y, argmax = cpu.max_pool2d_with_argmax(x, 2, 1, "same")
        assert np.array_equal(y, cpu.max_pool2d_with_argmax(xc, 2, 1, "same")[0])
        assert np.array_equal(fastdl.avg_pool2d(x, 3, 2), fastdl.avg_pool2d(xc, 3, 2))
        g = rng.standard_normal(y.shape[::-1]).astype(x.dtype).T  # a transposed gradient
        assert np.array_equal(cpu.max_pool2d_backward(g, argmax, x.shape, 2, 1, "same"),
                              cpu.max_pool2d_backward(np.ascontiguousarray(g), argmax, x.shape, 2,
                                                      1, "same"))
        assert np.array_equal(cpu.avg_pool2d_backward(g, x.shape, 2, 1, "same"),
                              cpu.avg_pool2d_backward(np.ascontiguousarray(g), x.shape, 2, 1,
                                                      "same"))


@pytest.mark.parametrize("fn", [fastdl.max_pool2d, fastdl.avg_pool2d])
def test_channels_first_is_the_transposed_channels_last(rng, fn):
    x = rng.standard_normal((2, 7, 6, 5)).astype(np.float32)
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = fn(x_nchw, 3, 2, "same", data_format="channels_first")
    assert y.shape == (2, 5, 4, 3)
    assert np.array_equal(y, fn(x, 3, 2, "same").transpose(0, 3, 1, 2))

    g = rng.standard_normal(y.shape)
    t_first = fastdl.tensor(x_nchw.astype(np.float64), requires_grad=True)
    (fn(t_first, 3, 2, "same", data_format="channels_first") * g).sum().backward()
    t_last = fastdl.tensor(x.astype(np.float64), requires_grad=True)
    (fn(t_last, 3, 2, "same") * g.transpose(0, 2, 3, 1)).sum().backward()
    np.testing.assert_allclose(t_first.grad.numpy(), t_last.grad.numpy().transpose(0, 3, 1, 2),
                               rtol=1e-12)


def test_threads_give_identical_results(rng):
    x = rng.standard_normal((3, 40, 38, 16)).astype(np.float32)
    old = fastdl.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            fastdl.set_num_threads(threads)
            y, argmax = cpu.max_pool2d_with_argmax(x, 3, 1, "same")
            results.append((y, argmax, cpu.max_pool2d_backward(y, argmax, x.shape, 3, 1, "same"),
                            fastdl.avg_pool2d(x, 3, 2),
                            cpu.avg_pool2d_backward(x[:, :19, :18], x.shape, 3, 2)))
    finally:
        fastdl.set_num_threads(old)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_a_single_large_image_splits_by_rows(rng):
    x = distinct(rng, (1, 300, 200, 8), np.float32)
    old = fastdl.get_num_threads()
    try:
        fastdl.set_num_threads(2)
        y, argmax = cpu.max_pool2d_with_argmax(x, 2)
        dx = cpu.max_pool2d_backward(y, argmax, x.shape, 2)
    finally:
        fastdl.set_num_threads(old)
    windows = x.reshape(1, 150, 2, 100, 2, 8)
    assert np.array_equal(y, windows.max(axis=(2, 4)))
    assert np.array_equal(dx, np.where(x == np.repeat(np.repeat(y, 2, 1), 2, 2), x, 0))


@pytest.mark.parametrize("shape", [(0, 4, 4, 3), (2, 4, 4, 0)])
def test_empty_batch_or_channels(isa, shape):
    x = np.zeros(shape, np.float32)
    y, argmax = cpu.max_pool2d_with_argmax(x, 2)
    assert y.shape == argmax.shape == (shape[0], 2, 2, shape[3])
    assert cpu.max_pool2d_backward(y, argmax, shape, 2).shape == shape
    assert fastdl.avg_pool2d(x, 2).shape == y.shape
    assert cpu.avg_pool2d_backward(y, shape, 2).shape == shape


# ---------------------------------------------------------------- autograd


def test_tensors_or_arrays_in_tensors_out(rng):
    x = rng.standard_normal((1, 4, 4, 2)).astype(np.float32)
    for fn in (fastdl.max_pool2d, fastdl.avg_pool2d, fastdl.global_max_pool2d,
               fastdl.global_avg_pool2d):
        out = fn(x)
        assert isinstance(out, fastdl.Tensor) and out.dtype == np.float32
        assert not out.requires_grad
        out = out.numpy()
        t = fn(fastdl.tensor(x, requires_grad=True))
        assert isinstance(t, fastdl.Tensor) and t.requires_grad
        assert np.array_equal(t.numpy(), out)
        with fastdl.no_grad():
            assert not fn(fastdl.tensor(x, requires_grad=True)).requires_grad


def test_global_max_gradient_goes_to_the_first_maximum():
    x = np.zeros((1, 2, 2, 2))
    x[0, 1, 0, 1] = x[0, 1, 1, 1] = 3.0
    t = fastdl.tensor(x, requires_grad=True)
    fastdl.global_max_pool2d(t).sum().backward()
    expected = np.zeros_like(x)
    expected[0, 0, 0, 0] = 1.0  # all zeros: the first position
    expected[0, 1, 0, 1] = 1.0
    assert np.array_equal(t.grad.numpy(), expected)


# ---------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("pool,stride,padding,size", [
    (2, 2, 0, (8, 8)), (3, 1, 1, (7, 9)), (3, 2, 0, (9, 7)), (2, 1, 0, (5, 6)), (3, 2, 1, (9, 7))])
def test_agrees_with_pytorch(rng, pool, stride, padding, size):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((2,) + size + (5,))
    # Keras 'same' is symmetric here: (out - 1) * stride + pool - size == 2 * padding.
    mode = "same" if padding else "valid"
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    for ours, theirs in ((fastdl.max_pool2d, lambda t: F.max_pool2d(t, pool, stride, padding)),
                         (fastdl.avg_pool2d, lambda t: F.avg_pool2d(t, pool, stride, padding,
                                                                    count_include_pad=False))):
        expected = theirs(tx)
        got = ours(x, pool, stride, mode)
        np.testing.assert_allclose(got, expected.detach().numpy().transpose(0, 2, 3, 1),
                                   rtol=1e-12)
        g = rng.standard_normal(got.shape)
        (expected_grad,) = torch.autograd.grad(expected, tx, torch.tensor(g.transpose(0, 3, 1, 2)))
        t = fastdl.tensor(x, requires_grad=True)
        (ours(t, pool, stride, mode) * g).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), expected_grad.numpy().transpose(0, 2, 3, 1),
                                   rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("op,fn", [("max_pool2d", fastdl.max_pool2d),
                                   ("avg_pool2d", fastdl.avg_pool2d)])
def test_errors_name_the_operation_and_the_shapes(op, fn):
    x = np.zeros((1, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match=rf"{op}: x must be 4-D \(batch, height, width, "
                                         r"channels\); got shape \(4, 4, 3\); for a single "
                                         r"image add a batch axis"):
        fn(x[0])
    with pytest.raises(ValueError, match=rf"{op}: x must be 4-D .* got shape \(4, 4\)$"):
        fn(x[0, :, :, 0])
    with pytest.raises(ValueError, match=rf"{op}: the 5x5 window is larger than the 4x4 image "
                                         r"of x with shape \(1, 4, 4, 3\) and padding 'valid'"):
        fn(x, 5)
    with pytest.raises(ValueError, match=rf"{op}: the 2x5 window is larger"):
        fn(x, (2, 5), 1)
    with pytest.raises(ValueError, match=rf"{op}: pool_size must be positive; got \(0, 0\)"):
        fn(x, 0)
    with pytest.raises(ValueError, match=rf"{op}: strides must be positive; got \(1, -1\)"):
        fn(x, 2, (1, -1))
    with pytest.raises(ValueError, match=rf"{op}: padding must be 'valid' or 'same'; got 'full'"):
        fn(x, 2, padding="full")
    with pytest.raises(ValueError, match=rf"{op}: padding must be 'valid' or 'same'; got 1"):
        fn(x, 2, padding=1)
    with pytest.raises(TypeError, match=rf"{op}: pool_size must be an int or a pair of ints; "
                                        r"got 2.0"):
        fn(x, 2.0)
    with pytest.raises(TypeError, match=rf"{op}: strides must be an int or a pair of ints; "
                                        r"got \(1, 2, 3\)"):
        fn(x, 2, (1, 2, 3))
    with pytest.raises(TypeError, match=r"pool_size must be an int or a pair of ints; got True"):
        fn(x, True)
    with pytest.raises(TypeError, match=rf"{op}: unsupported dtype int64 for x \(shape "
                                        r"\(1, 4, 4, 3\)\); expected float32 or float64"):
        fn(np.zeros((1, 4, 4, 3), np.int64))
    with pytest.raises(TypeError, match=rf"{op}: unsupported dtype float16"):
        fn(np.zeros((1, 4, 4, 3), np.float16))
    with pytest.raises(ValueError, match=rf"{op}: data_format must be 'channels_last' or "
                                         r"'channels_first'; got 'NHWC'"):
        fn(x, data_format="NHWC")
    with pytest.raises(ValueError, match=rf"{op}: x must be 4-D \(batch, channels, height, "
                                         r"width\) with data_format='channels_first'"):
        fn(x[0], data_format="channels_first")
    # The Tensor path checks the same things.
    with pytest.raises(ValueError, match=rf"{op}: the 5x5 window is larger"):
        fn(fastdl.tensor(x, requires_grad=True), 5)
    with pytest.raises(ValueError, match=rf"{op}: x must be 4-D"):
        fn(fastdl.tensor(x[0], requires_grad=True))


def test_backward_entry_points_check_their_arguments():
    x_shape = (1, 4, 4, 3)
    y, argmax = cpu.max_pool2d_with_argmax(np.zeros(x_shape), 2)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: grad has shape \(1, 3, 3, 3\) "
                                         r"but an input of shape \(1, 4, 4, 3\) with pool_size "
                                         r"\(2, 2\), strides \(2, 2\) and padding 'valid' gives "
                                         r"outputs of shape \(1, 2, 2, 3\)"):
        cpu.max_pool2d_backward(np.zeros((1, 3, 3, 3)), argmax, x_shape, 2)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: argmax has shape \(1, 2, 2\)"):
        cpu.max_pool2d_backward(y, argmax[..., 0], x_shape, 2)
    with pytest.raises(TypeError, match=r"max_pool2d_backward: argmax has dtype int64 and shape "
                                        r"\(1, 2, 2, 3\); expected the int32 indices"):
        cpu.max_pool2d_backward(y, argmax.astype(np.int64), x_shape, 2)
    with pytest.raises(TypeError, match=r"max_pool2d_backward: unsupported dtype int32 for grad"):
        cpu.max_pool2d_backward(argmax, argmax, x_shape, 2)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: x_shape must be 4-D .* got shape "
                                         r"\(4, 4, 3\)"):
        cpu.max_pool2d_backward(y, argmax, x_shape[1:], 2)
    with pytest.raises(TypeError, match=r"avg_pool2d_backward: x_shape must be a sequence of "
                                        r"non-negative ints; got \(1, 4, -4, 3\)"):
        cpu.avg_pool2d_backward(y, (1, 4, -4, 3), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: grad has shape \(1, 2, 2, 3\) "
                                         r"but an input of shape \(1, 4, 4, 3\) with pool_size "
                                         r"\(3, 3\), strides \(1, 1\) and padding 'same' gives "
                                         r"outputs of shape \(1, 4, 4, 3\)"):
        cpu.avg_pool2d_backward(y, x_shape, 3, 1, "same")


def test_argmax_outside_its_window_contributes_nothing():
    # The backward gathers from the windows covering each element, so a corrupted index can
    # lose gradient but never write outside dx.
    y, argmax = cpu.max_pool2d_with_argmax(np.ones((1, 4, 4, 2)), 2)
    argmax[...] = [[-7, 2**31 - 1]]
    assert not cpu.max_pool2d_backward(y, argmax, (1, 4, 4, 2), 2).any()


@pytest.mark.parametrize("fn,op", [(fastdl.global_avg_pool2d, "global_avg_pool2d"),
                                   (fastdl.global_max_pool2d, "global_max_pool2d")])
def test_global_pool_errors(fn, op):
    with pytest.raises(ValueError, match=rf"{op}: x must be 4-D \(batch, height, width, "
                                         r"channels\); got shape \(4, 4, 3\)"):
        fn(np.zeros((4, 4, 3)))
    with pytest.raises(TypeError, match=rf"{op}: unsupported dtype int64"):
        fn(np.zeros((1, 4, 4, 3), np.int64))
    with pytest.raises(ValueError, match=rf"{op}: data_format must be"):
        fn(np.zeros((1, 4, 4, 3)), data_format="nchw")


# ---------------------------------------------------------------- fuzzing


@st.composite
def pooling_problems(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    pool = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        pool = (min(pool[0], h), min(pool[1], w))
    shape = (draw(st.integers(1, 3)), h, w, draw(st.integers(1, 20)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype), pool, strides, padding


@settings(max_examples=100, deadline=None)
@given(pooling_problems())
def test_fuzzed_shapes_match_reference(problem):
    x, pool, strides, padding = problem
    y, argmax = cpu.max_pool2d_with_argmax(x, pool, strides, padding)
    expected, expected_argmax = ref.max_pool2d(x, pool, strides, padding)
    np.testing.assert_array_equal(y, expected.astype(x.dtype))
    np.testing.assert_array_equal(argmax, expected_argmax)
    dx = cpu.max_pool2d_backward(y, argmax, x.shape, pool, strides, padding)
    np.testing.assert_allclose(dx, ref.max_pool2d_backward(y, expected_argmax, x.shape),
                               **tolerances(x.dtype))
    avg = fastdl.avg_pool2d(x, pool, strides, padding)
    np.testing.assert_allclose(avg, ref.avg_pool2d(x, pool, strides, padding),
                               **tolerances(x.dtype))
    np.testing.assert_allclose(cpu.avg_pool2d_backward(avg, x.shape, pool, strides, padding),
                               ref.avg_pool2d_backward(avg, x.shape, pool, strides, padding),
                               **tolerances(x.dtype))
