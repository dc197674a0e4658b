//! The sandbox's filesystem, built by pid 1 inside its private mount
//! namespace: the root (overlay or bind), a new `/proc`, a minimal `/dev`,
//! read-only `/sys`, the `/etc` files, the caller's mounts, masked `/proc`
//! paths, then `pivot_root`. Mount points that the image lacks are created
//! and reported, so the caller can keep them out of the layer. Targets are
//! resolved component by component under the root: a symlink in the image
//! can never send a mount outside it.

use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::statvfs::{FsFlags, statvfs};

use super::report::SetupFailure;
use super::spec::{Mount, RootFs, SandboxSpec};

/// Devices bind-mounted from the host (`mknod` is refused in a user
/// namespace).
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// `/proc` files and directories hidden from the command, as runc does.
const MASKED: [&str; 12] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// `/proc` paths the command may read but not write.
const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// overlayfs takes at most one page of options; longer lowerdir lists go
/// through short symlinks.
const MAX_OPTIONS: usize = 3500;

fn fail<'a>(action: &str, path: &'a Path) -> impl FnOnce(nix::Error) -> SetupFailure + 'a {
    let action = action.to_owned();
    move |error| SetupFailure::new(&action, path, error)
}

/// A path for overlay's option string: `\`, `,` and `:` escaped.
fn escape(path: &Path) -> String {
    let mut text = String::new();
    for c in path.display().to_string().chars() {
        if matches!(c, '\\' | ',' | ':') {
            text.push('\\');
        }
        text.push(c);
    }
    text
}

/// Mounts an overlay at `target`. Long lower lists are given as short
/// symlinks in `links`, relative to it as the working directory.
fn mount_overlay(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    links: &Path,
) -> Result<(), SetupFailure> {
    let joined: Vec<String> = lower.iter().map(|dir| escape(dir)).collect();
    let mut lowerdir = joined.join(":");
    if lowerdir.len() > MAX_OPTIONS {
        fs_err::create_dir_all(links).map_err(|error| SetupFailure::io("create", links, &error))?;
        let mut short = Vec::new();
        for (index, dir) in lower.iter().enumerate() {
            let link = links.join(index.to_string());
            std::os::unix::fs::symlink(dir, &link)
                .map_err(|error| SetupFailure::io("link", &link, &error))?;
            short.push(index.to_string());
        }
        nix::unistd::chdir(links).map_err(fail("change to", links))?;
        lowerdir = short.join(":");
    }
    let options = format!(
        "lowerdir={lowerdir},upperdir={},workdir={},userxattr",
        escape(upper),
        escape(work)
    );
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(fail("mount overlay", target))
}

/// Flags a bind remount must keep (the kernel refuses to drop locked ones).
fn locked_flags(path: &Path) -> MsFlags {
    let mut flags = MsFlags::empty();
    if let Ok(stat) = statvfs(path) {
        let have = stat.flags();
        for (fs, ms) in [
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
            (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
        ] {
            if have.contains(fs) {
                flags |= ms;
            }
        }
    }
    flags
}

fn bind(source: &Path, target: &Path, readonly: bool) -> Result<(), SetupFailure> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(fail("bind-mount", target))?;
    if readonly {
        remount_readonly(target)?;
    }
    Ok(())
}

fn remount_readonly(target: &Path) -> Result<(), SetupFailure> {
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(target),
        None::<&str>,
    )
    .map_err(fail("make read-only", target))
}

/// What a missing mount point should be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
}

/// Resolves `inside` (absolute, in the image) under `root` without leaving
/// it, creating what is missing as `kind` (parents as directories).
/// Returns the host path; records every created path (image paths).
fn resolve_target(
    root: &Path,
    inside: &str,
    kind: Kind,
    created: &mut Vec<String>,
) -> Result<PathBuf, SetupFailure> {
    let mut pending: Vec<String> = components(inside);
    pending.reverse();
    let mut current: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            current.pop();
            continue;
        }
        let candidate = host_path(root, &current).join(&name);
        match fs_err::symlink_metadata(&candidate) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(SetupFailure::other(
                        "resolve mount target",
                        inside,
                        "too many levels of symbolic links",
                    ));
                }
                let target = fs_err::read_link(&candidate)
                    .map_err(|error| SetupFailure::io("read link", &candidate, &error))?;
                let target = target.display().to_string();
                if target.starts_with('/') {
                    current.clear();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
            }
            Ok(_) => current.push(name),
            Err(_) => {
                let last = pending.is_empty();
                if last && kind == Kind::File {
                    fs_err::write(&candidate, b"").map_err(|error| {
                        SetupFailure::io("create mount point", &candidate, &error)
                    })?;
                } else {
                    fs_err::create_dir(&candidate).map_err(|error| {
                        SetupFailure::io("create mount point", &candidate, &error)
                    })?;
                }
                current.push(name);
                created.push(format!("/{}", current.join("/")));
            }
        }
    }
    Ok(host_path(root, &current))
}

fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            _ => None,
        })
        .collect()
}

fn host_path(root: &Path, parts: &[String]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(parts);
    path
}

/// Builds the whole filesystem and pivots into it. Returns the mount points
/// created in the image.
pub(crate) fn build(spec: &SandboxSpec) -> Result<Vec<String>, SetupFailure> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(fail("make mounts private", Path::new("/")))?;
    let base = spec.scratch.clone().ok_or_else(|| {
        SetupFailure::other("find scratch", "", "the spec names no scratch directory")
    })?;
    mount(
        Some("tmpfs"),
        &base,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755,size=16m"),
    )
    .map_err(fail("mount tmpfs", &base))?;
    let root = base.join("root");
    fs_err::create_dir(&root).map_err(|error| SetupFailure::io("create", &root, &error))?;
    match &spec.root {
        RootFs::Overlay { lower, upper, work } => {
            mount_overlay(lower, upper, work, &root, &base.join("links"))?;
        }
        RootFs::Directory(dir) => bind(dir, &root, false)?,
    }
    let mut created = Vec::new();
    mount_proc(&root, &mut created)?;
    mount_dev(&root, &mut created)?;
    mount_sys(&root, &mut created)?;
    mount_etc(spec, &base, &root, &mut created)?;
    for (index, extra) in spec.mounts.iter().enumerate() {
        mount_extra(extra, index, &base, &root, &mut created)?;
    }
    mask_proc(&root)?;
    nix::unistd::chdir(&root).map_err(fail("change to", &root))?;
    nix::unistd::pivot_root(".", ".").map_err(fail("pivot_root", &root))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(fail("detach the old root", Path::new("/")))?;
    nix::unistd::chdir("/").map_err(fail("change to", Path::new("/")))?;
    Ok(created)
}

fn mount_proc(root: &Path, created: &mut Vec<String>) -> Result<(), SetupFailure> {
    let proc = resolve_target(root, "/proc", Kind::Dir, created)?;
    mount(
        Some("proc"),
        &proc,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(fail("mount proc", &proc))
}

fn mount_dev(root: &Path, created: &mut Vec<String>) -> Result<(), SetupFailure> {
    let dev = resolve_target(root, "/dev", Kind::Dir, created)?;
    mount(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=0755,size=65536k"),
    )
    .map_err(fail("mount tmpfs", &dev))?;
    for device in DEVICES {
        let target = dev.join(device);
        fs_err::write(&target, b"").map_err(|error| SetupFailure::io("create", &target, &error))?;
        bind(&Path::new("/dev").join(device), &target, false)?;
    }
    let pts = dev.join("pts");
    fs_err::create_dir(&pts).map_err(|error| SetupFailure::io("create", &pts, &error))?;
    mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .map_err(fail("mount devpts", &pts))?;
    let shm = dev.join("shm");
    fs_err::create_dir(&shm).map_err(|error| SetupFailure::io("create", &shm, &error))?;
    mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(fail("mount tmpfs", &shm))?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let path = dev.join(link);
        std::os::unix::fs::symlink(target, &path)
            .map_err(|error| SetupFailure::io("link", &path, &error))?;
    }
    Ok(())
}

fn mount_sys(root: &Path, created: &mut Vec<String>) -> Result<(), SetupFailure> {
    let sys = resolve_target(root, "/sys", Kind::Dir, created)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY;
    if mount(Some("sysfs"), &sys, Some("sysfs"), flags, None::<&str>).is_ok() {
        return Ok(());
    }
    // A user namespace that does not own the network namespace may not
    // mount sysfs: show the host's, read-only, as rootless runtimes do.
    bind(Path::new("/sys"), &sys, true)
}

fn mount_etc(
    spec: &SandboxSpec,
    base: &Path,
    root: &Path,
    created: &mut Vec<String>,
) -> Result<(), SetupFailure> {
    for (name, contents) in [
        ("hosts", spec.hosts.clone()),
        ("resolv.conf", spec.resolv_conf.clone()),
        ("hostname", format!("{}\n", spec.hostname)),
    ] {
        let source = base.join(format!("etc-{name}"));
        fs_err::write(&source, contents)
            .map_err(|error| SetupFailure::io("write", &source, &error))?;
        let target = resolve_target(root, &format!("/etc/{name}"), Kind::File, created)?;
        bind(&source, &target, true)?;
    }
    Ok(())
}

fn mount_extra(
    extra: &Mount,
    index: usize,
    base: &Path,
    root: &Path,
    created: &mut Vec<String>,
) -> Result<(), SetupFailure> {
    match extra {
        Mount::Bind {
            source,
            target,
            readonly,
        } => {
            let kind = if source.is_dir() {
                Kind::Dir
            } else {
                Kind::File
            };
            let path = resolve_target(root, target, kind, created)?;
            bind(source, &path, *readonly)
        }
        Mount::Tmpfs { target, size } => {
            let path = resolve_target(root, target, Kind::Dir, created)?;
            let options = match size {
                Some(bytes) => format!("mode=1777,size={bytes}"),
                None => "mode=1777".to_owned(),
            };
            mount(
                Some("tmpfs"),
                &path,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(options.as_str()),
            )
            .map_err(fail("mount tmpfs", &path))
        }
        Mount::Overlay {
            lower,
            upper,
            work,
            subpath,
            target,
            readonly,
        } => {
            let staging = base.join(format!("mount-{index}"));
            fs_err::create_dir(&staging)
                .map_err(|error| SetupFailure::io("create", &staging, &error))?;
            mount_overlay(
                lower,
                upper,
                work,
                &staging,
                &base.join(format!("links-{index}")),
            )?;
            let mut inner = Vec::new();
            let source = resolve_target(&staging, subpath, Kind::Dir, &mut inner)?;
            if !inner.is_empty() {
                return Err(SetupFailure::other(
                    "mount",
                    subpath,
                    "the source path does not exist in the mounted stage or image",
                ));
            }
            let kind = if source.is_dir() {
                Kind::Dir
            } else {
                Kind::File
            };
            let path = resolve_target(root, target, kind, created)?;
            bind(&source, &path, *readonly)
        }
    }
}

fn mask_proc(root: &Path) -> Result<(), SetupFailure> {
    let within = |inside: &str| root.join(inside.trim_start_matches('/'));
    for inside in MASKED {
        let path = within(inside);
        match fs_err::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_dir() => mount(
                Some("tmpfs"),
                &path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                Some("size=0"),
            )
            .map_err(fail("mask", &path))?,
            Ok(_) => bind(Path::new("/dev/null"), &path, false)?,
            Err(_) => {}
        }
    }
    for inside in READ_ONLY {
        let path = within(inside);
        if path.exists() {
            bind(&path, &path, true)?;
        }
    }
    Ok(())
}

/// Creates the working directory (as root, as Docker does) and returns it.
pub(crate) fn make_workdir(cwd: &str) -> Result<PathBuf, SetupFailure> {
    let cwd = if cwd.is_empty() { "/" } else { cwd };
    let path = PathBuf::from(cwd);
    fs_err::create_dir_all(&path)
        .map_err(|error| SetupFailure::io("create the working directory", &path, &error))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(root.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/../../../../tmp", root.path().join("escape")).unwrap();
        std::os::unix::fs::symlink("../../..", root.path().join("etc/up")).unwrap();
        let mut created = Vec::new();
        let path = resolve_target(root.path(), "/escape/x", Kind::Dir, &mut created).unwrap();
        assert_eq!(path, root.path().join("tmp/x"));
        let path =
            resolve_target(root.path(), "/etc/up/etc/hosts", Kind::File, &mut created).unwrap();
        assert_eq!(path, root.path().join("etc/hosts"));
        assert!(path.is_file());
        assert_eq!(created, ["/tmp", "/tmp/x", "/etc/hosts"]);
    }

    #[test]
    fn overlay_paths_are_escaped() {
        assert_eq!(escape(Path::new("/a,b:c\\d")), "/a\\,b\\:c\\\\d");
    }
}
