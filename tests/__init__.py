"""The test suites (`make test` and the slow ones: see the Makefile) and the benchmarks (tests/bench)."""
