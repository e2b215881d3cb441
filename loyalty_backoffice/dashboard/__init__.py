"""The staff pages, one package per area."""
