"""Running Keras 3 itself, in a subprocess of the Python that has it, to compare results.

:func:`run_keras` sends a pickled payload to a script run by ``/opt/tfenv/bin/python`` (or
``$FASTDL_KERAS_PYTHON``) and returns what the script pickles back; :data:`requires_keras` skips a
test where that interpreter is absent.
"""
import os
import pickle
import subprocess
import tempfile
from pathlib import Path

import pytest

KERAS_PYTHON = Path(os.environ.get("FASTDL_KERAS_PYTHON", "/opt/tfenv/bin/python"))

requires_keras = pytest.mark.skipif(not KERAS_PYTHON.is_file(),
                                    reason=f"no Keras interpreter at {KERAS_PYTHON}")

# The script's frame: the payload is in sys.argv[1], the result goes to sys.argv[2].
_FRAME = """
import pickle, sys
with open(sys.argv[1], "rb") as stream:
    payload = pickle.load(stream)
{body}
with open(sys.argv[2], "wb") as stream:
    pickle.dump(result, stream)
"""


def run_keras(body: str, payload, timeout: float = 300.0):
    """Runs ``body`` (which reads ``payload`` and sets ``result``) under Keras's Python."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "payload.pkl").write_bytes(pickle.dumps(payload))
        (scratch / "script.py").write_text(_FRAME.format(body=body))
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow")
        proc = subprocess.run([str(KERAS_PYTHON), str(scratch / "script.py"),
                               str(scratch / "payload.pkl"), str(scratch / "result.pkl")],
                              cwd=scratch, env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return pickle.loads((scratch / "result.pkl").read_bytes())
