//! `xb version`: the version and what this binary was built for.

use std::io::Write as _;

use crate::graph::Platform;

use super::ExitStatus;

pub(super) fn version() -> anyhow::Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "xb {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(stdout, "platform: {}", Platform::host())?;
    let linkage = if cfg!(target_feature = "crt-static") {
        "static"
    } else {
        "dynamic"
    };
    writeln!(stdout, "linkage: {linkage}")?;
    Ok(ExitStatus::Success)
}
