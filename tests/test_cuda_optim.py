"""GPU optimizer steps and axpy against the CPU kernels (fastdl._C) on identical inputs: several
steps over several tensors of awkward sizes, every option and clipping mode, non-finite
gradients, and the error messages."""
import math

import numpy as np
import pytest

from cuda_support import assert_matches_cpu, requires_gpu, to_cpu, to_gpu
from fastdl import _C

pytestmark = requires_gpu

# Sizes off the float4 width and the per-block chunk (8192), an empty tensor and a matrix.
SHAPES = [(1,), (3,), (0,), (7,), (4097,), (8193,), (33, 65), (70001,)]
# Gradient scales per step: large then small, so that AMSGrad's running maximum matters.
SCALES = [3.0, 0.3, 1.0, 0.1, 2.0]
TOLERANCES = dict(rtol=1e-5, atol=1e-7)

CONFIGS = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.004, "amsgrad": True}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}),
]
CLIPS = [{}, {"clipvalue": 0.5}, {"clipnorm": 1.0}, {"global_clipnorm": 1.0}]


def _cuda():
    from fastdl.backend import cuda
    return cuda


def _slots(kind, config):
    """The state lists of a step, in its argument order: name -> used."""
    if kind == "sgd":
        return {"momentum": config.get("momentum", 0.0) != 0}
    if kind == "adam":
        return {"m": True, "v": True, "v_hat": config.get("amsgrad", False)}
    return {"velocity": True, "momentum": config.get("momentum", 0.0) > 0,
            "average": config.get("centered", False)}


def _step(lib, kind, config, clip, params, grads, states, t):
    """One step through `lib`: fastdl._C or fastdl.backend.cuda (the same signatures)."""
    wd = config.get("weight_decay")
    clips = (clip.get("clipvalue"), clip.get("clipnorm"), clip.get("global_clipnorm"))
    lists = list(states.values())
    if kind == "sgd":
        lib.sgd_step(params, grads, *lists, 0.1, config.get("momentum", 0.0),
                     config.get("nesterov", False), wd, *clips)
    elif kind == "adam":
        lib.adam_step(params, grads, *lists, t, 0.01, 0.9, 0.999, 1e-7, wd, *clips)
    else:
        lib.rmsprop_step(params, grads, *lists, 0.01, 0.9, config.get("momentum", 0.0), 1e-7,
                         wd, *clips)


def _compare_steps(kind, config, clip, shapes, rng, device_array=to_gpu, steps=len(SCALES)):
    """Runs `steps` steps on both devices from the same parameters and gradients and checks
    that parameters and state agree after each."""
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    states = {name: [np.zeros(s, np.float32) for s in shapes] if used else None
              for name, used in _slots(kind, config).items()}
    gpu_params = [device_array(p) for p in params]
    gpu_states = {name: None if arrays is None else [device_array(a) for a in arrays]
                  for name, arrays in states.items()}
    for t in range(1, steps + 1):
        grads = [(rng.standard_normal(s) * SCALES[(t - 1) % len(SCALES)]).astype(np.float32)
                 for s in shapes]
        gpu_grads = [device_array(g) for g in grads]
        _step(_C, kind, config, clip, params, grads, states, t)
        _step(_cuda(), kind, config, clip, gpu_params, gpu_grads, gpu_states, t)
        for got, expected in zip(gpu_params, params):
            assert_matches_cpu(got, expected, **TOLERANCES)
        for name, arrays in states.items():
            for got, expected in zip(gpu_states[name] or [], arrays or []):
                assert_matches_cpu(got, expected, **TOLERANCES)
        for got, expected in zip(gpu_grads, grads):  # gradients are only read
            np.testing.assert_array_equal(to_cpu(got), expected)


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: next(iter(c), "noclip"))
@pytest.mark.parametrize("kind, config", CONFIGS,
                         ids=[f"{k}-{'-'.join(c) or 'plain'}" for k, c in CONFIGS])
def test_steps_match_cpu(kind, config, clip):
    _compare_steps(kind, config, clip, SHAPES, np.random.default_rng(42))


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: next(iter(c), "noclip"))
def test_many_tensors_span_several_launches(clip):
    # 64 tensors a launch: the per-tensor and global norms must cross launches.
    rng = np.random.default_rng(3)
    shapes = [(int(n),) for n in rng.integers(0, 300, 150)] + [(20000,)]
    _compare_steps("adam", {"amsgrad": True}, clip, shapes, rng, steps=3)
    _compare_steps("sgd", {"momentum": 0.9}, clip, shapes, rng, steps=2)


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: next(iter(c), "noclip"))
def test_unaligned_tensors_take_the_scalar_path(clip):
    import cupy

    def unaligned(a):
        buffer = cupy.empty(a.size + 1, cupy.float32)
        view = buffer[1:].reshape(a.shape)  # contiguous, 4 bytes past a 16-byte start
        view[...] = cupy.asarray(a)
        return view

    _compare_steps("rmsprop", {"centered": True, "momentum": 0.5}, clip, SHAPES,
                   np.random.default_rng(9), device_array=unaligned, steps=3)


def _sgd_result(grads, **clip):
    """Both devices' parameters after one SGD(lr=1) step from zeros: minus the clipped
    gradients."""
    grads = [np.asarray(g, np.float32) for g in grads]
    cpu_params = [np.zeros_like(g) for g in grads]
    gpu_params = [to_gpu(p) for p in cpu_params]
    clips = (clip.get("clipvalue"), clip.get("clipnorm"), clip.get("global_clipnorm"))
    _C.sgd_step(cpu_params, grads, None, 1.0, 0.0, False, None, *clips)
    _cuda().sgd_step(gpu_params, [to_gpu(g) for g in grads], None, 1.0, 0.0, False, None, *clips)
    return [-to_cpu(p) for p in gpu_params], [-p for p in cpu_params]


def test_infinite_norms_clip_to_the_direction_of_the_infinite_elements():
    g = np.array([1.0, np.inf, -2.0, -np.inf, np.inf, 0.0])
    big = np.ones(40000)
    big[12345] = -np.inf
    for grads, clip in (([g], {"clipnorm": 3.0}),
                        ([g, big, np.ones(3)], {"global_clipnorm": 2.0}),
                        ([g, np.full(3, 10.0)], {"clipnorm": 3.0})):
        got, expected = _sgd_result(grads, **clip)
        for a, b in zip(got, expected):
            assert np.isfinite(a).all()
            np.testing.assert_allclose(a, b, rtol=1e-6)
    (clipped,), _ = _sgd_result([g], clipnorm=3.0)
    np.testing.assert_allclose(clipped, np.array([0, 1, 0, -1, 1, 0]) * 3.0 / math.sqrt(3),
                               rtol=1e-6)


def test_clipvalue_clamps_infinities_and_keeps_nan():
    g = np.array([np.inf, -np.inf, np.nan, 0.25, -3.0, 3.0, 1.0, 2.0, -0.5])
    (got,), (expected,) = _sgd_result([g], clipvalue=1.0)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, [1, -1, np.nan, 0.25, -1, 1, 1, 1, -0.5])


def test_nan_gradients_propagate_as_on_the_cpu():
    g = np.array([1.0, np.nan, 2.0])
    for clip in ({}, {"clipnorm": 1.0}, {"global_clipnorm": 1.0}):
        got, expected = _sgd_result([g, np.ones(2)], **clip)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-6)  # NaN where the CPU has NaN
    got, _ = _sgd_result([g, np.ones(2)], global_clipnorm=1.0)
    assert np.isnan(got[0]).all() and np.isnan(got[1]).all()


def test_norms_whose_squares_overflow_float32_clip_as_usual():
    g = np.full(10, 1e20, np.float32)
    g[3] = -3e20
    (got,), (expected,) = _sgd_result([g], clipnorm=1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(got, g / np.linalg.norm(g.astype(np.float64)), rtol=1e-5)


def test_infinite_limits_do_not_clip():
    g = np.array([1.0, -np.inf, np.inf])
    for clip in ({"clipnorm": math.inf}, {"global_clipnorm": math.inf}, {"clipvalue": math.inf}):
        (got,), _ = _sgd_result([g], **clip)
        np.testing.assert_array_equal(got, g.astype(np.float32))


def test_gradients_of_another_dtype_or_layout_are_converted():
    import cupy
    rng = np.random.default_rng(1)
    p = rng.standard_normal(50).astype(np.float32)
    g64 = rng.standard_normal(100)
    cpu_p = [p.copy()]
    _C.adam_step(cpu_p, [g64[::2]], [np.zeros(50, np.float32)], [np.zeros(50, np.float32)],
                 None, 1, 0.1, 0.9, 0.999, 1e-7, None, None, 1.0, None)
    gpu_p = [to_gpu(p)]
    strided = cupy.asarray(g64)[::2]
    _cuda().adam_step(gpu_p, [strided], [cupy.zeros(50, cupy.float32)],
                      [cupy.zeros(50, cupy.float32)], None, 1, 0.1, 0.9, 0.999, 1e-7, None,
                      None, 1.0, None)
    assert_matches_cpu(gpu_p[0], cpu_p[0], **TOLERANCES)
    np.testing.assert_array_equal(to_cpu(strided), g64[::2])


@pytest.mark.parametrize("n", [1, 3, 4, 1023, 1 << 20])
def test_axpy_matches_cpu(n):
    import cupy
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    gy = to_gpu(y)
    _cuda().axpy(-0.5, to_gpu(x), gy)
    expected = y.copy()
    _C.axpy(-0.5, x, expected)
    np.testing.assert_array_equal(to_cpu(gy), expected)
    # Unaligned views, and x the same array as y.
    gx = cupy.asarray(np.concatenate([[0.0], x]).astype(np.float32))[1:]
    gy = cupy.asarray(np.concatenate([[0.0], y]).astype(np.float32))[1:]
    _cuda().axpy(-0.5, gx, gy)
    np.testing.assert_array_equal(to_cpu(gy), expected)
    _cuda().axpy(2.0, gy, gy)
    np.testing.assert_array_equal(to_cpu(gy), expected * np.float32(3))


def test_bad_inputs_raise_naming_the_step():
    import cupy
    p, g = [cupy.zeros(3, cupy.float32)], [cupy.ones(3, cupy.float32)]
    m = [cupy.zeros(3, cupy.float32)]
    args = (1, 0.1, 0.9, 0.999, 1e-7, None, None, None, None)
    with pytest.raises(TypeError, match=r"adam: 'v' state 0 has dtype float64"):
        _cuda().adam_step(p, g, m, [cupy.zeros(3, cupy.float64)], None, *args)
    with pytest.raises(ValueError, match="adam: got 1 parameters but 2 gradients"):
        _cuda().adam_step(p, g * 2, m, m, None, *args)
    with pytest.raises(ValueError, match="'m' state arrays"):
        _cuda().adam_step(p, g, [], m, None, *args)
    with pytest.raises(TypeError, match="params must be a list or tuple"):
        _cuda().adam_step(p[0], g, m, m, None, *args)
    with pytest.raises(ValueError, match="only one of clipvalue, clipnorm"):
        _cuda().adam_step(p, g, m, m, None, 1, 0.1, 0.9, 0.999, 1e-7, None, 1.0, 1.0, None)
    with pytest.raises(ValueError, match="step must be >= 1"):
        _cuda().adam_step(p, g, m, m, None, 0, *args[1:])
    with pytest.raises(ValueError, match="sgd: momentums must be a list"):
        _cuda().sgd_step(p, g, None, 0.1, 0.9, False, None, None, None, None)
    with pytest.raises(TypeError, match="sgd: parameter 0 has dtype float64"):
        _cuda().sgd_step([cupy.zeros(3, cupy.float64)], g, None, 0.1, 0.0, False, None, None,
                         None, None)
    with pytest.raises(TypeError, match="sgd: parameter 0 must be an array on the GPU"):
        _cuda().sgd_step([np.zeros(3, np.float32)], g, None, 0.1, 0.0, False, None, None,
                         None, None)
    with pytest.raises(ValueError, match=r"rmsprop: gradient 1 has shape \(4,\) but parameter 1 "
                                         r"has shape \(3,\)"):
        _cuda().rmsprop_step(p * 2, [g[0], cupy.ones(4, cupy.float32)], m * 2, None, None, 0.1,
                             0.9, 0.0, 1e-7, None, None, None, None)
    # Nothing was updated: every list is validated before any launch.
    np.testing.assert_array_equal(to_cpu(p[0]), 0)
    with pytest.raises(ValueError, match=r"axpy: x has shape \(3,\) but y has shape \(4,\)"):
        _cuda().axpy(1.0, p[0], cupy.zeros(4, cupy.float32))
    with pytest.raises(TypeError, match="axpy: y has dtype float64"):
        _cuda().axpy(1.0, p[0], cupy.zeros(3, cupy.float64))
