"""2-D pooling on fastdl's kernels: max and average pooling with every window from 1x1 to 3x3
moved by strides 1 to 3 (overlapping, adjacent and apart), rectangular windows, 'valid' and
'same' padding (odd and even totals), channel counts off the vector width, both data formats;
and the global poolings.

>>> [case.name for case in CASES][:2]
['max_pool2d(1, strides=1)', "max_pool2d(1, strides=1, padding='same')"]
"""
from typing import Any, Optional

import numpy as np

import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import (FLOAT32, FLOAT64, BenchShape, OpCase, Tolerance,
                                          as_pair, distinct, normal)

# (batch, height, width): odd and even sizes, a batch of one.
IMAGES = [(2, 7, 8), (1, 5, 5)]
# (pool, stride): overlapping windows when stride < pool, windows apart when stride > pool.
WINDOWS = [(p, s) for p in (1, 2, 3) for s in (1, 2, 3)]
# 1, 3 and 17 are not multiples of the vector width; 37 also fills a block of 4 float vectors.
CHANNELS = [1, 3, 17, 37]
# Rectangular windows and strides; 'same' with odd and even total padding along each axis
# (Keras puts the smaller half before the image): (pool, strides, padding, (height, width)).
RECTANGLES = [
    ((2, 3), (1, 2), "same", (6, 7)),
    ((3, 2), (2, 1), "same", (7, 6)),
    ((3, 1), (1, 3), "valid", (5, 7)),
    ((2, 2), (2, 2), "same", (5, 5)),   # total padding 1: none before, 1 after
    ((3, 3), (1, 1), "same", (4, 4)),   # total padding 2: 1 before, 1 after
    ((4, 4), (1, 1), "same", (5, 6)),   # total padding 3: 1 before, 2 after
    ((3, 3), (3, 3), "valid", (8, 10)),  # trailing rows and columns in no window
    ((2, 2), (3, 3), "valid", (7, 8)),  # gaps between windows
]
# Windows whose gradient is gradchecked, in both data formats: (pool, strides, padding); the
# image they are gradchecked at (NHWC, or NCHW with channels first).
GRADCHECKED = [(2, None, "valid"), (3, 1, "same"), ((2, 3), (1, 2), "same"), (3, 2, "valid")]
GRADCHECK_IMAGE = (2, 5, 6, 3)
# The windows compared on the GPU, by (kind, pool, strides, padding): the image there.
ON_GPU = {("max", 2, None, "valid"): (2, 6, 7, 3), ("avg", 3, 2, "same"): (2, 7, 7, 3)}
# The CNN's pooling layer (2x2 on 26x26x32 feature maps, a batch of 64) and a ResNet-sized one.
BENCH = [BenchShape(((64, 26, 26, 32),)), BenchShape(((64, 56, 56, 64),))]

#: A maximum is exact; sums of shares of the gradient are not.
MAX_TOLERANCE = {FLOAT32: Tolerance(0.0, 0.0), FLOAT64: Tolerance(0.0, 0.0)}
POOL_TOLERANCE = {FLOAT32: Tolerance(1e-5, 1e-6), FLOAT64: Tolerance(1e-12, 1e-14)}

TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)


def _call_name(name: str, pool: Any, strides: Any, padding: str, data_format: str) -> str:
    """``name(pool, ...)`` with the arguments that are not the defaults: a case's name."""
    args = [repr(pool)] + ([] if strides is None else [f"strides={strides!r}"])
    args += [] if padding == "valid" else [f"padding={padding!r}"]
    args += [] if data_format == "channels_last" else [f"data_format={data_format!r}"]
    return f"{name}({', '.join(args)})"


def pool_case(kind: str, pool: Any, strides: Any = None, padding: str = "valid",
              data_format: str = "channels_last", shapes: list = (),
              gradcheck_shapes: Optional[list] = None, **extra) -> OpCase:
    """``{kind}_pool2d(x, pool, strides, padding, data_format)``, its reference the loops over
    each window's positions inside the image (channels_first data transposed around them);
    gradchecked at ``gradcheck_shapes`` only (its gradients are compared with the reference's
    at every shape)."""
    name = f"{kind}_pool2d"
    op = getattr(fastdl, name)
    window = (as_pair(pool), as_pair(pool if strides is None else strides), padding)
    first = data_format == "channels_first"

    def nhwc(a: np.ndarray) -> np.ndarray:
        return a.transpose(TO_NHWC) if first else a

    def back(a: np.ndarray) -> np.ndarray:
        return a.transpose(TO_NCHW) if first else a

    def ref(x: np.ndarray) -> np.ndarray:
        pooled = reference.max_pool2d(nhwc(x), *window)[0] if kind == "max" else \
            reference.avg_pool2d(nhwc(x), *window)
        return back(pooled)

    def vjp(grad: np.ndarray, x: np.ndarray) -> tuple:
        x, grad = nhwc(x), nhwc(grad)
        if kind == "max":
            argmax = reference.max_pool2d(x, *window)[1]
            return (back(reference.max_pool2d_backward(grad, argmax, x.shape)),)
        return (back(reference.avg_pool2d_backward(grad, x.shape, *window)),)

    return OpCase(_call_name(name, pool, strides, padding, data_format),
                  lambda x: op(x, pool, strides, padding, data_format), ref, vjp=vjp,
                  shapes=shapes, values=normal(), gradcheck_shapes=gradcheck_shapes or [],
                  gradcheck_values=distinct,
                  tolerance=MAX_TOLERANCE if kind == "max" else POOL_TOLERANCE,
                  grad_tolerance=POOL_TOLERANCE, kernel=True, **extra)


def _gradchecked(pool: Any, strides: Any, padding: str) -> list:
    """The one image a window is gradchecked at (in either data format), if it is."""
    return [[GRADCHECK_IMAGE]] if (pool, strides, padding) in GRADCHECKED else []


def _on_gpu(kind: str, pool: Any, strides: Any, padding: str) -> list:
    image = ON_GPU.get((kind, pool, strides, padding))
    return [] if image is None else [[image]]


def _kind_cases(kind: str) -> list:
    """Every window of max or average pooling."""
    images = [[(n, h, w, c)] for n, h, w in IMAGES for c in CHANNELS]
    cases = [pool_case(kind, p, s, padding, shapes=images,
                       gradcheck_shapes=_gradchecked(p, s, padding),
                       gpu_shapes=_on_gpu(kind, p, s, padding))
             for p, s in WINDOWS for padding in ("valid", "same")]
    cases += [pool_case(kind, pool, strides, padding, shapes=[[(2, *size, 11)]],
                        gradcheck_shapes=_gradchecked(pool, strides, padding))
              for pool, strides, padding, size in RECTANGLES]
    # Strides left to default to the window, as the CNN's pooling layer calls it.
    cases.append(pool_case(kind, 2, shapes=[[GRADCHECK_IMAGE], [(2, 6, 7, 3)]],
                           gradcheck_shapes=[[GRADCHECK_IMAGE]],
                           gpu_shapes=_on_gpu(kind, 2, None, "valid"), bench=BENCH))
    # Channels first: (batch, channels, height, width).
    cases += [pool_case(kind, pool, strides, padding, "channels_first",
                        shapes=[[GRADCHECK_IMAGE], [(2, 5, 7, 6)]],
                        gradcheck_shapes=_gradchecked(pool, strides, padding))
              for pool, strides, padding in GRADCHECKED + [(3, 2, "same")]]
    return cases


def global_case(kind: str, keepdims: bool, data_format: str, **extra) -> OpCase:
    """``global_{kind}_pool2d(x, keepdims, data_format)``; the gradient of a maximum goes to
    the first one in row-major order."""
    name = f"global_{kind}_pool2d"
    op = getattr(fastdl, name)
    axes = (2, 3) if data_format == "channels_first" else (1, 2)
    reduce = np.max if kind == "max" else np.mean

    def vjp(grad: np.ndarray, x: np.ndarray) -> tuple:
        g = grad if keepdims else np.expand_dims(grad, axes)
        if kind == "avg":
            return (np.broadcast_to(g / (x.shape[axes[0]] * x.shape[axes[1]]), x.shape),)
        image = np.moveaxis(x, axes, (-2, -1))
        flat = image.reshape(image.shape[:-2] + (-1,))
        first = flat.argmax(axis=-1)[..., np.newaxis] == np.arange(flat.shape[-1])
        return (np.moveaxis(first.reshape(image.shape), (-2, -1), axes) * g,)

    call = f"{name}(keepdims={keepdims}, data_format={data_format!r})"
    return OpCase(call, lambda x: op(x, keepdims, data_format),
                  lambda x: reduce(x, axis=axes, keepdims=keepdims), vjp=vjp,
                  shapes=[[(3, 5, 4, 6)], [(2, 4, 5, 3)]], values=normal(),
                  gradcheck_shapes=[[(2, 4, 5, 3)]], gradcheck_values=distinct,
                  tolerance=MAX_TOLERANCE if kind == "max" else {
                      FLOAT32: Tolerance(1e-6, 1e-7), FLOAT64: Tolerance(1e-12, 1e-14)},
                  **extra)


# The global poolings compared on the GPU, by (kind, keepdims, data_format).
GLOBAL_ON_GPU = {("avg", False, "channels_last"), ("max", True, "channels_last")}

CASES = _kind_cases("max") + _kind_cases("avg")
CASES += [global_case(kind, keepdims, data_format,
                      gpu_shapes=[[(2, 5, 4, 3)]] if (kind, keepdims, data_format) in GLOBAL_ON_GPU
                      else [])
          for kind in ("max", "avg") for keepdims in (False, True)
          for data_format in ("channels_last", "channels_first")]
