"""Convolution on fastdl's kernels against direct loops (:func:`reference.conv2d`): conv2d at
geometries that reach each of its paths, with fused activations, for a network's first layer
(no input gradient), in both data formats; conv1d with every padding; and conv2d fused with the
max pooling after it.

>>> [case.name for case in CASES][:2]
['conv2d', "conv2d(padding='same')"]
>>> CONV2D_GEOMETRIES[0].out_channels
5
"""
from typing import Any, Callable, Iterable, NamedTuple, Optional

import numpy as np

import fastdl
from fastdl.backend.geometry import conv2d_geometry, conv2d_output_shape, same_padding
from fastdl.testing import reference
from fastdl.testing.op_cases.case import (FLOAT32, FLOAT64, BenchShape, OpCase, Shapes, Sums,
                                          Tolerance, as_pair, normal)


class ConvGeometry(NamedTuple):
    """One convolution to check: the image, the kernel and the geometry arguments."""

    batch: int
    height: int
    width: int
    in_channels: int
    kernel_h: int
    kernel_w: int
    out_channels: int
    strides: Any
    padding: Any
    dilation: Any

    @property
    def shapes(self) -> Shapes:
        """(x, w, b) shapes: NHWC, HWIO, (out_channels,)."""
        return ((self.batch, self.height, self.width, self.in_channels),
                (self.kernel_h, self.kernel_w, self.in_channels, self.out_channels),
                (self.out_channels,))


# Strides 1-3, 'valid', 'same' with odd and even splits, explicit amounts, dilation, odd sizes,
# batch 1, one and three input channels, kernels from 1x1 to 7x7, output channels around the
# 16-wide micro-tile.
CONV2D_GEOMETRIES = [ConvGeometry(*row) for row in [
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
    # 3x3, unit strides, 16 channels or more in and out: Winograd's F(4x4, 3x3), with odd output
    # sizes (tiles hanging over the edge), 'same' and uneven explicit padding
    (2, 9, 10, 16, 3, 3, 17, 1, "same", 1),
    (1, 12, 11, 20, 3, 3, 16, 1, "valid", 1),
    (1, 10, 13, 17, 3, 3, 33, 1, ((2, 0), (1, 3)), 1),
    # ... whose input gradient, with fewer tiles over the output than over the input, is
    # F(4x4, 3x3) transposed: overlapping patches added into dx
    (2, 13, 13, 16, 3, 3, 24, 1, "valid", 1),
    (1, 13, 10, 17, 3, 3, 16, 1, ((1, 0), (0, 0)), 1),
    # few output channels from at least four times as many: the tap products, with strides,
    # dilation, even kernels and uneven padding
    (2, 9, 8, 8, 3, 3, 1, 1, "same", 1),
    (1, 11, 10, 12, 5, 5, 2, 2, ((1, 2), (0, 3)), 1),
    (2, 7, 9, 16, 3, 2, 3, (2, 1), "valid", (1, 2)),
    (1, 10, 10, 64, 5, 5, 1, 1, "same", 1),
    (1, 6, 7, 20, 4, 4, 4, 2, "same", 1),
    # 16 input channels or more with strides (a transposed convolution's forward pass), with
    # even kernels, uneven strides and padding, and strides above the kernel (input rows that
    # no tap reads)
    (2, 9, 10, 16, 3, 3, 8, 2, "same", 1),
    (1, 11, 12, 17, 4, 4, 5, 2, "same", 1),
    (2, 10, 9, 20, 2, 3, 6, (3, 2), ((1, 2), (0, 3)), 1),
    (1, 13, 11, 16, 5, 5, 33, 3, "valid", 1),
    (1, 7, 8, 18, 1, 1, 4, 2, "valid", 1),
]]
# The geometries gradchecked without and with a fused tanh.
GRADCHECKED = {0, 2, 4, 6, 8, 19, 22, 27, 29}
# The geometries with every fused activation: one input channel, three, Winograd's and the
# tap products.
FUSED = {2, 4, 17, 23, 29}
# The source documents' CNN (28x28x1 -> 32, 13x13x32 -> 64, 5x5x64 -> 64), a 32 -> 32 layer at
# 28x28 and a 64 -> 128 one at 56x56, all 3x3 'valid' at batch 64, timed by the benchmark.
BENCH_LAYERS = [("cnn conv1", 28, 1, 32), ("cnn conv2", 13, 32, 64), ("cnn conv3", 5, 64, 64),
                ("conv 32->32", 28, 32, 32), ("conv 64->128", 56, 64, 128)]

#: float32: atol grows like the square root of the sums' lengths; float64 likewise.
CONV_TOLERANCE = {FLOAT32: Tolerance(1e-4, 2e-5), FLOAT64: Tolerance(1e-12, 5e-14)}
#: Central differences of sums over whole images carry rounding of about 1e-7 relative.
FINITE_DIFFERENCES = Tolerance(1e-4, 1e-5)


def _same(a: np.ndarray) -> np.ndarray:
    return a


class Layout(NamedTuple):
    """How an operation's x and w map onto the NHWC images and HWIO kernels of
    :func:`reference.conv2d`, and back (the output and dx have x's layout)."""

    x_in: Callable[[np.ndarray], np.ndarray]
    x_out: Callable[[np.ndarray], np.ndarray]
    w_in: Callable[[np.ndarray], np.ndarray] = _same
    w_out: Callable[[np.ndarray], np.ndarray] = _same


NHWC = Layout(_same, _same)
NCHW = Layout(lambda x: x.transpose(0, 2, 3, 1), lambda y: y.transpose(0, 3, 1, 2))
# conv1d: a 2-D convolution of height 1, sequences (batch, steps, channels) or channels first.
STEPS = Layout(lambda x: x[:, np.newaxis], lambda y: y[:, 0],
               lambda w: w[np.newaxis], lambda w: w[0])
CHANNELS_STEPS = STEPS._replace(x_in=lambda x: x.transpose(0, 2, 1)[:, np.newaxis],
                                x_out=lambda y: y[:, 0].transpose(0, 2, 1))

Geometry = Callable[[tuple, tuple], tuple]


def call_name(op: str, **arguments: Any) -> str:
    """``op(name=value, ...)`` with the arguments that are not None: a case's name."""
    given = ", ".join(f"{k}={v!r}" for k, v in arguments.items() if v is not None)
    return f"{op}({given})" if given else op


def _non_default(strides: Any, padding: Any, dilation: Any) -> dict:
    return dict(strides=None if strides == 1 else strides,
                padding=None if padding == "valid" else padding,
                dilation=None if dilation == 1 else dilation)


def convolution_case(name: str, fn: Callable, layout: Layout, geometry: Geometry,
                     activation: Optional[str], shapes: list, pool: Optional[tuple] = None,
                     **fields) -> OpCase:
    """``fn(x, w[, b])``: ``activation(conv(x, w) + b)``, max-pooled by the reference's
    ``pool`` (its (size, strides, padding)) where given, against the direct loops; a case
    without bias has shapes of two inputs. ``geometry(x_shape, w_shape)`` resolves the
    (strides, padding, dilation) of the NHWC convolution; ``fields`` are more of the case's,
    over these defaults: normal values, :data:`CONV_TOLERANCE`."""

    def prepared(x: np.ndarray, w: np.ndarray) -> tuple:
        x, w = layout.x_in(x), layout.w_in(w)
        return x, w, geometry(x.shape, w.shape)

    def act(z: np.ndarray) -> np.ndarray:
        return reference.ACTIVATIONS[activation or "none"](z)

    def ref(x, w, b=None):
        x, w, resolved = prepared(x, w)
        out = act(reference.conv2d(x, w, b, *resolved))
        return layout.x_out(reference.max_pool2d(out, *pool)[0] if pool else out)

    def vjp(grad, x, w, b=None):
        x, w, resolved = prepared(x, w)
        z = reference.conv2d(x, w, b, *resolved)
        dy = layout.x_in(grad)
        if pool:
            dy = reference.max_pool2d_backward(dy, reference.max_pool2d(act(z), *pool)[1],
                                               z.shape)
        dz = dy * reference.activation_grad(activation or "none", z)
        dx, dw, db = reference.conv2d_grads(x, w, dz, *resolved)
        return (layout.x_out(dx), layout.w_out(dw)) + (() if b is None else (db,))

    def sums(call: Shapes) -> Sums:
        """A patch behind each output, the taps of every output channel behind dx, every
        output position behind dw and db (after pooling: every position behind each)."""
        x, w, resolved = prepared(np.broadcast_to(0.0, call[0]), np.broadcast_to(0.0, call[1]))
        kh, kw, c, co = w.shape
        n, oh, ow, _ = conv2d_output_shape(x.shape, w.shape, *resolved)
        if pool:
            return Sums(outputs=(1,), grads=(n * oh * ow,) * 3)
        return Sums(outputs=(kh * kw * c,), grads=(kh * kw * co, n * oh * ow, n * oh * ow))

    defaults = dict(values=normal(), tolerance=CONV_TOLERANCE,
                    gradcheck_tolerance=FINITE_DIFFERENCES, gpu_tolerance=Tolerance(1e-4, 1e-5))
    if len(shapes[0]) == 2:
        name = f"{name} without bias"
    return OpCase(name, fn, ref, vjp=vjp, shapes=shapes, sums=sums, kernel=True,
                  **{**defaults, **fields})


def conv2d_case(strides: Any = 1, padding: Any = "valid", dilation: Any = 1,
                activation: Optional[str] = None, data_format: str = "channels_last",
                shapes: list = (), **fields) -> OpCase:
    """``conv2d(x, w, b, strides, padding, dilation, activation, data_format)``."""
    name = call_name("conv2d", **_non_default(strides, padding, dilation),
                     activation=activation,
                     data_format=None if data_format == "channels_last" else data_format)

    def fn(x, w, b=None):
        return fastdl.conv2d(x, w, b, strides, padding, dilation, activation, data_format)

    def geometry(x_shape: tuple, w_shape: tuple) -> tuple:
        return conv2d_geometry(x_shape, w_shape, strides, padding, dilation)

    layout = NHWC if data_format == "channels_last" else NCHW
    return convolution_case(name, fn, layout, geometry, activation, shapes, **fields)


def conv1d_padding(padding: Any, steps: int, kernel: int, stride: int,
                   dilation: int) -> tuple[int, int]:
    """(before, after) of a 1-D convolution: 'causal' puts all of the kernel's reach before."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return (kernel - 1) * dilation, 0
    if padding == "same":
        return same_padding(steps, kernel, stride, dilation)
    return (padding, padding) if isinstance(padding, int) else tuple(padding)


def conv1d_case(strides: int = 1, padding: Any = "valid", dilation: int = 1,
                data_format: str = "channels_last", shapes: list = (), **fields) -> OpCase:
    """``conv1d(x, w, b, strides, padding, dilation, data_format=data_format)``."""
    name = call_name("conv1d", **_non_default(strides, padding, dilation),
                     data_format=None if data_format == "channels_last" else data_format)

    def fn(x, w, b=None):
        return fastdl.conv1d(x, w, b, strides, padding, dilation, data_format=data_format)

    def geometry(x_shape: tuple, w_shape: tuple) -> tuple:
        pads = conv1d_padding(padding, x_shape[2], w_shape[1], strides, dilation)
        return (1, strides), (0, 0) + pads, (1, dilation)

    layout = STEPS if data_format == "channels_last" else CHANNELS_STEPS
    return convolution_case(name, fn, layout, geometry, None, shapes, **fields)


class ConvPoolGeometry(NamedTuple):
    """A convolution (the fields of :class:`ConvGeometry`) and the max pooling after it."""

    batch: int
    height: int
    width: int
    in_channels: int
    kernel_h: int
    kernel_w: int
    out_channels: int
    strides: Any
    padding: Any
    dilation: Any
    pool_size: Any
    pool_strides: Any
    pool_padding: str

    @property
    def conv(self) -> ConvGeometry:
        return ConvGeometry(*self[:10])


# One input channel (the fused path): an image's first layer, windows apart (rows that no
# window covers), strides and dilation, 'same' pooling, overlapping windows; then several input
# channels: the convolution then the pooling.
CONV_POOL_GEOMETRIES = [ConvPoolGeometry(*row) for row in [
    (3, 12, 12, 1, 3, 3, 32, 1, "valid", 1, 2, None, "valid"),
    (2, 11, 9, 1, 3, 3, 33, 1, "valid", 1, 2, 3, "valid"),
    (3, 11, 10, 1, 3, 2, 20, (2, 1), "same", (1, 2), (2, 3), None, "same"),
    (2, 9, 9, 1, 5, 5, 7, 1, "same", 1, 3, 2, "valid"),
    (2, 12, 12, 3, 3, 3, 8, 1, "same", 1, 2, None, "valid"),
    (2, 14, 14, 16, 3, 3, 16, 1, "valid", 1, 2, None, "same"),
]]
CONV_POOL_GRADCHECKED = {1, 2, 4}


def conv2d_max_pool2d_case(geometry: ConvPoolGeometry, activation: Optional[str],
                           gradcheck: bool) -> OpCase:
    """``conv2d_max_pool2d(x, w, b, ...)``: the convolution and the max pooling after it as one
    operation, against the loops of each; also for a first layer (no input gradient)."""
    strides, padding, dilation = geometry[7:10]
    pool = geometry[10:]
    name = call_name("conv2d_max_pool2d", **_non_default(strides, padding, dilation),
                     activation=activation,
                     pool_size=None if geometry.pool_size == 2 else geometry.pool_size,
                     pool_strides=geometry.pool_strides,
                     pool_padding=None if geometry.pool_padding == "valid" else "same")

    def fn(x, w, b):
        return fastdl.ops.conv2d_max_pool2d(x, w, b, strides, padding, dilation, activation,
                                            *pool)

    def resolve(x_shape: tuple, w_shape: tuple) -> tuple:
        return conv2d_geometry(x_shape, w_shape, strides, padding, dilation)

    window = (as_pair(geometry.pool_size), as_pair(geometry.pool_strides or geometry.pool_size),
              geometry.pool_padding)
    shapes = [geometry.conv.shapes]
    return convolution_case(name, fn, NHWC, resolve, activation, shapes, pool=window,
                            values=(normal(), normal(0.3), normal()),
                            tolerance={FLOAT32: Tolerance(1e-4, 1e-4),
                                       FLOAT64: Tolerance(1e-12, 5e-14)},
                            partial_grads=((1, 2),),
                            gradcheck_shapes=shapes if gradcheck else [])


def _grouped(rows: Iterable[int]) -> dict:
    """Geometry rows by their arguments (strides, padding, dilation), in order."""
    groups: dict = {}
    for i in rows:
        groups.setdefault(CONV2D_GEOMETRIES[i][7:], []).append(i)
    return groups


def conv2d_row_cases(rows: Iterable[int], activation: Optional[str], gradchecked: set,
                     by_arguments: Optional[dict] = None, **extra) -> list:
    """One conv2d case per argument set among the geometry ``rows``, gradchecked at those in
    ``gradchecked``, at one and two threads; ``by_arguments`` maps an argument set (strides,
    padding, dilation) to more of its case's fields."""
    cases = []
    for group in _grouped(rows).values():
        geometries = [CONV2D_GEOMETRIES[i] for i in group]
        arguments = geometries[0][7:]
        cases.append(conv2d_case(*arguments, activation=activation,
                                 shapes=[g.shapes for g in geometries],
                                 gradcheck_shapes=[g.shapes for i, g in zip(group, geometries)
                                                   if i in gradchecked],
                                 threads=(1, 2),
                                 **{**extra, **(by_arguments or {}).get(arguments, {})}))
    return cases


# The GPU's convolution checks: (2, 9, 8, 3) images, 3x3 kernels, 5 output channels.
ON_GPU = [ConvGeometry(2, 9, 8, 3, 3, 3, 5, 1, "valid", 1).shapes]
_BENCH = [BenchShape(ConvGeometry(64, size, size, c, 3, 3, co, 1, "valid", 1).shapes, name)
          for name, size, c, co in BENCH_LAYERS]
_NCHW_IMAGE = ((2, 1, 11, 10), (3, 2, 1, 33), (33,))  # geometry 2's, channels first

CASES = conv2d_row_cases(range(len(CONV2D_GEOMETRIES)), None, GRADCHECKED,
                         by_arguments={(1, "valid", 1): dict(gpu_shapes=ON_GPU, bench=_BENCH)})
# Every activation where each kernel family applies it, for a first layer too; tanh also
# gradchecked.
CASES += conv2d_row_cases(sorted(FUSED), "relu", set(), partial_grads=((1, 2),))
CASES += conv2d_row_cases(sorted(FUSED), "sigmoid", set(), partial_grads=((1, 2),))
CASES += conv2d_row_cases(sorted(FUSED | GRADCHECKED), "tanh", GRADCHECKED,
                          partial_grads=((1, 2),))
CASES += [
    conv2d_case(2, "same", activation="relu", shapes=ON_GPU, gpu_shapes=ON_GPU),
    conv2d_case((2, 1), activation="sigmoid", shapes=ON_GPU, gpu_shapes=ON_GPU),
    conv2d_case((2, 1), "same", (1, 2), data_format="channels_first", shapes=[_NCHW_IMAGE],
                gradcheck_shapes=[]),
    conv2d_case(2, "same", data_format="channels_first", shapes=[_NCHW_IMAGE[:2]]),
]
CASES += [conv1d_case(stride, padding, dilation, shapes=[((3, 17, 4), (3, 4, 6), (6,))],
                      gradcheck_shapes=[])
          for padding in ("valid", "same", "causal", 2, (0, 3))
          for stride, dilation in ((1, 1), (2, 1), (1, 3))]
CASES.append(conv1d_case(padding="causal", dilation=2, data_format="channels_first",
                         shapes=[((2, 4, 9), (3, 4, 5))]))
CASES += [conv2d_max_pool2d_case(geometry, activation, i in CONV_POOL_GRADCHECKED
                                 and activation in (None, "tanh"))
          for i, geometry in enumerate(CONV_POOL_GEOMETRIES)
          for activation in (None, "relu", "sigmoid", "tanh")]
