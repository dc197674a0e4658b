//! Where build inputs come from: the build context and the Dockerfile today;
//! image pulls, OCI layouts, git and http sources arrive with the solver.

pub mod context;
