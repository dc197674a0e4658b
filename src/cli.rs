//! The command line, as clap types. Flag names, spellings and meanings follow
//! `docker buildx build`; values are parsed into `settings` types, so a bad
//! value is a usage error that names the flag. Nothing here does any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::graph::{Platform, Reference};
use crate::settings::{
    BuildArg, BuildContextSpec, CacheSpec, CallSpec, Isolation, Label, Network, OutputSpec,
    Progress, SecretSpec, SnapshotterChoice, SshSpec,
};

/// A daemonless, rootless container image builder.
#[derive(Debug, Parser)]
#[command(name = "xb", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an image from a Dockerfile.
    Build(Box<BuildArgs>),
    /// Print version information.
    Version,
    /// Print a shell completion script.
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Show the store's disk usage.
    Du(DuArgs),
    /// Remove build cache from the store.
    Prune(PruneArgs),
    /// Run a command inside the user namespace builds use (as `podman
    /// unshare`): to inspect or remove store files owned by subordinate ids.
    Unshare {
        /// The command and its arguments (default: `$SHELL`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },
}

/// Where the store lives; shared by the commands that manage it.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The store directory (default: `$XDG_DATA_HOME/xb`, else `~/.local/share/xb`).
    #[arg(long, env = "XB_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// `xb du [--verbose]`.
#[derive(Debug, Args)]
pub struct DuArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// List every cache record, reference and blob.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `xb prune [OPTIONS]`, as `docker buildx prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Also remove resolved image tags and what only they keep.
    #[arg(short, long)]
    pub all: bool,

    /// Keep the most recently used entries up to this size (e.g. `10GB`, `512MiB`).
    #[arg(long = "keep-storage", value_name = "SIZE")]
    pub keep_storage: Option<String>,

    /// Filter what to remove: `until=DURATION` (e.g. `24h`, `30m`) removes
    /// only entries unused for that long.
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,

    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// `xb build [OPTIONS] CONTEXT`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Build options")]
#[expect(clippy::struct_excessive_bools, reason = "one field per buildx switch")]
pub struct BuildArgs {
    /// The build context: a directory, or `-` to read a tar (or a lone
    /// Dockerfile) from standard input.
    #[arg(value_name = "CONTEXT")]
    pub context: PathBuf,

    /// Name of the Dockerfile (default: `CONTEXT/Dockerfile`); `-` reads it from standard input.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Name and optionally a tag for the image (`name:tag`).
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<Reference>,

    /// Set a build-time variable (`KEY=VALUE`; a bare `KEY` takes it from the environment).
    #[arg(long = "build-arg", value_name = "KEY[=VALUE]")]
    pub build_args: Vec<BuildArg>,

    /// The stage to build (default: the last one).
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,

    /// Target platform(s), e.g. `linux/amd64` (comma-separated or repeated).
    #[arg(long = "platform", value_name = "PLATFORM", value_delimiter = ',')]
    pub platforms: Vec<Platform>,

    /// Output destination: `type=oci,dest=out.tar`, `type=docker,dest=…`,
    /// `type=local,dest=dir`, `type=tar,dest=…`, `type=image,name=…,push=true`, `-`, or a directory.
    #[arg(short = 'o', long = "output", value_name = "SPEC")]
    pub outputs: Vec<OutputSpec>,

    /// Push the image to its registry (shorthand for `--output=type=registry`).
    #[arg(long)]
    pub push: bool,

    /// Load the image into a local image store (shorthand for `--output=type=docker`).
    #[arg(long)]
    pub load: bool,

    /// External cache sources (`type=registry,ref=…`, `type=local,src=…`).
    #[arg(long = "cache-from", value_name = "SPEC")]
    pub cache_from: Vec<CacheSpec>,

    /// Cache export destinations (`type=registry,ref=…`, `type=local,dest=…`).
    #[arg(long = "cache-to", value_name = "SPEC")]
    pub cache_to: Vec<CacheSpec>,

    /// Do not use the cache when building.
    #[arg(long = "no-cache")]
    pub no_cache: bool,

    /// Do not use the cache for the named stages.
    #[arg(long = "no-cache-filter", value_name = "STAGE", value_delimiter = ',')]
    pub no_cache_filter: Vec<String>,

    /// Always look for newer versions of base images.
    #[arg(long)]
    pub pull: bool,

    /// A secret for `RUN --mount=type=secret` (`id=x,src=file` or `id=x,env=VAR`).
    #[arg(long = "secret", value_name = "SPEC")]
    pub secrets: Vec<SecretSpec>,

    /// An SSH agent socket or keys for `RUN --mount=type=ssh` (`default` or `id=path[,path]`).
    #[arg(long = "ssh", value_name = "SPEC")]
    pub ssh: Vec<SshSpec>,

    /// The network RUN steps get.
    #[arg(long, value_enum, default_value_t = Network::Default)]
    pub network: Network,

    /// How RUN steps are isolated.
    #[arg(long, value_enum, default_value_t = Isolation::Auto)]
    pub isolation: Isolation,

    /// How RUN steps get their root filesystem.
    #[arg(long, value_enum, default_value_t = SnapshotterChoice::Auto)]
    pub snapshotter: SnapshotterChoice,

    /// Set metadata for the image (`KEY=VALUE`).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<Label>,

    /// An additional named context (`name=dir`, `name=docker-image://ref`, `name=oci-layout://path:tag`).
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    pub build_contexts: Vec<BuildContextSpec>,

    /// How to show build progress (the last one given wins).
    #[arg(long, value_enum, default_value_t = Progress::Auto, overrides_with = "progress")]
    pub progress: Progress,

    /// Write the image ID to this file.
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,

    /// Write build result metadata (JSON) to this file.
    #[arg(long = "metadata-file", value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,

    /// What to do: `build` (default), `check`, `outline` or `targets`; add `,format=json` for JSON.
    #[arg(long, value_name = "REQUEST", default_value = "build")]
    pub call: CallSpec,

    /// Shorthand for `--call=check`.
    #[arg(long, conflicts_with = "call")]
    pub check: bool,

    /// Print only the image ID on success; suppress the build output.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// The store for cache and layers (default: `$XDG_DATA_HOME/xb`, else `~/.local/share/xb`).
    #[arg(long, value_name = "DIR", env = "XB_ROOT", help_heading = "xb options")]
    pub root: Option<PathBuf>,

    /// A registry host reached over plain HTTP (loopback hosts always are).
    #[arg(
        long = "insecure-registry",
        value_name = "HOST",
        help_heading = "xb options"
    )]
    pub insecure_registries: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn build_reads_repeated_and_delimited_flags() {
        let cli = Cli::try_parse_from([
            "xb",
            "build",
            "-t",
            "app:1",
            "--tag=app:2",
            "--platform=linux/amd64,linux/arm64",
            "--no-cache-filter",
            "a,b",
            "--build-arg",
            "A=1",
            "-o",
            "type=oci,dest=out.tar",
            ".",
        ])
        .unwrap();
        let Command::Build(args) = cli.command else {
            panic!("not a build")
        };
        assert_eq!(args.tags.len(), 2);
        assert_eq!(args.platforms.len(), 2);
        assert_eq!(args.no_cache_filter, ["a", "b"]);
        assert_eq!(args.outputs.len(), 1);
    }

    #[test]
    fn build_rejects_bad_values_naming_the_flag() {
        let error = Cli::try_parse_from(["xb", "build", "--output", "type=nope", "."]).unwrap_err();
        assert!(error.to_string().contains("--output"), "{error}");
        let error = Cli::try_parse_from(["xb", "build", "-t", "Bad:Tag", "."]).unwrap_err();
        assert!(error.to_string().contains("--tag"), "{error}");
        let error = Cli::try_parse_from(["xb", "build", "--call", "lint", "."]).unwrap_err();
        assert!(error.to_string().contains("--call"), "{error}");
    }

    #[test]
    fn prune_reads_its_flags() {
        let cli = Cli::try_parse_from([
            "xb",
            "prune",
            "--root",
            "/s",
            "-af",
            "--keep-storage",
            "1GB",
            "--filter",
            "until=24h",
        ])
        .unwrap();
        let Command::Prune(args) = cli.command else {
            panic!("not a prune")
        };
        assert!(args.all && args.force);
        assert_eq!(args.store.root, Some(PathBuf::from("/s")));
        assert_eq!(args.keep_storage.as_deref(), Some("1GB"));
        assert_eq!(args.filters, ["until=24h"]);
    }
}
