//! The default seccomp filters, with the intent of moby's default profile:
//! everything is allowed except calls that reach the kernel as a whole
//! (keyrings, modules, kexec, clocks, swap, reboot, quotas, BPF, perf),
//! mounts and new namespaces, and device nodes. Denied calls fail with
//! `EPERM`; `clone3` fails with `ENOSYS` so C libraries fall back to `clone`,
//! whose namespace flags a filter can see.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::HardeningError;

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// Calls denied whatever their arguments.
const DENIED: &[i64] = &[
    libc::SYS_acct,
    libc::SYS_add_key,
    libc::SYS_bpf,
    libc::SYS_clock_adjtime,
    libc::SYS_clock_settime,
    libc::SYS_delete_module,
    libc::SYS_finit_module,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fsopen,
    libc::SYS_fspick,
    libc::SYS_init_module,
    libc::SYS_kexec_file_load,
    libc::SYS_kexec_load,
    libc::SYS_keyctl,
    libc::SYS_lookup_dcookie,
    libc::SYS_mount,
    libc::SYS_mount_setattr,
    libc::SYS_move_mount,
    libc::SYS_name_to_handle_at,
    libc::SYS_open_by_handle_at,
    libc::SYS_open_tree,
    libc::SYS_perf_event_open,
    libc::SYS_pivot_root,
    libc::SYS_quotactl,
    libc::SYS_reboot,
    libc::SYS_request_key,
    libc::SYS_setns,
    libc::SYS_settimeofday,
    libc::SYS_swapoff,
    libc::SYS_swapon,
    libc::SYS_umount2,
    libc::SYS_unshare,
    libc::SYS_userfaultfd,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_uselib,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ustat,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_sysfs,
    #[cfg(target_arch = "x86_64")]
    libc::SYS__sysctl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_nfsservctl,
];

/// Namespace flags `clone` may not carry.
const NAMESPACE_FLAGS: [libc::c_int; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWCGROUP,
];

fn compile_error(error: impl std::fmt::Display) -> HardeningError {
    HardeningError::CompileSeccomp(error.to_string())
}

/// A rule matching when `(arg & mask) == value`.
fn masked(arg: u8, mask: u64, value: u64) -> Result<SeccompRule, HardeningError> {
    let condition = SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(mask),
        value,
    )
    .map_err(compile_error)?;
    SeccompRule::new(vec![condition]).map_err(compile_error)
}

fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    action: SeccompAction,
) -> Result<BpfProgram, HardeningError> {
    SeccompFilter::new(rules, SeccompAction::Allow, action, ARCH)
        .map_err(compile_error)?
        .try_into()
        .map_err(compile_error)
}

/// The filters to install, in order.
pub(crate) fn default_filters(ignore_chown: bool) -> Result<Vec<BpfProgram>, HardeningError> {
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|call| (*call, Vec::new())).collect();
    let namespace_rules = NAMESPACE_FLAGS
        .iter()
        .map(|flag| {
            let flag = u64::try_from(*flag).expect("flags are positive");
            masked(0, flag, flag)
        })
        .collect::<Result<Vec<_>, _>>()?;
    denied.insert(libc::SYS_clone, namespace_rules);
    // Block and character devices (mknod of a fifo or socket stays allowed).
    let file_type = u64::from(libc::S_IFMT);
    let devices = |arg: u8| -> Result<Vec<SeccompRule>, HardeningError> {
        Ok(vec![
            masked(arg, file_type, u64::from(libc::S_IFBLK))?,
            masked(arg, file_type, u64::from(libc::S_IFCHR))?,
        ])
    };
    #[cfg(target_arch = "x86_64")]
    denied.insert(libc::SYS_mknod, devices(1)?);
    denied.insert(libc::SYS_mknodat, devices(2)?);
    let errno = |code: i32| SeccompAction::Errno(u32::try_from(code).expect("errno is positive"));
    let mut filters = vec![compile(denied, errno(libc::EPERM))?];
    filters.push(compile(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        errno(libc::ENOSYS),
    )?);
    if ignore_chown {
        let mut chowns: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        for call in [
            libc::SYS_fchown,
            libc::SYS_fchownat,
            #[cfg(target_arch = "x86_64")]
            libc::SYS_chown,
            #[cfg(target_arch = "x86_64")]
            libc::SYS_lchown,
        ] {
            chowns.insert(call, Vec::new());
        }
        filters.push(compile(chowns, SeccompAction::Errno(0))?);
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filters_compile_for_this_machine() {
        assert_eq!(default_filters(false).unwrap().len(), 2);
        assert_eq!(default_filters(true).unwrap().len(), 3);
    }
}
