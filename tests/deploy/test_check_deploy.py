"""`manage.py check --deploy` has nothing to say about the documented production settings."""

import subprocess
import sys

from tests.deploy.production_env import ROOT, production_environ


def test_check_deploy_is_clean_with_the_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_environ(), capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
