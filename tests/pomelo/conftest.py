# Until tests/conftest.py loads it project-wide, make the sandbox_pomelo fixture available here.
from tests.pomelo_fixtures import *  # noqa: F403
