"""Load benchmarks for the webhook intake. Run by hand; never imported by the app."""
