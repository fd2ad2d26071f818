"""Where the tests find the checkout and keep their work (never inside the package)."""

from pathlib import Path

from kickgen.core.resources import cache_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Media the test fixtures build once and reuse across runs (keyed by their inputs).
TEST_WORK = cache_dir("tests")
