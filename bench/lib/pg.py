"""The PostgreSQL server the benchmarks use: create, drop and connect to their own databases.

The server is BENCH_POSTGRES_URL's (default postgres://postgres@127.0.0.1:5432); each suite
drops and recreates the databases it is given, and refuses any name that is not plainly its own.
"""

import os
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

SERVER = urlsplit(os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"))


def database_name_ok(name: str) -> bool:
    """A plain name the suites may drop and recreate (never CI's database or `postgres`)."""
    return name.replace("_", "").isalnum() and name not in {"postgres", "loyalty_backoffice"}


def database_url(name: str) -> str:
    return f"postgres://{SERVER.username or 'postgres'}@{SERVER.hostname}:{SERVER.port or 5432}/{name}"


def database_connect(name: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(database_url(name), autocommit=True)


def database_recreate(name: str, *, template: str = "") -> None:
    """Drop and create `name`, empty or as a copy of `template` (a migrated database: copying it
    is much quicker than migrating again)."""
    with database_connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        copy = sql.SQL(" TEMPLATE {}").format(sql.Identifier(template)) if template else sql.SQL("")
        conn.execute(sql.SQL("CREATE DATABASE {}{}").format(sql.Identifier(name), copy))


def database_drop(name: str) -> None:
    with database_connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(name: str) -> bool:
    with database_connect() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def backend_pids(name: str) -> list[int]:
    """The server processes connected to database `name` (for CPU accounting)."""
    with database_connect() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchall()
    return [pid for (pid,) in rows]
