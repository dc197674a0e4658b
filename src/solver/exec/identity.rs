//! `USER` resolved for a RUN as Docker (runc) does, in the root filesystem's
//! own `/etc/passwd` and `/etc/group`, never the host's: a name must exist;
//! a number need not. Without a group, the user's primary group from passwd
//! (0 when the user is not listed). Supplementary groups are those of
//! `/etc/group` that list the user by name. `HOME` comes from passwd (`/`
//! when unknown).

/// Who a RUN command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// A `USER` the root filesystem does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 6 {
            return None;
        }
        Some(PasswdEntry {
            name: fields[0],
            uid: fields[2].trim().parse().ok()?,
            gid: fields[3].trim().parse().ok()?,
            home: fields[5],
        })
    })
}

/// `(name, gid, members)` of each line of a group file.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 {
            return None;
        }
        let members = fields[3]
            .split(',')
            .map(str::trim)
            .filter(|member| !member.is_empty())
            .collect();
        Some((fields[0], fields[2].trim().parse().ok()?, members))
    })
}

/// Resolves `user` (`name|uid[:group|gid]`, `None` for root) with the root
/// filesystem's passwd and group files (absent files: only numbers work).
pub fn resolve_identity(
    user: Option<&str>,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Identity, IdentityError> {
    let written = user.filter(|user| !user.is_empty()).unwrap_or("0");
    let (user_part, group_part) = match written.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (written, None),
    };
    let passwd = passwd.unwrap_or_default();
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd_entries(passwd).find(|entry| entry.uid == uid),
        Err(_) => Some(
            passwd_entries(passwd)
                .find(|entry| entry.name == user_part)
                .ok_or_else(|| IdentityError::UnknownUser(user_part.to_owned()))?,
        ),
    };
    let uid = user_part
        .parse::<u32>()
        .ok()
        .or(entry.as_ref().map(|entry| entry.uid))
        .expect("a user is a number or a passwd entry");
    let groups = group.unwrap_or_default();
    let gid = match group_part.filter(|group| !group.is_empty()) {
        Some(name) => match name.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group_entries(groups)
                .find(|(group_name, _, _)| *group_name == name)
                .map(|(_, gid, _)| gid)
                .ok_or_else(|| IdentityError::UnknownGroup(name.to_owned()))?,
        },
        None => entry.as_ref().map_or(0, |entry| entry.gid),
    };
    // An explicit group replaces the supplementary groups, as runc does.
    let additional_gids = match (&entry, group_part) {
        (Some(entry), None) => {
            let mut gids: Vec<u32> = group_entries(groups)
                .filter(|(_, _, members)| members.contains(&entry.name))
                .map(|(_, gid, _)| gid)
                .filter(|member_gid| *member_gid != gid)
                .collect();
            gids.dedup();
            gids
        }
        _ => Vec::new(),
    };
    let home = entry
        .as_ref()
        .map(|entry| entry.home)
        .filter(|home| !home.is_empty())
        .unwrap_or("/")
        .to_owned();
    Ok(Identity {
        uid,
        gid,
        additional_gids,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:app,other\napp:x:1001:\naudio:x:29:app\n";

    #[test]
    fn no_user_is_root_with_roots_home() {
        let identity = resolve_identity(None, Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((identity.uid, identity.gid), (0, 0));
        assert_eq!(identity.home, "/root");
    }

    #[test]
    fn name_takes_primary_group_and_memberships() {
        let identity = resolve_identity(Some("app"), Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((identity.uid, identity.gid), (1000, 1001));
        assert_eq!(identity.additional_gids, [10, 29]);
        assert_eq!(identity.home, "/home/app");
    }

    #[test]
    fn explicit_group_drops_supplementary_groups() {
        let identity = resolve_identity(Some("app:wheel"), Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((identity.uid, identity.gid), (1000, 10));
        assert!(identity.additional_gids.is_empty());
    }

    #[test]
    fn unknown_numbers_work_and_unknown_names_fail() {
        let identity = resolve_identity(Some("4242"), None, None).unwrap();
        assert_eq!((identity.uid, identity.gid), (4242, 0));
        assert_eq!(identity.home, "/");
        assert_eq!(
            resolve_identity(Some("nobody"), Some(PASSWD), Some(GROUP)),
            Err(IdentityError::UnknownUser("nobody".into()))
        );
        assert_eq!(
            resolve_identity(Some("app:staff"), Some(PASSWD), Some(GROUP)),
            Err(IdentityError::UnknownGroup("staff".into()))
        );
    }
}
