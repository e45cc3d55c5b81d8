"""Benchmarks for slotgraph; run as modules (`python -m bench.registry`), never part of the tests."""
