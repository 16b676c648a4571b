"""conv2d and conv1d (fastdl.conv2d, fastdl.conv1d, _C.conv2d_*) against float64 references
written with direct loops (tests/reference.py), gradcheck and PyTorch where installed."""
import numpy as np
import pytest

import fastdl
from fastdl import _C
from fastdl.backend import cpu
from fastdl.backend.geometry import resolve_padding, same_padding
from fastdl.backend.geometry import conv2d_geometry

import reference

# (batch, height, width, in_channels, kernel_h, kernel_w, out_channels, strides, padding,
#  dilation): strides 1-3, 'valid', 'same' with odd and even splits, explicit amounts, dilation,
# odd sizes, batch 1, one and three input channels, kernels from 1x1 to 7x7, output channels
# around the 16-wide micro-tile.
CASES = [
    (2, 7, 9, 3, 3, 3, 5, 1, "valid", 1),
    (1, 8, 8, 1, 3, 3, 16, 1, "same", 1),
    # one input channel: the direct kernel, with strides, dilation, uneven padding and output
    # channels that are not a multiple of 16
    (2, 11, 10, 1, 3, 2, 33, (2, 1), "same", (1, 2)),
    (1, 9, 7, 1, 5, 5, 7, 2, ((1, 2), (0, 3)), 1),
    (3, 11, 10, 3, 3, 2, 33, (2, 1), "same", (1, 2)),
    (2, 9, 9, 4, 1, 1, 7, 1, "valid", 1),          # pointwise: no patches
    (2, 9, 9, 4, 1, 1, 7, 2, "valid", 1),          # 1x1 with a stride: patches again
    (1, 13, 12, 3, 7, 7, 8, 3, "same", 1),
    (2, 10, 11, 5, 5, 5, 17, 2, ((1, 2), (0, 3)), 1),
    (2, 12, 12, 2, 3, 3, 6, 1, 2, 2),
    (1, 6, 6, 3, 4, 4, 5, 2, "same", 1),           # even kernel: the extra padding after
    (4, 5, 5, 17, 2, 3, 31, 1, "valid", 1),
    (1, 5, 6, 2, 2, 2, 3, 1, 3, 1),                # padding wider than the kernel
    (2, 6, 5, 3, 1, 1, 4, 1, 1, 1),                # 1x1 with padding: patches of zeros
    # 16 input channels or more with unit strides: the input gradient as a forward convolution
    (2, 12, 12, 16, 3, 3, 8, 1, "same", 1),
    (1, 20, 19, 18, 3, 3, 5, 1, "valid", (1, 1)),
    (1, 9, 9, 16, 3, 3, 4, 1, ((3, 0), (0, 3)), 2),
    # 3x3, unit strides, 16 channels or more in and out: Winograd's F(2x2, 3x3), with odd output
    # sizes (tiles hanging over the edge), 'same' and uneven explicit padding
    (2, 9, 10, 16, 3, 3, 17, 1, "same", 1),
    (1, 12, 11, 20, 3, 3, 16, 1, "valid", 1),
    (1, 10, 13, 17, 3, 3, 33, 1, ((2, 0), (1, 3)), 1),
]


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


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    old = fastdl.get_num_threads()
    fastdl.set_num_threads(request.param)
    yield request.param
    fastdl.set_num_threads(old)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_forward_and_gradients_match_direct_loops(isa, threads, rng, case, dtype):
    x, k, b = _arrays(rng, case, dtype)
    strides, padding, dilation = geometry = _geometry(x, k, case)
    y = fastdl.conv2d(x, k, b, *case[7:])
    _close(y, reference.conv2d(x, k, b, *geometry), dtype, k[..., 0].size)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dw, db = cpu.conv2d_backward(dy, x, k, *geometry)
    want = reference.conv2d_grads(x, k, dy, *geometry)
    _close(dx, want[0], dtype, k[0, 0, 0].size * k.shape[0] * k.shape[1])
    _close(dw, want[1], dtype, y[..., 0].size)
    _close(db, want[2], dtype, y[..., 0].size)


@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[-3]],
                         ids=["one channel", "three channels", "winograd"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_fused_activation(isa, rng, activation, case):
    x, k, b = _arrays(rng, case, np.float64)
    got = fastdl.conv2d(x, k, b, *case[7:], activation=activation)
    want = reference.ACTIVATIONS[activation](reference.conv2d(x, k, b, *_geometry(x, k, case)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[4], CASES[6], CASES[8], CASES[-1]])
@pytest.mark.parametrize("activation", [None, "tanh"])
def test_gradcheck(case, activation):
    x, k, b = (fastdl.tensor(a, requires_grad=True)
               for a in _arrays(np.random.default_rng(5), case, np.float64))
    assert fastdl.gradcheck(
        lambda x, k, b: fastdl.conv2d(x, k, b, *case[7:], activation=activation), [x, k, b])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[-3]],
                         ids=["one channel", "three channels", "winograd"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_weight_gradient_through_the_activation_for_a_first_layer(isa, threads, rng, activation,
                                                                  case, dtype):
    # x needs no gradient: the weight-gradient kernel applies the activation's derivative
    # itself (one input channel: row by row inside the direct kernel).
    x, k, b = _arrays(rng, case, dtype)
    kt, bt = fastdl.tensor(k, requires_grad=True), fastdl.tensor(b, requires_grad=True)
    y = fastdl.conv2d(fastdl.tensor(x), kt, bt, *case[7:], activation=activation)
    upstream = rng.standard_normal(y.shape).astype(dtype)
    y.backward(upstream)
    geometry = _geometry(x, k, case)
    z = reference.conv2d(x, k, b, *geometry)
    dz = upstream * reference.activation_grad(activation, z)
    _, dw, db = reference.conv2d_grads(x, k, dz, *geometry)
    reduction = y.shape[0] * y.shape[1] * y.shape[2]
    _close(kt.grad.numpy(), dw, dtype, reduction)
    _close(bt.grad.numpy(), db, dtype, reduction)


def test_relu_kink_gradient_is_zero_at_zero():
    # A kernel of zeros and a zero bias put every output exactly at relu's kink.
    x = fastdl.ones((1, 3, 3, 1), dtype="float64", requires_grad=True)
    k = fastdl.zeros((2, 2, 1, 1), dtype="float64", requires_grad=True)
    fastdl.conv2d(x, k, activation="relu").sum().backward()
    assert np.all(x.grad.numpy() == 0) and np.all(k.grad.numpy() == 0)


def test_input_gradient_is_skipped_for_an_input_that_does_not_need_it(monkeypatch, rng):
    calls = []
    real = _C.conv2d_backward_input
    monkeypatch.setattr(_C, "conv2d_backward_input", lambda *a: calls.append(1) or real(*a))
    x, k, b = _arrays(rng, CASES[0], np.float64)
    k, b = fastdl.tensor(k, requires_grad=True), fastdl.tensor(b, requires_grad=True)
    fastdl.conv2d(fastdl.tensor(x), k, b).sum().backward()
    assert calls == [] and k.grad is not None and b.grad is not None
    xt = fastdl.tensor(x, requires_grad=True)
    fastdl.conv2d(xt, k, b).sum().backward()
    assert calls == [1] and xt.grad.shape == x.shape


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


def test_channels_first_matches_channels_last(rng):
    x, k, b = _arrays(rng, CASES[2], np.float64)
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    got = fastdl.conv2d(nchw, k, b, *CASES[2][7:], data_format="channels_first")
    np.testing.assert_allclose(got, fastdl.conv2d(x, k, b, *CASES[2][7:]).transpose(0, 3, 1, 2))
    xt = fastdl.tensor(nchw, requires_grad=True)
    assert fastdl.gradcheck(
        lambda t: fastdl.conv2d(t, fastdl.tensor(k), None, 2, "same", data_format="channels_first"),
        [xt])


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

@pytest.mark.parametrize("padding", ["valid", "same", "causal", 2, (0, 3)])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (1, 3)])
def test_conv1d_is_conv2d_of_height_one(rng, padding, stride, dilation):
    x = rng.standard_normal((3, 17, 4))
    k = rng.standard_normal((3, 4, 6))
    b = rng.standard_normal(6)
    if padding == "causal":
        pads = ((0, 0), (2 * dilation, 0))
    elif isinstance(padding, str):
        pads = padding
    else:
        pads = ((0, 0), (padding, padding) if isinstance(padding, int) else padding)
    want = fastdl.conv2d(x[:, None], k[None], b, (1, stride), pads, (1, dilation))[:, 0]
    got = fastdl.conv1d(x, k, b, stride, padding, dilation)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv1d_gradcheck_and_channels_first(rng):
    # (batch, channels, steps)
    x = fastdl.tensor(rng.standard_normal((2, 4, 9)), requires_grad=True)
    k = fastdl.tensor(rng.standard_normal((3, 4, 5)), requires_grad=True)
    assert fastdl.gradcheck(
        lambda x, k: fastdl.conv1d(x, k, padding="causal", dilation=2,
                                   data_format="channels_first"), [x, k])
    causal = fastdl.conv1d(x, k, padding="causal", data_format="channels_first").numpy()
    # Causal: changing the last step leaves every earlier output alone.
    changed = x.numpy().copy()
    changed[:, :, -1] += 1
    again = fastdl.conv1d(changed, k.numpy(), padding="causal", data_format="channels_first")
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
