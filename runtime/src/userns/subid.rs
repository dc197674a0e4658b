//! `/etc/subuid` and `/etc/subgid` (lines `name:start:count` or
//! `uid:start:count`), `/etc/passwd` for the caller's name (the binary is
//! static: no NSS), and `/proc/<pid>/uid_map` text.

/// A subordinate range: `count` ids from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubordinateRange {
    /// First host id.
    pub start: u32,
    /// Number of ids.
    pub count: u32,
}

/// The ranges of `name` (or `uid`) in a subuid/subgid file's text.
pub(crate) fn ranges_for(text: &str, name: Option<&str>, id: u32) -> Vec<SubordinateRange> {
    let id_text = id.to_string();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(':');
            let owner = fields.next()?;
            let start = fields.next()?.trim().parse().ok()?;
            let count = fields.next()?.trim().parse().ok()?;
            (Some(owner) == name || owner == id_text).then_some(SubordinateRange { start, count })
        })
        .filter(|range| range.count > 0)
        .collect()
}

/// The login name of `uid` in a passwd file's text.
pub(crate) fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2].trim().parse() == Ok(uid)).then(|| fields[0].to_owned())
    })
}

/// `(inside, outside, count)` lines of a `uid_map` or `gid_map`.
pub fn parse_id_map(text: &str) -> Vec<(u32, u32, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(str::parse::<u32>);
            Some((
                fields.next()?.ok()?,
                fields.next()?.ok()?,
                fields.next()?.ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_name_or_uid() {
        let text = "alice:100000:65536\n1001:300000:1000\nbob:200000:65536\nalice:500000:0\n";
        assert_eq!(
            ranges_for(text, Some("alice"), 1000),
            [SubordinateRange {
                start: 100_000,
                count: 65536
            }]
        );
        assert_eq!(ranges_for(text, None, 1001)[0].start, 300_000);
        assert!(ranges_for(text, Some("carol"), 1002).is_empty());
    }

    #[test]
    fn passwd_and_id_maps_parse() {
        let passwd = "root:x:0:0::/root:/bin/sh\nxbtest:x:1001:1001::/home/xbtest:/bin/sh\n";
        assert_eq!(user_name(passwd, 1001).as_deref(), Some("xbtest"));
        assert_eq!(
            parse_id_map("         0       1001          1\n         1     200000      65536\n"),
            [(0, 1001, 1), (1, 200_000, 65536)]
        );
    }
}
