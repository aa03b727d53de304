"""hpostudy: a reproducible study of gradient-based hyperparameter optimization."""
import os as _os

# cuBLAS reads this once, when it starts: deterministic matrix products on CUDA need it set before
_os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

__version__ = "0.1.0"
