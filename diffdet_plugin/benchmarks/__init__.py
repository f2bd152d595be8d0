"""Benchmarks as a library: one module per benchmark (``tools/benchmark.py`` is the CLI)."""
