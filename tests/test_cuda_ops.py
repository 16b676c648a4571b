"""Every operation of the table (fastdl.testing.op_cases) at the shapes it names for the GPU:
GPU tensors against CPU tensors, the forward values and the gradient of each input (the glue
operations run on CuPy, the hot ones on fastdl's CUDA kernels); and what the table cannot
compare between devices: BatchNormalization's layer and dropout's random masks."""
import numpy as np
import pytest

import fastdl
from cuda_support import requires_gpu, to_cpu
from fastdl.testing import op_cases
from fastdl.testing.checks import check_on_gpu
from fastdl.testing.op_cases import OpCase, normal, shapes_id

pytestmark = requires_gpu


@pytest.mark.parametrize("case, shapes", [
    pytest.param(case, shapes, id=f"{case.name}-{shapes_id(shapes)}")
    for case in op_cases.CASES for shapes in case.gpu_shapes])
def test_op_matches_cpu(case, shapes):
    check_on_gpu(case, shapes)


def test_batch_normalization_trains_on_the_gpu():
    layer = fastdl.layers.BatchNormalization()
    case = OpCase("BatchNormalization(training=True)", lambda x: layer(x, training=True),
                  values=normal())
    check_on_gpu(case, ((16, 5),))


def test_dropout_keeps_the_expected_share_and_scales():
    x = fastdl.ones(1 << 16, device="cuda", requires_grad=True)
    y = fastdl.dropout(x, 0.25)
    kept = float((y > 0).sum().item()) / x.size
    assert abs(kept - 0.75) < 0.01
    assert float(y.max().item()) == pytest.approx(1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(to_cpu(x.grad.data), to_cpu(y.data))
