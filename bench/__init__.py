"""Benchmarks for slotgraph; run as modules (`python -m bench.registry`,
`python -m bench.cluster`), never part of the tests."""
