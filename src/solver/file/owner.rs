//! `--chown=user[:group]` resolved as Docker does: numbers are used as they
//! are; names are looked up in the destination stage's own `/etc/passwd` and
//! `/etc/group` (never the host's). A user given without a group takes the
//! same number as its gid, as Docker documents.

use crate::graph::Owner;

/// Numeric owner of a file in an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// A `--chown` name the destination does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
}

/// The id of `name` in a passwd- or group-format file (`name:x:id:...`).
fn lookup(file: Option<&str>, name: &str) -> Option<u32> {
    file?.lines().find_map(|line| {
        let mut fields = line.split(':');
        let entry = fields.next()?;
        let _password = fields.next()?;
        let id = fields.next()?;
        (entry == name).then(|| id.trim().parse().ok()).flatten()
    })
}

/// Resolves `owner` with the destination's passwd and group files (absent
/// files mean only numbers can be used).
pub fn resolve_owner(
    owner: &Owner,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Ids, OwnerError> {
    let uid = match owner.user.parse::<u32>() {
        Ok(uid) => uid,
        Err(_) => lookup(passwd, &owner.user)
            .ok_or_else(|| OwnerError::UnknownUser(owner.user.clone()))?,
    };
    let gid = match owner.group.as_deref() {
        None | Some("") => uid,
        Some(name) => match name.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                lookup(group, name).ok_or_else(|| OwnerError::UnknownGroup(name.to_owned()))?
            }
        },
    };
    Ok(Ids { uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:app\napp:x:1001:\n";

    fn owner(text: &str) -> Owner {
        match text.split_once(':') {
            Some((user, group)) => Owner {
                user: user.into(),
                group: Some(group.into()),
            },
            None => Owner {
                user: text.into(),
                group: None,
            },
        }
    }

    #[test]
    fn owner_resolves_names_and_numbers() {
        let resolve = |text| resolve_owner(&owner(text), Some(PASSWD), Some(GROUP));
        assert_eq!(
            resolve("1000:1000"),
            Ok(Ids {
                uid: 1000,
                gid: 1000
            })
        );
        assert_eq!(resolve("app:staff"), Ok(Ids { uid: 1000, gid: 50 }));
        assert_eq!(
            resolve("app"),
            Ok(Ids {
                uid: 1000,
                gid: 1000
            }),
            "same number as gid"
        );
        assert_eq!(resolve("42"), Ok(Ids { uid: 42, gid: 42 }));
        assert_eq!(resolve("nobody:0"), Ok(Ids { uid: 65534, gid: 0 }));
    }

    #[test]
    fn owner_names_unknown_entries() {
        assert_eq!(
            resolve_owner(&owner("ghost"), Some(PASSWD), Some(GROUP)),
            Err(OwnerError::UnknownUser("ghost".into()))
        );
        assert_eq!(
            resolve_owner(&owner("app:ghosts"), Some(PASSWD), Some(GROUP)),
            Err(OwnerError::UnknownGroup("ghosts".into()))
        );
        assert!(
            resolve_owner(&owner("app"), None, None).is_err(),
            "scratch has no passwd"
        );
        assert!(resolve_owner(&owner("5:6"), None, None).is_ok());
    }
}
