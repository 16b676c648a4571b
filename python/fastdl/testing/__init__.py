"""Testing helpers shipped with fastdl: the table of operation cases
(:mod:`fastdl.testing.op_cases`), the float64 references it checks against
(:mod:`fastdl.testing.reference`) and the checks that run it (:mod:`fastdl.testing.checks`).
The tests and ``python -m fastdl.bench`` both read the table.

>>> from fastdl.testing import op_cases
>>> list(op_cases.FAMILIES)[:4]
['arithmetic', 'elementwise', 'reduction', 'shape']
"""
