"""Helpers the tests import; the fixtures themselves are in tests/conftest.py."""
