//! End-to-end tests that run the built `xb` binary, one file per area. They
//! run as root and, in CI, again as unprivileged users (see `.ci/test.sh`):
//! `XB_BIN` and `XB_SOURCE_ROOT` point them at copies those users can read.

mod common;

mod build_add;
mod build_copy;
mod build_image;
mod build_run;
mod call;
mod cli;
mod errors;
mod layering;
mod run_lifecycle;
mod store;
