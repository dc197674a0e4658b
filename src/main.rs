//! `xb`: command-line arguments → commands → exit code.
#![forbid(unsafe_code)]

fn main() {}
