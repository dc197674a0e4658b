//! Reads what the host kernel allows an unprivileged builder to do, from the
//! sysctls under `/proc/sys`. It never creates a namespace itself; the sandbox
//! does that and reports its own errors.

use std::path::Path;

/// What the host allows, as far as the kernel's sysctls tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSupport {
    /// Unprivileged user namespaces are allowed by the sysctls.
    pub user_namespaces: bool,
    /// `user.max_user_namespaces`, when the kernel exposes it.
    pub max_user_namespaces: Option<u64>,
}

/// Reads the host's sysctls and reports what the sandbox may use.
pub fn probe() -> HostSupport {
    probe_in(Path::new("/proc/sys"))
}

fn probe_in(sys: &Path) -> HostSupport {
    let read_number = |relative: &str| -> Option<u64> {
        fs_err::read_to_string(sys.join(relative))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    };
    let max_user_namespaces = read_number("user/max_user_namespaces");
    // Debian and Ubuntu kernels carry an extra switch; absent elsewhere means allowed.
    let debian_switch = read_number("kernel/unprivileged_userns_clone").unwrap_or(1);
    HostSupport {
        user_namespaces: debian_switch != 0 && max_user_namespaces != Some(0),
        max_user_namespaces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, value: &str) {
        let path = dir.join(relative);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, value).unwrap();
    }

    #[test]
    fn probe_reads_disabled_switch() {
        let dir = std::env::temp_dir().join(format!("xb-probe-{}", std::process::id()));
        write(&dir, "user/max_user_namespaces", "1000\n");
        write(&dir, "kernel/unprivileged_userns_clone", "0\n");
        let support = probe_in(&dir);
        assert!(!support.user_namespaces);
        assert_eq!(support.max_user_namespaces, Some(1000));
        write(&dir, "kernel/unprivileged_userns_clone", "1\n");
        assert!(probe_in(&dir).user_namespaces);
        write(&dir, "user/max_user_namespaces", "0\n");
        assert!(!probe_in(&dir).user_namespaces);
        fs_err::remove_dir_all(&dir).unwrap();
    }
}
