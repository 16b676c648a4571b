"""Logistic regression: one sigmoid neuron learns the AND gate by gradient descent.

Each row of X is one point of the truth table with a constant 1 appended, so that the last
entry of theta acts as the bias. The neuron predicts sigmoid(X @ theta); training minimises the
mean binary cross-entropy with plain gradient descent, and fastdl's autograd supplies the
gradient.

    python examples/logistic_regression.py
"""
import numpy as np

import fastdl

# The four inputs (x1, x2) and a bias column of ones: float64, so that the arithmetic can be
# checked against NumPy to the last digits.
X = np.array([[0, 0, 1],
              [1, 1, 1],
              [1, 0, 1],
              [0, 1, 1]], dtype=np.float64)
Y = np.array([0, 1, 0, 0], dtype=np.float64)  # x1 AND x2


def loss_fn(theta: fastdl.Tensor) -> fastdl.Tensor:
    """Mean binary cross-entropy of the predictions sigmoid(X @ theta) against Y.

    >>> round(loss_fn(fastdl.zeros(3, dtype="float64")).item(), 4)  # log(2): p = 0.5 everywhere
    0.6931
    """
    p = fastdl.sigmoid(fastdl.from_numpy(X) @ theta)
    return -(Y * fastdl.log(p) + (1 - Y) * fastdl.log(1 - p)).mean()


def train(theta0, steps: int = 5000, lr: float = 0.1, log_every: int = 0):
    """Gradient descent from ``theta0``: returns the loss before each step and the final theta.

    Prints the loss every ``log_every`` steps (never when 0).

    >>> history, theta = train(np.zeros(3), steps=100)
    >>> history[0] > history[-1]
    True
    """
    theta = fastdl.tensor(theta0, dtype=np.float64, requires_grad=True)
    history = []
    for step in range(steps):
        loss = loss_fn(theta)
        loss.backward()
        # The update must not become part of the graph: under no_grad nothing is recorded,
        # and requires_grad_() makes the new theta a leaf for the next step's gradient.
        with fastdl.no_grad():
            theta = (theta - lr * theta.grad).requires_grad_()
        history.append(loss.item())
        if log_every and step % log_every == 0:
            print(f"step {step:5d}  loss {history[-1]:.6f}")
    return history, theta.numpy()


def predict(theta) -> np.ndarray:
    """The neuron's outputs sigmoid(X @ theta) for the four points: probabilities of a 1."""
    return fastdl.sigmoid(X @ np.asarray(theta)).numpy()


def main() -> None:
    _, theta = train(np.zeros(3), steps=5000, lr=0.1, log_every=500)
    print(f"final loss {loss_fn(fastdl.from_numpy(theta)).item():.6f}")
    print(f"theta (w1, w2, bias) = {np.round(theta, 4)}")
    for (x1, x2, _), p in zip(X, predict(theta)):
        print(f"{x1:.0f} AND {x2:.0f}: p = {p:.4f} -> {round(p)}")


if __name__ == "__main__":
    main()
