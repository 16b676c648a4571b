"""The logistic-regression example: its gradient, its training run against NumPy, its result
and the script itself."""
import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastdl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import logistic_regression as example  # noqa: E402  (found through the path just added)

X, Y = example.X, example.Y


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_loss(theta):
    p = np_sigmoid(X @ theta)
    return -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))


def np_grad(theta):
    """Closed form of the mean binary cross-entropy's gradient: X.T (sigmoid(X theta) - y) / n,
    n the number of points (the loss is a mean over them)."""
    return X.T @ (np_sigmoid(X @ theta) - Y) / len(Y)


@pytest.mark.parametrize("theta", [[0.0, 0.0, 0.0], [0.5, -0.3, 0.1], [6.0, 6.0, -9.0]])
def test_autograd_gradient_is_the_closed_form(theta):
    t = fastdl.tensor(np.array(theta), requires_grad=True)
    loss = example.loss_fn(t)
    loss.backward()
    assert t.grad.dtype == np.float64
    assert loss.item() == pytest.approx(np_loss(np.array(theta)), rel=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), np_grad(np.array(theta)), rtol=0, atol=1e-6)


def test_training_follows_numpy_gradient_descent():
    theta0 = np.random.default_rng(0).normal(scale=0.1, size=3)
    steps, lr = 2000, 0.1
    history, theta = example.train(theta0, steps=steps, lr=lr)

    expected, t = [], theta0.copy()
    for _ in range(steps):
        expected.append(np_loss(t))
        t = t - lr * np_grad(t)

    np.testing.assert_allclose(history, expected, rtol=1e-10)
    np.testing.assert_allclose(theta, t, rtol=1e-10)
    assert np.all(np.diff(history) < 0)  # convex and a small step: every step helps


def test_trained_neuron_computes_and():
    _, theta = example.train(np.zeros(3), steps=5000, lr=0.1)
    assert np.array_equal(np.round(example.predict(theta)), Y)


def test_docstring_examples():
    result = doctest.testmod(example, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_script_runs_and_prints_predictions():
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastdl.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "logistic_regression.py")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "step     0  loss 0.693147" in out
    for line in ("0 AND 0", "1 AND 1", "1 AND 0", "0 AND 1"):
        assert line in out
    assert "1 AND 1: p = " in out and out.count("-> 0") == 3 and out.count("-> 1") == 1
