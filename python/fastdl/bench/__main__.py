"""Entry point of ``python -m fastdl.bench``; see :mod:`fastdl.bench.cli`."""
import sys

from fastdl.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
