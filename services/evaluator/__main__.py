"""`python -m services.evaluator`: run the evaluator (consumer loop + health endpoints)."""

from __future__ import annotations

import os

# The forecast and anomaly models are small: a BLAS thread pool per fit only adds
# contention with the consumer on a small machine. Set before numpy is first imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from services.evaluator.settings import EvaluatorSettings  # noqa: E402
from services.runner import serve  # noqa: E402

if __name__ == "__main__":
    serve("services.evaluator.app:app_from_env", EvaluatorSettings)
