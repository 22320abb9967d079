"""Benchmarks: timing harnesses and their baselines (timing lives here, never in tests)."""
