//! Shared helpers for the integration test targets in `tests/tests/`.
