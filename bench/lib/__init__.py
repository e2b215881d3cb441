"""What the benchmark suites share: PostgreSQL, gunicorn, CPU accounting, the command line."""
