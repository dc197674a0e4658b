//! OCI platforms (`os/architecture[/variant]`): parsing, the normal form
//! containerd uses (`x86_64` → `amd64`, `arm64/v8` → `arm64`, `arm` → `arm/v7`),
//! and the host's own platform.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// An `os/architecture[/variant]` triple in normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// A platform string that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: {reason}")]
pub struct PlatformError {
    pub input: String,
    pub reason: &'static str,
}

impl Platform {
    /// The platform this xb binary runs on.
    pub fn host() -> Self {
        let architecture = normalize_architecture(std::env::consts::ARCH, None);
        Self {
            os: std::env::consts::OS.to_owned(),
            architecture: architecture.0,
            variant: architecture.1,
        }
    }
}

fn normalize_architecture(architecture: &str, variant: Option<&str>) -> (String, Option<String>) {
    let owned = |a: &str, v: Option<&str>| (a.to_owned(), v.map(str::to_owned));
    match (architecture, variant) {
        ("x86_64" | "x86-64" | "amd64", None | Some("v1")) => owned("amd64", None),
        ("x86_64" | "x86-64" | "amd64", Some(v)) => owned("amd64", Some(v)),
        ("i386" | "i686" | "386", _) => owned("386", None),
        ("aarch64" | "arm64", None | Some("v8" | "8")) => owned("arm64", None),
        ("aarch64" | "arm64", Some(v)) => owned("arm64", Some(v)),
        ("armhf" | "arm", None) => owned("arm", Some("v7")),
        ("armel", None) => owned("arm", Some("v6")),
        ("arm", Some(v)) => {
            let v = v.strip_prefix('v').unwrap_or(v);
            (String::from("arm"), Some(format!("v{v}")))
        }
        (other, v) => owned(other, v),
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| PlatformError {
            input: input.to_owned(),
            reason,
        };
        let parts: Vec<&str> = input.split('/').collect();
        if parts.iter().any(|part| part.is_empty()) {
            return Err(error("empty component"));
        }
        let valid = |part: &str| {
            part.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if !parts.iter().all(|part| valid(part)) {
            return Err(error(
                "components may hold only letters, digits, '_', '-' and '.'",
            ));
        }
        let lower: Vec<String> = parts.iter().map(|part| part.to_ascii_lowercase()).collect();
        let (os, architecture, variant) = match lower.as_slice() {
            [only] if only == "linux" || only == "windows" || only == "darwin" => {
                let host = Platform::host();
                return Ok(Platform {
                    os: only.clone(),
                    architecture: host.architecture,
                    variant: host.variant,
                });
            }
            [architecture] => ("linux", architecture.as_str(), None),
            [os, architecture] => (os.as_str(), architecture.as_str(), None),
            [os, architecture, variant] => {
                (os.as_str(), architecture.as_str(), Some(variant.as_str()))
            }
            _ => return Err(error("expected os/architecture[/variant]")),
        };
        let (architecture, variant) = normalize_architecture(architecture, variant);
        Ok(Platform {
            os: os.to_owned(),
            architecture,
            variant,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_normalizes_like_containerd() {
        let cases = [
            ("linux/amd64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("Linux/ARM64", "linux/arm64"),
            ("arm64", "linux/arm64"),
            ("linux/riscv64", "linux/riscv64"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                input.parse::<Platform>().unwrap().to_string(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn platform_rejects_garbage() {
        for input in ["", "linux/", "linux//amd64", "a/b/c/d", "linux/am d64"] {
            assert!(input.parse::<Platform>().is_err(), "{input}");
        }
    }

    #[test]
    fn platform_host_is_linux_here() {
        assert_eq!(Platform::host().os, "linux");
    }
}
