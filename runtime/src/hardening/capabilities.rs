//! The default container capability set (moby's and containerd's
//! defaults): what a build step may do as root inside its namespaces.
//! Everything else is dropped from the bounding set, so no exec regains it.

use caps::{CapSet, Capability, CapsHashSet};

use super::HardeningError;

/// Docker's default set.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

fn failed(set: &'static str) -> impl FnOnce(caps::errors::CapsError) -> HardeningError {
    move |error| HardeningError::SetCapabilities {
        set,
        message: error.to_string(),
    }
}

/// Bounding set reduced to the default, then permitted, effective and
/// inheritable set to it (as far as the process holds them); ambient cleared.
pub(crate) fn apply_default() -> Result<(), HardeningError> {
    let wanted: CapsHashSet = DEFAULT_CAPABILITIES.into_iter().collect();
    // After a switch to another uid (with keep-caps) the effective set is
    // empty; dropping from the bounding set needs CAP_SETPCAP in it.
    let held = caps::read(None, CapSet::Permitted).map_err(failed("permitted"))?;
    caps::set(None, CapSet::Effective, &held).map_err(failed("effective"))?;
    for capability in caps::all() {
        if !wanted.contains(&capability) {
            caps::drop(None, CapSet::Bounding, capability).map_err(failed("bounding"))?;
        }
    }
    let keep: CapsHashSet = wanted.intersection(&held).copied().collect();
    caps::clear(None, CapSet::Ambient).map_err(failed("ambient"))?;
    caps::set(None, CapSet::Inheritable, &keep).map_err(failed("inheritable"))?;
    caps::set(None, CapSet::Effective, &keep).map_err(failed("effective"))?;
    caps::set(None, CapSet::Permitted, &keep).map_err(failed("permitted"))?;
    Ok(())
}
