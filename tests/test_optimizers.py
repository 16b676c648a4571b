"""The optimizers: every option over several steps against float64 NumPy references of Keras 3's
formulas (written out below), against torch.optim where the formulas coincide, clipping with
infinite and NaN gradients, the Python layer's caching and errors, and training runs."""
import math

import numpy as np
import pytest

import fastdl
from fastdl import _C, optimizers
from fastdl.optimizers import SGD, Adam, AdamW, RMSprop, schedules

# Awkward sizes, and one tensor large enough that two threads split the work (the split then
# falls inside it, and the per-variable norms are summed over both threads).
SHAPES = [(1,), (7,), (17,), (3, 5), (33, 40), (190, 181), (10,)]


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    previous = fastdl.get_num_threads()
    fastdl.set_num_threads(request.param)
    yield request.param
    fastdl.set_num_threads(previous)


def make_params(rng, dtype, shapes=SHAPES):
    return [fastdl.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in shapes]


def make_grads(rng, params, scale=1.0):
    return [(rng.standard_normal(p.shape) * scale).astype(p.dtype) for p in params]


# ---------------------------------------------------------------- float64 references (Keras 3)

def f64(x):
    return np.asarray(x, np.float64)


def ref_clip_by_norm(grads, limit):
    """Gradients sharing one norm limit: Keras's g * limit / max(norm, limit), with fastdl's
    handling of infinite norms (the direction of the infinite elements) and NaN (NaN)."""
    sq = sum(float(np.sum(g * g)) for g in grads)
    if math.isnan(sq):
        return [np.full_like(g, np.nan) for g in grads]
    if math.isinf(sq):
        k = sum(int(np.isinf(g).sum()) for g in grads)
        if k:
            return [np.where(np.isinf(g), np.sign(g), 0.0) * (limit / math.sqrt(k))
                    for g in grads]
        m = max(float(np.max(np.abs(g))) for g in grads)
        norm = m * math.sqrt(sum(float(np.sum((g / m) ** 2)) for g in grads))
    else:
        norm = math.sqrt(sq)
    return [g * (limit / max(norm, limit)) for g in grads]


def ref_clip(grads, clipvalue=None, clipnorm=None, global_clipnorm=None):
    grads = [f64(g) for g in grads]
    if clipnorm:
        return [ref_clip_by_norm([g], clipnorm)[0] for g in grads]
    if global_clipnorm:
        return ref_clip_by_norm(grads, global_clipnorm)
    if clipvalue:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


class Reference:
    """Keras 3's update formulas in float64 for one optimizer config (the same keyword
    arguments as the fastdl class)."""

    def __init__(self, cls, **config):
        self.cls, self.config = cls, config
        defaults = {
            SGD: {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
            Adam: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                   "amsgrad": False},
            AdamW: {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9,
                    "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
            RMSprop: {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                      "centered": False},
        }[cls]
        self.h = {**defaults, **config}
        self.iterations = 0
        self.state = {}  # id(variable) -> dict of float64 arrays

    def lr(self):
        lr = self.h["learning_rate"]
        return lr(self.iterations) if callable(lr) else lr

    def step(self, params, grads):
        """params: float64 arrays updated in place; grads: arrays or None (skipped)."""
        pairs = [(p, g) for p, g in zip(params, grads) if g is not None]
        clipped = ref_clip([g for _, g in pairs], self.h.get("clipvalue"),
                           self.h.get("clipnorm"), self.h.get("global_clipnorm"))
        lr, h = self.lr(), self.h
        t = self.iterations + 1
        for (p, _), g in zip(pairs, clipped):
            s = self.state.setdefault(id(p), {})
            zeros = lambda p=p: np.zeros_like(p)
            if h.get("weight_decay"):
                p[...] = p - p * h["weight_decay"] * lr
            if self.cls is SGD:
                if h["momentum"] != 0:
                    m = s.setdefault("momentum", zeros())
                    m[...] = h["momentum"] * m - lr * g
                    if h["nesterov"]:
                        p[...] = p + h["momentum"] * m - lr * g
                    else:
                        p[...] = p + m
                else:
                    p[...] = p - lr * g
            elif self.cls in (Adam, AdamW):
                m, v = s.setdefault("momentum", zeros()), s.setdefault("velocity", zeros())
                alpha = lr * math.sqrt(1 - h["beta_2"] ** t) / (1 - h["beta_1"] ** t)
                m[...] = m + (g - m) * (1 - h["beta_1"])
                v[...] = v + (g * g - v) * (1 - h["beta_2"])
                if h["amsgrad"]:
                    v_hat = s.setdefault("velocity_hat", zeros())
                    v_hat[...] = np.maximum(v_hat, v)
                    v = v_hat
                p[...] = p - m * alpha / (np.sqrt(v) + h["epsilon"])
            else:
                rho, eps = h["rho"], h["epsilon"]
                v = s.setdefault("velocity", zeros())
                v[...] = rho * v + (1 - rho) * g * g
                if h["centered"]:
                    a = s.setdefault("average_gradient", zeros())
                    a[...] = rho * a + (1 - rho) * g
                    denominator = v - a * a + eps
                else:
                    denominator = v + eps
                increment = lr * g / np.sqrt(denominator)
                if h["momentum"] > 0:
                    mom = s.setdefault("momentum", zeros())
                    mom[...] = h["momentum"] * mom + increment
                    p[...] = p - mom
                else:
                    p[...] = p - increment
        self.iterations += 1


def tolerances(dtype):
    return {"rtol": 2e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-13}


def run_against_reference(cls, config, dtype, rng, steps=4, shapes=SHAPES, grad_scale=1.0):
    params = make_params(rng, dtype, shapes)
    ref_params = [f64(p.data).copy() for p in params]
    opt, ref = cls(**config), Reference(cls, **config)
    for _ in range(steps):
        grads = make_grads(rng, params, grad_scale)
        opt.apply_gradients(zip(grads, params))
        ref.step(ref_params, grads)
        for p, r in zip(params, ref_params):
            assert p.data.dtype == dtype
            np.testing.assert_allclose(p.data, r, **tolerances(dtype))
    # The state arrays too, under Keras's names.
    for p, r in zip(params, ref_params):
        for name, expected in ref.state[id(r)].items():
            np.testing.assert_allclose(opt.get_slot(p, name), expected, **tolerances(dtype))
    assert opt.iterations == steps
    return opt, params


CONFIGS = [
    (SGD, {"learning_rate": 0.1}),
    (SGD, {"learning_rate": 0.05, "momentum": 0.9}),
    (SGD, {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    (SGD, {"learning_rate": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    (Adam, {"learning_rate": 0.01}),
    (Adam, {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3,
            "amsgrad": True}),
    (Adam, {"learning_rate": 0.01, "weight_decay": 0.05}),
    (AdamW, {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (RMSprop, {"learning_rate": 0.01}),
    (RMSprop, {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.9, "epsilon": 1e-4}),
    (RMSprop, {"learning_rate": 0.01, "centered": True}),
    (RMSprop, {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
]


def config_id(case):
    cls, config = case
    return cls.__name__ + "-" + ",".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CONFIGS, ids=[config_id(c) for c in CONFIGS])
def test_matches_keras_formulas(case, dtype, isa, threads, rng):
    cls, config = case
    run_against_reference(cls, config, dtype, rng)


CLIPS = [{"clipvalue": 0.5}, {"clipnorm": 1.5}, {"global_clipnorm": 4.0}]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: next(iter(c)))
@pytest.mark.parametrize("cls,config", [(SGD, {"learning_rate": 0.1, "momentum": 0.9}),
                                        (Adam, {"learning_rate": 0.01}),
                                        (RMSprop, {"learning_rate": 0.01, "centered": True})],
                         ids=["sgd", "adam", "rmsprop"])
def test_clipping_matches_keras(cls, config, clip, dtype, isa, threads, rng):
    # Gradients large enough that every tensor but the 1-element one is clipped by each mode.
    run_against_reference(cls, {**config, **clip}, dtype, rng, grad_scale=3.0)


def test_clipping_that_does_not_bind_changes_nothing(rng):
    """A limit above every norm, and None/0/inf limits, give the unclipped step exactly."""
    grads = make_grads(rng, make_params(rng, np.float32))
    results = []
    for clip in ({}, {"clipnorm": 1e6}, {"global_clipnorm": 1e6}, {"clipvalue": 1e6},
                 {"clipnorm": math.inf}, {"global_clipnorm": math.inf},
                 {"clipvalue": math.inf}, {"clipnorm": 0.0}, {"clipvalue": None}):
        params = make_params(np.random.default_rng(7), np.float32)
        Adam(learning_rate=0.1, **clip).apply_gradients(zip(grads, params))
        results.append([p.data for p in params])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- non-finite gradients

def sgd_step_result(grads, dtype=np.float64, **clip):
    """Parameters after one SGD(lr=1) step from zeros: minus the clipped gradients."""
    params = [fastdl.tensor(np.zeros(np.shape(g), dtype), requires_grad=True) for g in grads]
    SGD(learning_rate=1.0, **clip).apply_gradients(
        zip([np.asarray(g, dtype) for g in grads], params))
    return [-p.data for p in params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_infinite_norm_clips_to_the_direction_of_the_infinite_elements(dtype, isa, threads):
    g = np.array([1.0, np.inf, -2.0, -np.inf, np.inf, 0.0])
    (clipped,) = sgd_step_result([g], dtype, clipnorm=3.0)
    expected = np.array([0.0, 1.0, 0.0, -1.0, 1.0, 0.0]) * 3.0 / math.sqrt(3)
    np.testing.assert_allclose(clipped, expected, rtol=1e-6)
    assert np.isfinite(clipped).all()
    # Global: the infinite elements of all gradients share the norm; finite gradients become 0.
    big = np.ones(40000)
    big[12345] = -np.inf
    a, b, c = sgd_step_result([g, big, np.ones(3)], dtype, global_clipnorm=2.0)
    scale = 2.0 / math.sqrt(4)
    np.testing.assert_allclose(a, np.array([0, 1, 0, -1, 1, 0]) * scale, rtol=1e-6)
    expected_big = np.zeros(40000)
    expected_big[12345] = -scale
    np.testing.assert_allclose(b, expected_big, rtol=1e-6)
    np.testing.assert_array_equal(c, np.zeros(3))
    # clipnorm only touches the variable with the infinite norm.
    a, c = sgd_step_result([g, np.full(3, 10.0)], dtype, clipnorm=3.0)
    np.testing.assert_allclose(c, np.full(3, 10.0) * 3.0 / math.sqrt(300), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_clipvalue_clamps_infinities_and_keeps_nan(dtype, isa):
    g = np.array([np.inf, -np.inf, np.nan, 0.25, -3.0, 3.0, 1.0, 2.0, -0.5])
    (clipped,) = sgd_step_result([g], dtype, clipvalue=1.0)
    np.testing.assert_array_equal(clipped, [1, -1, np.nan, 0.25, -1, 1, 1, 1, -0.5])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_nan_gradients_propagate(dtype, isa, threads):
    g = np.array([1.0, np.nan, 2.0])
    # No clipping: only the NaN element.
    a, b = sgd_step_result([g, np.ones(2)], dtype)
    np.testing.assert_array_equal(a, [1.0, np.nan, 2.0])
    np.testing.assert_array_equal(b, [1.0, 1.0])
    # clipnorm: the variable whose norm is NaN, all of it; the others as usual.
    a, b = sgd_step_result([g, np.ones(2)], dtype, clipnorm=1.0)
    assert np.isnan(a).all()
    np.testing.assert_allclose(b, np.ones(2) / math.sqrt(2), rtol=1e-6)
    # global_clipnorm: everything (the joint norm is NaN), as in Keras.
    a, b = sgd_step_result([g, np.ones(2)], dtype, global_clipnorm=1.0)
    assert np.isnan(a).all() and np.isnan(b).all()


def test_norm_that_overflows_with_finite_elements_is_recomputed(isa):
    g = np.full(10, 1e20, np.float32)  # squares overflow float32, not the norm itself
    g[3] = -3e20
    (clipped,) = sgd_step_result([g], np.float32, clipnorm=1.0)
    expected = g.astype(np.float64) / np.linalg.norm(g.astype(np.float64))
    np.testing.assert_allclose(clipped, expected, rtol=1e-5)
    g64 = np.full(5, 1e200)  # the same in float64
    (clipped,) = sgd_step_result([g64], np.float64, global_clipnorm=2.0)
    np.testing.assert_allclose(clipped, np.full(5, 2.0 / math.sqrt(5)), rtol=1e-12)


def test_no_clipping_never_makes_nan_from_infinite_limits(isa):
    g = np.array([1.0, -np.inf, np.inf])
    for clip in ({"clipnorm": math.inf}, {"global_clipnorm": math.inf},
                 {"clipvalue": math.inf}):
        (out,) = sgd_step_result([g], np.float64, **clip)
        np.testing.assert_array_equal(out, g)


# ---------------------------------------------------------------- against torch.optim

def torch_pairs(cls):
    """(fastdl config, torch optimizer factory) pairs whose updates are mathematically equal:
    Keras's and torch's epsilon differ in place, so those cases use epsilon = 0."""
    if cls == "sgd":
        return [(SGD, {"learning_rate": 0.1, "momentum": 0.9},
                 lambda t, ps: t.optim.SGD(ps, lr=0.1, momentum=0.9)),
                (SGD, {"learning_rate": 0.1, "momentum": 0.8, "nesterov": True},
                 lambda t, ps: t.optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True)),
                (SGD, {"learning_rate": 0.1},
                 lambda t, ps: t.optim.SGD(ps, lr=0.1))]
    if cls == "adam":
        return [(Adam, {"learning_rate": 0.01, "epsilon": 0.0},
                 lambda t, ps: t.optim.Adam(ps, lr=0.01, eps=0.0)),
                (Adam, {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.0,
                        "amsgrad": True},
                 lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.5, 0.9), eps=0.0,
                                            amsgrad=True)),
                (AdamW, {"learning_rate": 0.01, "weight_decay": 0.1, "epsilon": 0.0},
                 lambda t, ps: t.optim.AdamW(ps, lr=0.01, weight_decay=0.1, eps=0.0))]
    return [(RMSprop, {"learning_rate": 0.01, "rho": 0.9, "epsilon": 0.0},
             lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.0)),
            (RMSprop, {"learning_rate": 0.01, "rho": 0.8, "epsilon": 0.0, "centered": True,
                       "momentum": 0.7},
             lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.8, eps=0.0, centered=True,
                                           momentum=0.7))]


@pytest.mark.parametrize("kind", ["sgd", "adam", "rmsprop"])
def test_matches_torch_where_the_formulas_coincide(kind, rng):
    torch = pytest.importorskip("torch")
    for cls, config, make_torch in torch_pairs(kind):
        params = make_params(rng, np.float64, [(5, 3), (7,), (1,)])
        tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
        opt, topt = cls(**config), make_torch(torch, tparams)
        for _ in range(5):
            grads = make_grads(rng, params)
            opt.apply_gradients(zip(grads, params))
            for tp, g in zip(tparams, grads):
                tp.grad = torch.tensor(g)
            topt.step()
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{cls.__name__} {config}")


# ---------------------------------------------------------------- schedules and learning rates

def test_schedules_follow_keras_formulas():
    e = schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
    assert e(4) == pytest.approx(0.1 * 0.5 ** (4 / 3))
    assert schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True)(5) == pytest.approx(0.05)
    i = schedules.InverseTimeDecay(0.2, decay_steps=2, decay_rate=0.5)
    assert i(3) == pytest.approx(0.2 / (1 + 0.5 * 1.5))
    assert schedules.InverseTimeDecay(0.2, 2, 0.5, staircase=True)(3) == pytest.approx(0.2 / 1.5)
    p = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.25])
    assert [p(s) for s in (0, 10, 11, 20, 21, 10**6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    c = schedules.CosineDecay(2.0, decay_steps=8, alpha=0.25)
    for s in (0, 3, 8, 100):
        expected = 2.0 * (0.75 * 0.5 * (1 + math.cos(math.pi * min(s, 8) / 8)) + 0.25)
        assert c(s) == pytest.approx(expected)
    with pytest.raises(ValueError, match="one element fewer"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="InverseTimeDecay: decay_steps must be > 0"):
        schedules.InverseTimeDecay(0.1, -1, 0.5)


def test_rate_decays_are_named_as_keras_names_them():
    for cls in (schedules.ExponentialDecay, schedules.InverseTimeDecay):
        assert cls(0.1, 2, 0.5).get_config() == {
            "initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5,
            "staircase": False, "name": cls.__name__}
        assert cls(0.1, 2, 0.5, name="mine").name == "mine"


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5),
    schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01]),
    schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=1.0, staircase=True),
    schedules.CosineDecay(0.1, decay_steps=4, alpha=0.1),
    lambda step: 0.1 / (1 + step),
], ids=["exponential", "piecewise", "inverse_time", "cosine", "callable"])
def test_optimizer_uses_the_schedule_at_each_step(schedule, rng):
    """The rate of step k (0-based) is schedule(k), as in Keras; weight decay uses it too."""
    config = {"learning_rate": schedule, "momentum": 0.9, "weight_decay": 0.01}
    opt, _ = run_against_reference(SGD, config, np.float64, rng, steps=6,
                                   shapes=[(4, 3), (5,)])
    assert opt.learning_rate == pytest.approx(schedule(6))


def test_learning_rate_property_and_setter():
    opt = Adam(learning_rate=0.01)
    assert opt.learning_rate == 0.01 and isinstance(opt.learning_rate, float)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    calls = []
    opt.learning_rate = lambda: calls.append(1) or 0.25  # Keras's no-argument callable
    assert opt.learning_rate == 0.25 and calls
    scheduled = SGD(learning_rate=schedules.ExponentialDecay(1.0, 1, 0.5))
    w = fastdl.tensor(np.zeros(2), requires_grad=True)
    scheduled.apply_gradients([(np.ones(2), w)])
    assert scheduled.learning_rate == 0.5
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        scheduled.learning_rate = 0.1
    scheduled.learning_rate = schedules.ExponentialDecay(2.0, 1, 0.5)  # another schedule: fine
    assert scheduled.learning_rate == 1.0


# ---------------------------------------------------------------- the Python layer

def test_none_gradients_skip_their_variables(rng):
    a, b = make_params(rng, np.float64, [(3, 2), (4,)])
    b0 = b.data.copy()
    opt = Adam(learning_rate=0.1)
    ref_a, ref_b = f64(a.data).copy(), f64(b.data).copy()
    ref = Reference(Adam, learning_rate=0.1)
    g1 = make_grads(rng, [a, b])
    with pytest.warns(UserWarning, match=r"Adam: no gradients for variables \['<Tensor>'\]"):
        opt.apply_gradients([(g1[0], a), (None, b)])
    ref.step([ref_a, ref_b], [g1[0], None])
    np.testing.assert_array_equal(b.data, b0)
    with pytest.raises(KeyError):
        opt.get_slot(b, "momentum")  # no state for a variable never updated
    g2 = make_grads(rng, [a, b])
    opt.apply_gradients([(g2[0], a), (g2[1], b)])  # b's first update: bias correction t = 2
    ref.step([ref_a, ref_b], g2)
    np.testing.assert_allclose(a.data, ref_a, rtol=1e-12)
    np.testing.assert_allclose(b.data, ref_b, rtol=1e-12)
    assert opt.iterations == 2
    with pytest.raises(ValueError, match="no gradients provided"):
        opt.apply_gradients([(None, a), (None, b)])
    assert opt.apply_gradients([]) == 2  # nothing to do, not a step
    assert opt.iterations == 2


@pytest.mark.parametrize("clip", [{}, {"clipnorm": 0.1}, {"global_clipnorm": 0.1},
                                  {"clipvalue": 0.1}], ids=["none", "norm", "global", "value"])
def test_gradients_are_not_modified(clip, rng, threads):
    params = make_params(rng, np.float32)
    grads = make_grads(rng, params, 5.0)
    grads[2][3] = np.inf
    copies = [g.copy() for g in grads]
    tensors = [fastdl.tensor(g) for g in grads]  # Tensor gradients work too
    SGD(learning_rate=0.1, momentum=0.5, **clip).apply_gradients(zip(tensors, params))
    for g, c in zip(grads, copies):
        np.testing.assert_array_equal(g, c)


@pytest.mark.parametrize("clip", [{"clipnorm": 0.5}, {"global_clipnorm": 0.5}],
                         ids=["norm", "global"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_are_bitwise_the_same_for_any_thread_count(clip, dtype, rng, set_threads):
    """The MLP's parameters (101,770): the work is cut into pieces whatever the thread count,
    and the gradients' norms add up the same pieces' sums in the same order on 1 or 2
    threads."""
    shapes = [(784, 128), (128,), (128, 10), (10,)]
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    results = []
    for threads in (1, 2):
        set_threads(threads)
        params = [fastdl.tensor(p.copy(), requires_grad=True) for p in start]
        opt = Adam(learning_rate=0.1, **clip)
        for _ in range(2):
            opt.apply_gradients(zip(grads, params))
        results.append([p.data for p in params])
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_gradients_of_another_dtype_or_layout_are_converted(rng, isa):
    """Keras casts gradients to the variable's dtype; strided ones are copied, not refused."""
    params = make_params(rng, np.float32, [(4, 6), (5,)])
    twins = [fastdl.tensor(p.data.copy(), requires_grad=True) for p in params]
    big = rng.standard_normal((6, 4))
    grads = [big.T, rng.standard_normal(5)]  # float64, the first one not C-contiguous
    Adam(learning_rate=0.1).apply_gradients(zip(grads, params))
    Adam(learning_rate=0.1).apply_gradients(
        zip([np.ascontiguousarray(g, np.float32) for g in grads], twins))
    for p, t in zip(params, twins):
        np.testing.assert_allclose(p.data, t.data, rtol=1e-6)


def test_updates_in_place_and_reuses_cached_lists(rng):
    params = make_params(rng, np.float32, [(3, 3), (3,)])
    alias = params[0].data  # another reference to the array
    opt = RMSprop(learning_rate=0.1, momentum=0.5)
    opt.apply_gradients(zip(make_grads(rng, params), params))
    plan = opt._plan
    assert alias is params[0].data and not np.all(alias == 0)
    before = alias.copy()
    opt.apply_gradients(zip(make_grads(rng, params), params))
    assert opt._plan is plan  # same variables: nothing rebuilt
    assert not np.array_equal(alias, before)
    velocity = opt.get_slot(params[0], "velocity")
    # A variable whose array was replaced: the new array is updated, its state kept.
    params[0].data = params[0].data.copy()
    opt.apply_gradients(zip(make_grads(rng, params), params))
    assert opt._plan is not plan and opt._plan.params[0] is params[0].data
    assert opt.get_slot(params[0], "velocity") is velocity
    # Options that need another state create it on the next step.
    opt.centered = True
    opt.apply_gradients(zip(make_grads(rng, params), params))
    assert opt.get_slot(params[1], "average_gradient").any()
    assert len(opt.variables()) == 3 * 2
    opt.build(params)  # already built: keeps everything
    assert opt.get_slot(params[0], "velocity") is velocity


@pytest.mark.parametrize("cls,config", [
    (AdamW, {"learning_rate": 0.01, "weight_decay": 0.1, "global_clipnorm": 1.0}),
    (SGD, {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    (RMSprop, {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
], ids=["adamw", "sgd", "rmsprop"])
def test_two_optimizers_on_two_sub_models_the_gan_pattern(cls, config, rng):
    """Each optimizer updates the variables it is given, makes their state at their first
    update, and leaves every other variable bitwise as it was."""
    layers = fastdl.layers
    generator = fastdl.keras.Sequential([layers.Dense(5, input_shape=(3,)), layers.Dense(4)])
    discriminator = fastdl.keras.Sequential([layers.Dense(6, input_shape=(4,)),
                                             layers.Dense(1)])
    g_vars, d_vars = generator.trainable_weights, discriminator.trainable_weights
    g_opt, d_opt = cls(**config), cls(**config)
    g_ref, d_ref = Reference(cls, **config), Reference(cls, **config)
    g_expected = [f64(v.data).copy() for v in g_vars]
    d_expected = [f64(v.data).copy() for v in d_vars]
    with pytest.raises(KeyError):
        d_opt.get_slot(d_vars[0], "momentum" if cls is not RMSprop else "velocity")
    for step in range(3):
        before = [v.data.copy() for v in g_vars]
        grads = make_grads(rng, d_vars)
        d_opt.apply_gradients(zip(grads, d_vars))
        d_ref.step(d_expected, grads)
        assert all(np.array_equal(v.data, b) for v, b in zip(g_vars, before))
        before = [v.data.copy() for v in d_vars]
        grads = make_grads(rng, g_vars)
        g_opt.apply(grads, g_vars)
        g_ref.step(g_expected, grads)
        assert all(np.array_equal(v.data, b) for v, b in zip(d_vars, before))
    for v, r in zip(g_vars + d_vars, g_expected + d_expected):
        np.testing.assert_allclose(v.data, r, **tolerances(np.float32))
    assert g_opt.iterations == d_opt.iterations == 3
    assert len(g_opt.variables()) == len(g_vars) * len(g_opt._slot_names())


def test_one_optimizer_on_alternating_lists_keeps_each_variables_state(rng):
    a, b, c = make_params(rng, np.float64, [(3, 2), (4,), (5,)])
    opt, ref = Adam(learning_rate=0.1), Reference(Adam, learning_rate=0.1)
    expected = {id(t): f64(t.data).copy() for t in (a, b, c)}
    for subset in ([a, b], [c], [b, c], [a]):
        untouched = {id(t): t.data.copy() for t in (a, b, c)
                     if all(t is not u for u in subset)}
        grads = make_grads(rng, subset)
        opt.apply(grads, subset)
        ref.step([expected[id(t)] for t in subset], grads)
        for t in (a, b, c):
            if id(t) in untouched:
                assert np.array_equal(t.data, untouched[id(t)])
            np.testing.assert_allclose(t.data, expected[id(t)], rtol=1e-12)


def test_apply_without_variables_uses_the_built_ones_and_checks_lengths(rng):
    a, b = make_params(rng, np.float64, [(3,), (2,)])
    opt = SGD(learning_rate=0.5)
    with pytest.raises(ValueError, match=r"SGD.apply: without variables, the optimizer must "
                                         r"be built first"):
        opt.apply([np.ones(3), np.ones(2)])
    opt.build([a, b])
    before = a.data.copy()
    opt.apply([np.ones(3), np.zeros(2)])
    np.testing.assert_array_equal(a.data, before - 0.5)
    with pytest.raises(ValueError, match=r"SGD.apply: 1 gradients for 2 variables"):
        opt.apply([np.ones(3)], [a, b])


def test_mixed_dtypes_in_one_step(rng, threads):
    params = make_params(rng, np.float32, [(50, 400), (3,)]) + \
        make_params(rng, np.float64, [(300, 70), (5,)])
    ref_params = [f64(p.data).copy() for p in params]
    opt, ref = Adam(learning_rate=0.01, global_clipnorm=5.0), \
        Reference(Adam, learning_rate=0.01, global_clipnorm=5.0)
    for _ in range(3):
        grads = make_grads(rng, params)
        opt.apply_gradients(zip(grads, params))
        ref.step(ref_params, grads)
    # The joint norm includes float32 gradients summed in float32: the clipping factor of the
    # float64 tensors is as accurate as that.
    for p, r in zip(params, ref_params):
        np.testing.assert_allclose(p.data, r, **tolerances(np.float32))


def test_errors_name_the_optimizer_the_index_and_the_shapes(rng):
    params = make_params(rng, np.float32, [(2,), (3, 4)])
    opt = Adam()
    before = [p.data.copy() for p in params]
    with pytest.raises(ValueError, match=r"adam: gradient 1 has shape \(4, 3\) but parameter 1 "
                                         r"has shape \(3, 4\)"):
        opt.apply_gradients([(np.ones(2, np.float32), params[0]),
                             (np.ones((4, 3), np.float32), params[1])])
    # Nothing was updated, and it was not a step.
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
    assert opt.iterations == 0
    strided = fastdl.Tensor(np.zeros((4, 6), np.float32)[:, ::2], requires_grad=True)
    assert not strided.data.flags.c_contiguous
    with pytest.raises(ValueError, match=r"sgd: parameter 0 \(shape \(4, 3\)\) must be a "
                                         "writeable C-contiguous array"):
        SGD().apply_gradients([(np.ones((4, 3), np.float32), strided)])
    with pytest.raises(TypeError, match="rmsprop: parameter 0 .* has dtype int64"):
        RMSprop().apply_gradients([(np.ones(3), fastdl.tensor(np.arange(3)))])
    with pytest.raises(TypeError, match="variable 0 must be a fastdl Tensor"):
        SGD().apply_gradients([(np.ones(3), np.zeros(3))])
    with pytest.raises(ValueError, match="more than once"):
        SGD().apply_gradients([(np.ones(2), params[0]), (np.ones(2), params[0])])


def test_native_step_validates_every_list():
    p, g = [np.zeros(3, np.float32)], [np.ones(3, np.float32)]
    m, v = [np.zeros(3, np.float32)], [np.zeros(3, np.float64)]
    args = (1, 0.1, 0.9, 0.999, 1e-7, None, None, None, None)
    with pytest.raises(TypeError, match="adam: 'v' state 0 has dtype float64 but parameter 0 "
                                        "has dtype float32"):
        _C.adam_step(p, g, m, v, None, *args)
    with pytest.raises(ValueError, match="adam: got 1 parameters but 2 gradients"):
        _C.adam_step(p, g * 2, m, m, None, *args)
    with pytest.raises(ValueError, match="'m' state arrays"):
        _C.adam_step(p, g, [], m, None, *args)
    with pytest.raises(TypeError, match="params must be a list or tuple"):
        _C.adam_step(p[0], g, m, m, None, *args)
    with pytest.raises(ValueError, match="only one of clipvalue, clipnorm"):
        _C.adam_step(p, g, m, [np.zeros(3, np.float32)], None, 1, 0.1, 0.9, 0.999, 1e-7, None,
                     1.0, 1.0, None)
    with pytest.raises(ValueError, match="step must be >= 1"):
        _C.adam_step(p, g, m, m, None, 0, *args[1:])
    with pytest.raises(ValueError, match="sgd: momentums must be a list"):
        _C.sgd_step(p, g, None, 0.1, 0.9, False, None, None, None, None)
    readonly = np.zeros(3, np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="sgd: parameter 0 .* writeable"):
        _C.sgd_step([readonly], g, None, 0.1, 0.0, False, None, None, None, None)
    assert np.all(p[0] == 0)


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="weight_decay must be a float, got None"):
        AdamW(weight_decay=None)
    with pytest.raises(ValueError, match=r"momentum must be a float in \[0, 1\]"):
        SGD(momentum=1.5)
    with pytest.raises(ValueError, match="clipnorm must be None or >= 0"):
        SGD(clipnorm=-1.0)
    with pytest.raises(ValueError, match="not recognized"):
        Adam(beta1=0.9)
    with pytest.raises(ValueError, match="use_ema=True is not supported"):
        Adam(use_ema=True)
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        SGD(learning_rate="fast")
    assert Adam(use_ema=False).name == "adam"  # Keras's defaults are accepted


def test_keras_defaults():
    sgd, adam, adamw, rms = SGD(), Adam(), AdamW(), RMSprop()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov, sgd.weight_decay) == \
        (0.01, 0.0, False, None)
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == \
        (0.001, 0.9, 0.999, 1e-7, False)
    assert (adamw.weight_decay, adamw.learning_rate) == (0.004, 0.001)
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == \
        (0.001, 0.9, 0.0, 1e-7, False)
    assert [o.name for o in (sgd, adam, adamw, rms)] == ["SGD", "adam", "adamw", "rmsprop"]


def test_get_and_config_round_trip():
    assert isinstance(optimizers.get("SGD"), SGD)
    assert isinstance(optimizers.get("adamw"), AdamW)
    assert isinstance(optimizers.get("RmsProp"), RMSprop)
    opt = Adam(learning_rate=0.3)
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match="unknown optimizer 'lion'; known: 'sgd', 'adam', "
                                         "'adamw', 'rmsprop'"):
        optimizers.get("lion")
    with pytest.raises(ValueError, match="could not interpret"):
        optimizers.get(42)
    schedule = schedules.PiecewiseConstantDecay([5], [0.1, 0.01])
    original = RMSprop(learning_rate=schedule, rho=0.8, momentum=0.2, centered=True,
                       clipnorm=2.0, weight_decay=0.1, name="mine")
    config = original.get_config()
    assert config["learning_rate"] == {"class_name": "PiecewiseConstantDecay",
                                       "config": schedule.get_config()}
    copy = RMSprop.from_config(config)
    assert copy.get_config() == config and copy.learning_rate == 0.1
    again = optimizers.get(optimizers.serialize(original))
    assert isinstance(again, RMSprop) and again.get_config() == config
    for cls in (SGD, Adam, AdamW):
        assert cls.from_config(cls().get_config()).get_config() == cls().get_config()


# ---------------------------------------------------------------- training

@pytest.mark.parametrize("make", [
    lambda: SGD(learning_rate=0.05, momentum=0.9),
    lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True, clipnorm=1.0),
    lambda: Adam(learning_rate=0.05),
    lambda: AdamW(learning_rate=0.05, weight_decay=1e-4, amsgrad=True),
    lambda: RMSprop(learning_rate=0.01, global_clipnorm=5.0),
    lambda: RMSprop(learning_rate=0.005, momentum=0.5, centered=True),
], ids=["sgd_momentum", "nesterov_clipnorm", "adam", "adamw_amsgrad", "rmsprop",
        "rmsprop_centered_momentum"])
def test_linear_regression_converges(make):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 5)).astype(np.float32)
    w_true = rng.standard_normal((5, 2)).astype(np.float32)
    y = x @ w_true + np.float32(0.5)
    w = fastdl.tensor(np.zeros((5, 2), np.float32), requires_grad=True)
    b = fastdl.tensor(np.zeros(2, np.float32), requires_grad=True)
    opt = make()
    X, Y = fastdl.tensor(x), fastdl.tensor(y)
    for _ in range(400):
        loss = ((fastdl.linear(X, w, b) - Y) ** 2).mean()
        loss.backward()
        opt.apply_gradients([(w.grad, w), (b.grad, b)])
        w.grad = b.grad = None
    assert loss.item() < 1e-3, loss.item()
    np.testing.assert_allclose(w.data, w_true, atol=0.05)
    np.testing.assert_allclose(b.data, 0.5, atol=0.05)


def test_subnormal_moments_are_flushed_to_zero_and_the_caller_mode_restored():
    # A weight whose gradient stays zero has moments decaying toward subnormal numbers, whose
    # arithmetic is about a hundred times slower; the update kernels flush them to zero.
    w = fastdl.tensor(np.ones(4, np.float32), requires_grad=True)
    opt = fastdl.optimizers.Adam()
    opt.build([w])
    tiny = np.float32(1e-39)  # subnormal in float32
    opt.get_slot(w, "momentum")[:] = tiny
    opt.get_slot(w, "velocity")[:] = tiny
    opt.apply_gradients([(np.zeros(4, np.float32), w)])
    np.testing.assert_array_equal(opt.get_slot(w, "momentum"), 0.0)
    np.testing.assert_array_equal(opt.get_slot(w, "velocity"), 0.0)
    np.testing.assert_array_equal(w.numpy(), 1.0)
    # The thread's floating-point mode is the caller's again: NumPy still makes subnormals.
    assert np.float32(1e-30) * np.float32(1e-9) != 0
