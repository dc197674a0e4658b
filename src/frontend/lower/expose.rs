//! `EXPOSE`: each word expanded and split, then read as
//! `[ip:][hostport:]port[-end][/proto]` into `port/proto` entries of the image
//! config. Reports `ExposeProtoCasing` and `ExposeInvalidFormat`.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::Command;
use crate::frontend::lint::rules;

/// A port spec split into its parts.
struct PortSpec<'a> {
    ip: &'a str,
    host_port: &'a str,
    container_port: &'a str,
    proto: &'a str,
}

fn split_port(raw: &str) -> PortSpec<'_> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (ip, host_port, rest) = match parts.as_slice() {
        [one] => ("", "", *one),
        [host, container] => ("", *host, *container),
        [.., host, container] => {
            let ip_len = raw.len() - host.len() - container.len() - 2;
            (&raw[..ip_len], *host, *container)
        }
        [] => ("", "", ""),
    };
    let (container_port, proto) = rest.split_once('/').unwrap_or((rest, ""));
    PortSpec {
        ip,
        host_port,
        container_port,
        proto,
    }
}

fn port_range(text: &str) -> Result<(u32, u32), String> {
    let number = |part: &str| -> Result<u32, String> {
        let port: u32 = part.parse().map_err(|_| format!("invalid port '{part}'"))?;
        if port > 65535 {
            return Err("value out of range (0–65535)".to_owned());
        }
        Ok(port)
    };
    if text.is_empty() {
        return Err("empty string specified for ports".to_owned());
    }
    let (start, end) = text.split_once('-').unwrap_or((text, text));
    let (start, end) = (number(start)?, number(end)?);
    if end < start {
        return Err(format!("invalid port range: {text}"));
    }
    Ok((start, end))
}

/// The `port/proto` entries `raw` stands for.
fn parse_port(raw: &str) -> Result<Vec<String>, String> {
    let spec = split_port(raw);
    if spec.container_port.is_empty() {
        return Err(format!("invalid port: {raw:?}: no port specified"));
    }
    let proto = match spec.proto.to_lowercase().as_str() {
        "" => "tcp".to_owned(),
        proto @ ("tcp" | "udp" | "sctp") => proto.to_owned(),
        _ => {
            return Err(format!(
                "invalid port: {raw:?}: invalid proto: {}",
                spec.proto
            ));
        }
    };
    let ip = spec.ip.trim_start_matches('[').trim_end_matches(']');
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    let (start, end) = port_range(spec.container_port)
        .map_err(|_| format!("invalid containerPort: {}", spec.container_port))?;
    if !spec.host_port.is_empty() {
        let (host_start, host_end) = port_range(spec.host_port)
            .map_err(|_| format!("invalid hostPort: {}", spec.host_port))?;
        if end - start != host_end - host_start && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {} and {}",
                spec.container_port, spec.host_port
            ));
        }
    }
    Ok((start..=end)
        .map(|port| format!("{port}/{proto}"))
        .collect())
}

impl StageLowering<'_, '_> {
    pub(super) fn lower_expose(
        &mut self,
        command: &Command,
        ports: &[String],
    ) -> Result<StepKind, ParseError> {
        let mut exposed = Vec::new();
        for word in ports {
            let words = self
                .session
                .lexer
                .expand_words(word, &self.state.scope)
                .map_err(|error| self.located(command).error_at(word, error.message))?;
            for raw in words.words {
                let spec = split_port(&raw);
                if spec.proto != spec.proto.to_lowercase() {
                    self.session.linter.report(
                        &rules::EXPOSE_PROTO_CASING,
                        command.span,
                        rules::expose_proto_casing(&raw),
                        &command.comments,
                    );
                }
                if !spec.ip.is_empty() || !spec.host_port.is_empty() {
                    self.session.linter.report(
                        &rules::EXPOSE_INVALID_FORMAT,
                        command.span,
                        rules::expose_invalid_format(&raw),
                        &command.comments,
                    );
                }
                let entries = parse_port(&raw)
                    .map_err(|message| self.located(command).error_at(word, message))?;
                for entry in entries {
                    self.state.config.exposed_ports.insert(entry.clone());
                    exposed.push(entry);
                }
            }
        }
        Ok(StepKind::Expose(exposed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_like_buildkit() {
        assert_eq!(parse_port("80").unwrap(), ["80/tcp"]);
        assert_eq!(parse_port("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(
            parse_port("8000-8002").unwrap(),
            ["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert_eq!(parse_port("127.0.0.1:8080:80").unwrap(), ["80/tcp"]);
        assert!(parse_port("80/bogus").is_err());
        assert!(parse_port("70000").is_err());
        assert!(parse_port("abc").is_err());
    }
}
