"""A stand-in Pomelo for demos, development and tests. Never deployed to production."""
