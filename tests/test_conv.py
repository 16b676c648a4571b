"""conv2d and conv1d (fastdl.conv2d, fastdl.conv1d, _C.conv2d_*) beyond the table of operation
cases (which checks their values and gradients against direct loops and by gradcheck,
tests/test_op_cases.py): exact gradients at relu's kink, the gradients asked of the kernels,
non-contiguous input, causality, Keras's padding, PyTorch where installed, and bad input."""
import numpy as np
import pytest
import reference

import fastdl
from fastdl import _C
from fastdl.backend.geometry import resolve_padding, same_padding
from fastdl.backend.geometry import conv2d_geometry
# The table's geometries: (batch, height, width, in_channels, kernel_h, kernel_w,
# out_channels, strides, padding, dilation).
from fastdl.testing.op_cases.conv import CONV2D_GEOMETRIES as CASES


def _arrays(rng, case, dtype):
    n, h, w, c, kh, kw, co = case[:7]
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    k = rng.standard_normal((kh, kw, c, co)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    return x, k, b


def _geometry(x, k, case):
    strides, padding, dilation = case[7:]
    return conv2d_geometry(x.shape, k.shape, strides, padding, dilation)


def _close(got, want, dtype, reduction):
    scale = np.sqrt(max(reduction, 1))
    if dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * scale)


def test_relu_kink_gradient_is_zero_at_zero():
    # A kernel of zeros and a zero bias put every output exactly at relu's kink.
    x = fastdl.ones((1, 3, 3, 1), dtype="float64", requires_grad=True)
    k = fastdl.zeros((2, 2, 1, 1), dtype="float64", requires_grad=True)
    fastdl.conv2d(x, k, activation="relu").sum().backward()
    assert np.all(x.grad.numpy() == 0) and np.all(k.grad.numpy() == 0)


def test_input_gradient_is_skipped_for_an_input_that_does_not_need_it(monkeypatch, rng):
    asked = []  # whether each call into the kernels computed dx
    input_only, both = _C.conv2d_backward_input, _C.conv2d_backward
    monkeypatch.setattr(_C, "conv2d_backward_input",
                        lambda *a: asked.append(True) or input_only(*a))
    monkeypatch.setattr(_C, "conv2d_backward",
                        lambda *a: asked.append(a[6]) or both(*a))  # need_x
    x, k, b = _arrays(rng, CASES[0], np.float64)
    k, b = fastdl.tensor(k, requires_grad=True), fastdl.tensor(b, requires_grad=True)
    fastdl.conv2d(fastdl.tensor(x), k, b).sum().backward()
    assert not any(asked) and k.grad is not None and b.grad is not None
    xt = fastdl.tensor(x, requires_grad=True)
    fastdl.conv2d(xt, k, b).sum().backward()
    assert asked.count(True) == 1 and xt.grad.shape == x.shape


def test_bias_gradient_without_weight_gradient(rng):
    x, k, b = _arrays(rng, CASES[1], np.float64)
    bt = fastdl.tensor(b, requires_grad=True)
    y = fastdl.conv2d(fastdl.tensor(x), fastdl.tensor(k), bt, padding="same")
    y.sum().backward()
    np.testing.assert_allclose(bt.grad.numpy(), np.full(b.shape, y[..., 0].size))


def test_non_contiguous_input(rng):
    x, k, b = _arrays(rng, CASES[0], np.float64)
    wide = np.repeat(x, 2, axis=2)[:, :, ::2]  # a strided view with the values of x
    assert not wide.flags.c_contiguous
    np.testing.assert_allclose(fastdl.conv2d(wide, k, b), fastdl.conv2d(x, k, b))


# Both gradients in one call: Winograd's pass over the tiles of dy serves the two where the input
# gradient is Winograd's (a valid convolution whose output has fewer tiles than its input: the
# CNN's 13x13x32 -> 64; a 62x62 image with more tiles than a block, taken in several blocks; odd
# channels), else the two separate paths (a 'same' convolution).
@pytest.mark.parametrize("shape,out_channels,padding", [
    ((3, 13, 13, 32), 64, "valid"), ((2, 62, 62, 16), 16, "valid"), ((5, 13, 14, 17), 33, "valid"),
    ((2, 9, 10, 16), 17, "same")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_gradients_at_once(isa, rng, shape, out_channels, padding, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    k = (rng.standard_normal((3, 3, shape[3], out_channels)) * 0.2).astype(dtype)
    geometry = conv2d_geometry(x.shape, k.shape, 1, padding, 1)
    oh, ow = (shape[1] - 2, shape[2] - 2) if padding == "valid" else shape[1:3]
    dy = rng.standard_normal((shape[0], oh, ow, out_channels)).astype(dtype)
    want_dx, want_dw, want_db = reference.conv2d_grads(x, k, dy, *geometry)
    dx, dw, db = _C.conv2d_backward(dy, x, k, *geometry)
    _close(dx, want_dx, dtype, out_channels * 9)
    _close(dw, want_dw, dtype, dy[..., 0].size)
    _close(db, want_db, dtype, dy[..., 0].size)
    # Each alone, through the same entry, and without the bias.
    dx_alone, none_w, none_b = _C.conv2d_backward(dy, x, k, *geometry, need_w=False)
    assert none_w is None and none_b is None
    _close(dx_alone, want_dx, dtype, out_channels * 9)
    none_x, dw_alone, no_b = _C.conv2d_backward(dy, x, k, *geometry, need_x=False, need_b=False)
    assert none_x is None and no_b is None
    _close(dw_alone, want_dw, dtype, dy[..., 0].size)


def test_both_gradients_check_their_input():
    x = np.zeros((2, 13, 13, 32), np.float32)
    w = np.zeros((3, 3, 32, 64), np.float32)
    dy = np.zeros((2, 11, 11, 64), np.float32)
    geometry = conv2d_geometry(x.shape, w.shape, 1, "valid", 1)
    with pytest.raises(ValueError, match=r"conv2d_backward: dy has shape \(2, 10, 11, 64\); "
                                         r"expected \(2, 11, 11, 64\)"):
        _C.conv2d_backward(dy[:, :10], x, w, *geometry)
    with pytest.raises(ValueError, match=r"conv2d_backward: x has shape \(2, 13, 13, 32\), w has "
                                         r"shape \(3, 3, 16, 64\)"):
        _C.conv2d_backward(dy, x, w[:, :, :16], *geometry)
    with pytest.raises(TypeError, match="conv2d_backward: x has dtype float32 but dy has dtype "
                                        "float64"):
        _C.conv2d_backward(dy.astype(np.float64), x, w, *geometry)


# One input channel goes to the direct kernels, which take the output channels in blocks of one
# or two vectors (16 floats on AVX-512 and AVX2, 8 doubles on AVX2), the last one partial: these
# counts give whole blocks, partial ones and partial vectors on every ISA, with the 3x3
# unit-stride kernel (its taps fixed at compile time) and a strided 3x2 one.
@pytest.mark.parametrize("out_channels", [1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 48, 64])
@pytest.mark.parametrize("kernel,strides", [((3, 3), 1), ((3, 2), (2, 1))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_input_channel_at_every_block_of_output_channels(isa, rng, out_channels, kernel,
                                                             strides, dtype):
    x = rng.standard_normal((2, 9, 11, 1)).astype(dtype)
    k = rng.standard_normal(kernel + (1, out_channels)).astype(dtype)
    b = rng.standard_normal(out_channels).astype(dtype)
    geometry = conv2d_geometry(x.shape, k.shape, strides, "valid", 1)
    y = _C.conv2d_forward(x, k, b, *geometry, "none")
    _close(y, reference.conv2d(x, k, b, *geometry), dtype, k[..., 0].size)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dw, db = _C.conv2d_backward_weight(x, dy, k.shape[:2], *geometry, True, "none", None)
    _, want_dw, want_db = reference.conv2d_grads(x, k, dy, *geometry)
    _close(dw, want_dw, dtype, y[..., 0].size)
    _close(db, want_db, dtype, y[..., 0].size)



@pytest.mark.parametrize("size,kernel,stride,dilation,want", [
    (28, 3, 1, 1, (1, 1)), (28, 3, 2, 1, (0, 1)), (27, 3, 2, 1, (1, 1)), (6, 4, 1, 1, (1, 2)),
    (10, 3, 1, 2, (2, 2)), (5, 1, 3, 1, (0, 0)), (4, 7, 1, 1, (3, 3)),
])
def test_same_padding_follows_keras(size, kernel, stride, dilation, want):
    assert same_padding(size, kernel, stride, dilation) == want
    x = np.zeros((1, size, size, 1))
    y = fastdl.conv2d(x, np.zeros((kernel, kernel, 1, 1)), padding="same", strides=stride,
                      dilation=dilation)
    assert y.shape[1:3] == (-(-size // stride),) * 2


def test_explicit_padding_forms():
    assert resolve_padding(2, (5, 5), (3, 3), (1, 1), (1, 1)) == (2, 2, 2, 2)
    assert resolve_padding((1, 2), (5, 5), (3, 3), (1, 1), (1, 1)) == (1, 1, 2, 2)
    assert resolve_padding(((0, 1), (2, 3)), (5, 5), (3, 3), (1, 1), (1, 1)) == (0, 1, 2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_pytorch(rng, dtype):
    torch = pytest.importorskip("torch")
    for case in CASES:
        if isinstance(case[8], str) and case[8] == "same":
            continue  # PyTorch's 'same' has no strides and splits differently: amounts below
        x, k, b = _arrays(rng, case, dtype)
        strides, (pt, pb, pl, pr), dilation = _geometry(x, k, case)
        tx = torch.nn.functional.pad(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                                     (pl, pr, pt, pb))
        want = torch.nn.functional.conv2d(tx, torch.from_numpy(k.transpose(3, 2, 0, 1).copy()),
                                          torch.from_numpy(b), stride=strides, dilation=dilation)
        got = fastdl.conv2d(x, k, b, *case[7:])
        _close(got, want.numpy().transpose(0, 2, 3, 1), dtype, k[..., 0].size)


# --------------------------------------------------------------------------- conv1d

def test_conv1d_causal_outputs_never_see_later_steps(rng):
    # (batch, channels, steps)
    x = rng.standard_normal((2, 4, 9))
    k = rng.standard_normal((3, 4, 5))
    causal = fastdl.conv1d(x, k, padding="causal", data_format="channels_first").numpy()
    # Changing the last step leaves every earlier output alone.
    changed = x.copy()
    changed[:, :, -1] += 1
    again = fastdl.conv1d(changed, k, padding="causal", data_format="channels_first")
    np.testing.assert_array_equal(again[:, :, :-1], causal[:, :, :-1])


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("x_shape,w_shape,kwargs,error,pattern", [
    ((28, 28, 1), (3, 3, 1, 8), {}, ValueError,
     r"conv2d: x has shape \(28, 28, 1\); expected 4 dimensions.*add the missing axis"),
    ((1, 2, 2, 1), (3, 3, 1, 8), {}, ValueError,
     r"conv2d: the kernel \(3 x 3 with dilation\) is larger than the padded input \(2 x 2\)"),
    ((1, 8, 8, 3), (3, 3, 4, 8), {}, ValueError,
     r"conv2d: x has shape \(1, 8, 8, 3\), w has shape \(3, 3, 4, 8\); x has 3 channels but w "
     r"expects 4"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"strides": 0}, ValueError, r"conv2d: strides must be positive"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"strides": (1, -2)}, ValueError,
     r"conv2d: strides must be positive, got \(1, -2\)"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"dilation": 0}, ValueError, r"conv2d: dilation must be positive"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"padding": "full"}, ValueError,
     r"conv2d: padding must be 'valid', 'same' or amounts, got 'full'"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"padding": -1}, ValueError, r"conv2d: padding must be >= 0"),
    ((1, 8, 8, 3), (3, 3, 3), {}, ValueError, r"conv2d: w has shape \(3, 3, 3\); expected 4"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"b": np.zeros(7)}, ValueError,
     r"conv2d: b has shape \(7,\); expected \(8,\)"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"activation": "softplus"}, ValueError,
     r"conv2d: unknown activation 'softplus'"),
    ((1, 8, 8, 3), (3, 3, 3, 8), {"data_format": "NHWC"}, ValueError,
     r"conv2d: data_format must be 'channels_last' or 'channels_first'"),
])
def test_bad_input_raises_naming_the_operation_and_shapes(x_shape, w_shape, kwargs, error,
                                                          pattern):
    with pytest.raises(error, match=pattern):
        fastdl.conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


def test_integer_input_raises_type_error():
    with pytest.raises(TypeError, match="conv2d: unsupported dtype int64"):
        fastdl.conv2d(np.zeros((1, 4, 4, 1), np.int64), np.zeros((3, 3, 1, 1), np.int64))


def test_conv1d_rank_errors():
    with pytest.raises(ValueError, match=r"conv1d: x has shape \(4, 9\); expected 3 dimensions"):
        fastdl.conv1d(np.zeros((4, 9)), np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match=r"conv1d: padding must be 'valid', 'same', 'causal'"):
        fastdl.conv1d(np.zeros((1, 9, 1)), np.zeros((3, 1, 2)), padding=(1, 2, 3))
