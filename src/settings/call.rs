//! `--call build|check|outline|targets[,format=json]`: what `xb build` is
//! asked to do with the Dockerfile.

use std::str::FromStr;

use super::attrs::parse_attrs;

/// The request `--call` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallKind {
    #[default]
    Build,
    Check,
    Outline,
    Targets,
}

/// How a `--call` other than `build` prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallFormat {
    #[default]
    Text,
    Json,
}

/// One `--call` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallSpec {
    pub kind: CallKind,
    pub format: CallFormat,
}

impl FromStr for CallSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = input.split_once(',').unwrap_or((input, ""));
        let kind = match kind {
            "build" => CallKind::Build,
            "check" => CallKind::Check,
            "outline" => CallKind::Outline,
            "targets" => CallKind::Targets,
            other => {
                return Err(format!(
                    "unknown call {other:?} (expected build, check, outline or targets)"
                ));
            }
        };
        let mut format = CallFormat::Text;
        if !rest.is_empty() {
            for (key, value) in parse_attrs(rest).map_err(|e| e.to_string())? {
                match (key.as_str(), value.as_str()) {
                    ("format", "json") => format = CallFormat::Json,
                    ("format", "text") => format = CallFormat::Text,
                    ("format", other) => {
                        return Err(format!("format={other:?} must be text or json"));
                    }
                    (other, _) => {
                        return Err(format!("unknown option {other:?} (expected format)"));
                    }
                }
            }
        }
        Ok(Self { kind, format })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_reads_kind_and_format() {
        assert_eq!(
            "outline".parse::<CallSpec>().unwrap().kind,
            CallKind::Outline
        );
        let json: CallSpec = "check,format=json".parse().unwrap();
        assert_eq!(
            (json.kind, json.format),
            (CallKind::Check, CallFormat::Json)
        );
        assert!("lint".parse::<CallSpec>().is_err());
        assert!("check,format=yaml".parse::<CallSpec>().is_err());
    }
}
