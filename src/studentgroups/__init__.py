"""studentgroups: group management for learning platforms."""

import os

__version__ = "0.1.0"

# Nothing here calls BLAS (the formation engine is element-wise NumPy, so that every platform
# rounds alike): OpenBLAS's pool of threads would only cost CPU at every start (half of NumPy's
# import, 0.06 s of `studentgroups form`) and memory in every worker. The operator's choice wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
