"""2-D max and average pooling on the CPU (``fastdl._C``), on NHWC images. ``pool_size`` and
``strides`` are an int or a pair (``strides=None`` meaning ``pool_size``); ``padding`` is
``'valid'`` or ``'same'`` with Keras's rules. The native entry points check all of it and name
the operation in their errors."""
from __future__ import annotations

import numpy as np

from fastdl import _C

__all__ = ["max_pool2d", "max_pool2d_with_argmax", "max_pool2d_backward", "avg_pool2d",
           "avg_pool2d_backward"]


def _array(x) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(x)


def max_pool2d(x, pool_size=2, strides=None, padding: str = "valid") -> np.ndarray:
    """The largest value of each window (see :func:`fastdl.ops.max_pool2d`).

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> cpu.max_pool2d(x, 2)[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """
    return _C.max_pool2d_forward(_array(x), pool_size, strides, padding, False)[0]


def max_pool2d_with_argmax(x, pool_size=2, strides=None,
                           padding: str = "valid") -> tuple[np.ndarray, np.ndarray]:
    """:func:`max_pool2d` and, per output element, the position ``h * width + w`` of the
    winning input element in its image (int32), as :func:`max_pool2d_backward` takes it.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> y, argmax = cpu.max_pool2d_with_argmax(x, 2)
    >>> y.ravel(), argmax.ravel()
    (array([3.]), array([1], dtype=int32))
    """
    return _C.max_pool2d_forward(_array(x), pool_size, strides, padding, True)


def max_pool2d_backward(grad, argmax, x_shape, pool_size=2, strides=None,
                        padding: str = "valid") -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to its input of shape ``x_shape``: each
    window's ``grad`` goes to the element ``argmax`` names; where windows overlap
    (``strides < pool_size``) the contributions add up.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> y, argmax = cpu.max_pool2d_with_argmax(x, 2)
    >>> cpu.max_pool2d_backward(np.ones_like(y), argmax, x.shape, 2)[0, :, :, 0]
    array([[0., 1.],
           [0., 0.]])
    """
    return _C.max_pool2d_backward(_array(grad), _array(argmax), tuple(x_shape), pool_size,
                                  strides, padding)


def avg_pool2d(x, pool_size=2, strides=None, padding: str = "valid") -> np.ndarray:
    """The mean of each window's positions inside the image (see
    :func:`fastdl.ops.avg_pool2d`).

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> cpu.avg_pool2d(x, 2, padding="same")[0, :, :, 0]
    array([[2. , 3.5],
           [6.5, 8. ]], dtype=float32)
    """
    return _C.avg_pool2d_forward(_array(x), pool_size, strides, padding)


def avg_pool2d_backward(grad, x_shape, pool_size=2, strides=None,
                        padding: str = "valid") -> np.ndarray:
    """Gradient of :func:`avg_pool2d` with respect to its input of shape ``x_shape``: each
    window's ``grad``, divided by the number of input positions it averaged, goes to each of
    them.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> g = np.ones((1, 1, 1, 1))
    >>> cpu.avg_pool2d_backward(g, (1, 2, 3, 1), 2)[0, :, :, 0]
    array([[0.25, 0.25, 0.  ],
           [0.25, 0.25, 0.  ]])
    """
    return _C.avg_pool2d_backward(_array(grad), tuple(x_shape), pool_size, strides, padding)
