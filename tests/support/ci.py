"""Whether the run is CI's, where a skipped PostgreSQL or browser test is a failure."""

import os

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
