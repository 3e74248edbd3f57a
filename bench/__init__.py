"""The benchmark: ``python -m bench`` (see bench/README.md)."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT_DIR = BENCH_DIR.parent
# Scratch space, ignored by git: collected static files, logs, plans.
WORK_DIR = BENCH_DIR / "work"
RESULTS_DIR = BENCH_DIR / "results"
STATIC_ROOT = WORK_DIR / "staticfiles"
