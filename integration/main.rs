//! End-to-end tests that run the built `xb` binary.
