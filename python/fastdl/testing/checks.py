"""The checks every operation case (:mod:`fastdl.testing.op_cases`) takes: its values and
gradients against the float64 reference, :func:`fastdl.gradcheck`, and the GPU against the
CPU. Each raises ``AssertionError`` (or :class:`fastdl.GradcheckError`) naming the case and what
differs; the tests run them over the table.

>>> from fastdl.testing import op_cases
>>> case = op_cases.case_named("exp")
>>> check_values(case, case.shapes[0], "float32")
>>> check_gradients(case, case.shapes_to_gradcheck[0])
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np

import fastdl
from fastdl.backend import to_device
from fastdl.testing.op_cases.case import FLOAT32, FLOAT64, OpCase, Shapes, Tolerance


def _tuple(out: Any) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def _assert_close(got: np.ndarray, want: np.ndarray, tolerance: Tolerance, what: str) -> None:
    np.testing.assert_allclose(got, want, rtol=tolerance.rtol, atol=tolerance.atol,
                               err_msg=what)


def backward(outputs: Sequence[fastdl.Tensor], cotangents: Sequence[Any]) -> None:
    """Back-propagates ``cotangents[i]`` from ``outputs[i]``, for every output at once."""
    if len(outputs) == 1:
        outputs[0].backward(cotangents[0])
    else:
        sum((out * cotangent).sum() for out, cotangent in zip(outputs, cotangents)).backward()


class _Expected(NamedTuple):
    inputs: list
    outputs: tuple
    cotangents: list
    grads: Optional[tuple]


# The same inputs and reference results serve every ISA and thread count of one case, shapes
# and dtype; the tests run those one after the other, so two entries are enough.
@functools.lru_cache(maxsize=2)
def _expected(case: OpCase, shapes: Shapes, dtype: np.dtype) -> _Expected:
    inputs = case.inputs(shapes, dtype)
    outputs = case.expected(inputs)
    rng = np.random.default_rng(1)
    cotangents = [rng.standard_normal(out.shape).astype(dtype) for out in outputs]
    with_grads = case.vjp is not None and shapes in case.grad_shapes
    grads = case.expected_grads(cotangents, inputs) if with_grads else None
    return _Expected(inputs, outputs, cotangents, grads)


def check_values(case: OpCase, shapes: Shapes, dtype: Any) -> None:
    """The outputs of ``case`` for inputs of ``shapes`` in ``dtype``: Tensors of that dtype and
    the reference's shapes, within the case's tolerance of it, recording the graph when an
    input requires grad, and the same when nothing is recorded. With a reference gradient
    (``vjp``) at these shapes, the input gradients for a random cotangent too (see
    :func:`check_input_gradients`)."""
    dtype = np.dtype(dtype)
    expected = _expected(case, shapes, dtype)
    wrt = case.differentiable_inputs(len(shapes))
    tensors = [fastdl.tensor(a, requires_grad=i in wrt) for i, a in enumerate(expected.inputs)]
    outputs = _tuple(case.fn(*tensors))
    assert len(outputs) == len(expected.outputs), \
        f"{case.name}: {len(outputs)} outputs, the reference has {len(expected.outputs)}"
    for i, (out, want) in enumerate(zip(outputs, expected.outputs)):
        what = f"{case.name} {shapes}, output {i}"
        assert isinstance(out, fastdl.Tensor) and type(out.numpy()) is np.ndarray, what
        assert out.dtype == dtype, f"{what}: dtype {out.dtype}, expected {dtype}"
        assert out.shape == want.shape, f"{what}: shape {out.shape}, expected {want.shape}"
        assert out.requires_grad == bool(wrt), f"{what}: requires_grad {out.requires_grad}"
        _assert_close(out.numpy(), want, case.output_tolerance(shapes, dtype, i), what)
    with fastdl.no_grad():
        unrecorded = _tuple(case.fn(*tensors))
    for i, (out, again) in enumerate(zip(outputs, unrecorded)):
        np.testing.assert_array_equal(
            again.numpy(), out.numpy(),
            err_msg=f"{case.name} {shapes}, output {i}: recorded and unrecorded calls differ")
    if case.vjp is not None and shapes in case.grad_shapes:
        for subset in (wrt,) + case.partial_grads:
            check_input_gradients(case, shapes, dtype, subset)


def check_input_gradients(case: OpCase, shapes: Shapes, dtype: Any,
                          wrt: Sequence[int]) -> None:
    """The gradients of the inputs ``wrt`` (the others given as constants) for a random
    cotangent of each output, against the case's reference gradients; no gradient for the
    others."""
    dtype = np.dtype(dtype)
    expected = _expected(case, shapes, dtype)
    tensors = [fastdl.tensor(a, requires_grad=i in wrt) for i, a in enumerate(expected.inputs)]
    backward(_tuple(case.fn(*tensors)), [c.copy() for c in expected.cotangents])
    for i, (t, want) in enumerate(zip(tensors, expected.grads)):
        what = f"{case.name} {shapes}, gradient of input {i} (of {tuple(wrt)})"
        if i not in wrt:
            assert t.grad is None, f"{what}: a constant got a gradient"
            continue
        assert t.grad is not None, f"{what}: missing"
        assert t.grad.dtype == dtype and t.grad.shape == want.shape, \
            f"{what}: {t.grad.dtype} {t.grad.shape}, expected {dtype} {want.shape}"
        _assert_close(t.grad.numpy(), want, case.input_grad_tolerance(shapes, dtype, i), what)


def check_gradients(case: OpCase, shapes: Shapes) -> None:
    """:func:`fastdl.gradcheck` in float64 of every differentiable input of ``case``, through
    each output alone and, for several outputs, through all of them at once."""
    inputs = case.inputs(shapes, FLOAT64, gradcheck=True)
    wrt = case.differentiable_inputs(len(shapes))
    leaves = [fastdl.tensor(inputs[i], requires_grad=True) for i in wrt]
    constants = {i: fastdl.tensor(a) for i, a in enumerate(inputs) if i not in wrt}

    def call(*variables: fastdl.Tensor) -> tuple:
        given = dict(zip(wrt, variables))
        return _tuple(case.fn(*[given[i] if i in given else constants[i]
                                for i in range(len(inputs))]))

    tolerance = dict(rtol=case.gradcheck_tolerance.rtol, atol=case.gradcheck_tolerance.atol)
    count = len(call(*leaves))
    for k in range(count):
        assert fastdl.gradcheck(lambda *t, k=k: call(*t)[k], leaves, **tolerance)
    if count > 1:
        rng = np.random.default_rng(2)
        weights = [rng.standard_normal(out.shape) for out in call(*leaves)]

        def all_outputs(*variables: fastdl.Tensor) -> fastdl.Tensor:
            return sum((out * w).sum() for out, w in zip(call(*variables), weights))

        assert fastdl.gradcheck(all_outputs, leaves, **tolerance)


def _on_cpu(t: Optional[fastdl.Tensor]) -> Optional[np.ndarray]:
    return None if t is None else np.asarray(to_device(t.data, "cpu"))


def check_on_gpu(case: OpCase, shapes: Shapes) -> None:
    """``case`` on GPU tensors against the same on CPU tensors, in float32: the outputs and the
    gradient of every input for the same random cotangents, within ``gpu_tolerance``."""
    inputs = case.inputs(shapes, FLOAT32)
    wrt = case.differentiable_inputs(len(shapes))
    results = {}
    for device in ("cpu", "cuda"):
        tensors = [fastdl.tensor(a, device=device, requires_grad=i in wrt)
                   for i, a in enumerate(inputs)]
        outputs = _tuple(case.fn(*tensors))
        assert all(out.device == device for out in outputs), f"{case.name} on {device}"
        rng = np.random.default_rng(99)
        cotangents = [fastdl.tensor(rng.standard_normal(out.shape).astype(out.dtype),
                                    device=device) for out in outputs]
        if wrt:
            backward(outputs, cotangents)
        results[device] = ([_on_cpu(out) for out in outputs], [_on_cpu(t.grad) for t in tensors])
    (outputs_cpu, grads_cpu), (outputs_gpu, grads_gpu) = results["cpu"], results["cuda"]
    tolerance = case.gpu_tolerance
    for i, (gpu, cpu) in enumerate(zip(outputs_gpu, outputs_cpu)):
        _assert_close(gpu, cpu, tolerance, f"{case.name} {shapes}: output {i}")
    for i, (gpu, cpu) in enumerate(zip(grads_gpu, grads_cpu)):
        assert (gpu is None) == (cpu is None), f"{case.name} {shapes}: gradient {i}"
        if gpu is not None:
            _assert_close(gpu, cpu, tolerance, f"{case.name} {shapes}: gradient {i}")
