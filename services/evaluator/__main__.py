"""`python -m services.evaluator`: run the evaluator (consumer loop + health endpoints)."""

from __future__ import annotations

from services.evaluator.settings import EvaluatorSettings
from services.runner import serve

if __name__ == "__main__":
    serve("services.evaluator.app:app_from_env", EvaluatorSettings)
