//! The final image config: a base image's config (or none, for scratch)
//! with a stage's [`ImageConfig`] changes applied as BuildKit applies them,
//! the target platform, the creation time, history and the layers' diff ids.
//!
//! The JSON follows Docker's image struct (the OCI config plus Docker's
//! `Healthcheck`, `OnBuild` and `Shell`), fields in Go's order; fields xb
//! does not model, at the top level and inside `config`, are carried over
//! from the base untouched (see [`super::config_file`]). Which steps produce which layers is the
//! solver's; the history lines come from [`super::history`].

use std::time::{Duration, SystemTime};

use super::Error;
pub use super::config_file::{HealthConfig, History, ImageConfigFile, RootFs, RuntimeConfig};
use super::history::HistoryEntry;
use crate::frontend::instructions::Healthcheck;
use crate::frontend::lower::plan::{ImageConfig, Setting};
use crate::graph::{Digest, Platform};

/// The history comment BuildKit's Dockerfile frontend writes.
pub const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

/// What goes into a final image config besides the base and the changes.
#[derive(Debug, Clone)]
pub struct ConfigInputs<'a> {
    pub platform: &'a Platform,
    /// `created`, and the time of every new history entry.
    pub created: SystemTime,
    /// The history of this build's steps, in order.
    pub history: Vec<HistoryEntry>,
    /// Diff ids of the layers this build added, bottom first.
    pub new_diff_ids: Vec<Digest>,
}

/// The creation time: `SOURCE_DATE_EPOCH` seconds when given, else now.
pub fn creation_time(source_date_epoch: Option<u64>) -> SystemTime {
    source_date_epoch.map_or_else(SystemTime::now, |seconds| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    })
}

/// RFC 3339 in UTC as Go writes a `time.Time` (fraction only when non-zero,
/// trailing zeros dropped).
pub fn format_created(time: SystemTime) -> String {
    let text = humantime::format_rfc3339_nanos(time).to_string();
    // `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`
    let Some((seconds, fraction)) = text.trim_end_matches('Z').split_once('.') else {
        return text;
    };
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{seconds}Z")
    } else {
        format!("{seconds}.{fraction}Z")
    }
}

fn set_env(env: &mut Vec<String>, name: &str, value: &str) {
    let entry = format!("{name}={value}");
    let existing = env
        .iter_mut()
        .find(|line| line.split_once('=').map_or(line.as_str(), |(key, _)| key) == name);
    match existing {
        Some(line) => *line = entry,
        None => env.push(entry),
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Docker's healthcheck for a HEALTHCHECK instruction.
pub fn health_config(check: &Healthcheck) -> HealthConfig {
    match check {
        Healthcheck::None => HealthConfig {
            test: vec!["NONE".to_owned()],
            ..HealthConfig::default()
        },
        Healthcheck::Check(check) => HealthConfig {
            test: check.test(),
            interval: nanos(check.interval),
            timeout: nanos(check.timeout),
            start_period: nanos(check.start_period),
            start_interval: nanos(check.start_interval),
            retries: u64::from(check.retries),
        },
    }
}

/// Applies a stage's config changes to a runtime config, as BuildKit's
/// dispatchers do one instruction after another.
pub fn apply_changes(config: &mut RuntimeConfig, changes: &ImageConfig) {
    for (name, value) in &changes.env {
        set_env(&mut config.env, name, value);
    }
    config.labels.extend(changes.labels.clone());
    if let Some(user) = &changes.user {
        config.user.clone_from(user);
    }
    if let Some(workdir) = &changes.workdir {
        config.working_dir.clone_from(workdir);
    }
    match &changes.entrypoint {
        Setting::Inherit => {}
        Setting::Cleared => config.entrypoint.clear(),
        Setting::Set(args) => config.entrypoint.clone_from(args),
    }
    match &changes.cmd {
        Setting::Inherit => {}
        Setting::Cleared => config.cmd.clear(),
        Setting::Set(args) => config.cmd.clone_from(args),
    }
    if let Some(shell) = &changes.shell {
        config.shell.clone_from(shell);
    }
    for port in &changes.exposed_ports {
        config.exposed_ports.insert(port.clone());
    }
    for volume in &changes.volumes {
        config.volumes.insert(volume.clone());
    }
    if let Some(signal) = &changes.stop_signal {
        config.stop_signal.clone_from(signal);
    }
    if let Some(check) = &changes.healthcheck {
        config.healthcheck = Some(health_config(check));
    }
    // A base's triggers ran in this build; only the stage's own remain.
    config.on_build.clone_from(&changes.onbuild);
    // Meaningful only on Windows; xb builds Linux images.
    config.args_escaped = false;
}

/// Builds the final config JSON: `base` (a config blob, or `None` for
/// scratch) with `changes` applied, then platform, creation time, history
/// and diff ids. Unknown base fields are kept.
pub fn build_config(
    base: Option<&[u8]>,
    changes: &ImageConfig,
    inputs: &ConfigInputs<'_>,
) -> Result<Vec<u8>, Error> {
    let mut image = if let Some(bytes) = base {
        serde_json::from_slice::<ImageConfigFile>(bytes).map_err(Error::ParseBaseConfig)?
    } else {
        // BuildKit's `emptyImage`.
        let mut image = ImageConfigFile::default();
        "/".clone_into(&mut image.config.working_dir);
        image
    };
    apply_changes(&mut image.config, changes);
    if let Some(author) = &changes.author {
        image.author = Some(author.clone());
    }
    if image.platform_differs(inputs.platform) {
        image.os_version = None;
        image.os_features = None;
    }
    image.architecture.clone_from(&inputs.platform.architecture);
    image.os.clone_from(&inputs.platform.os);
    image.variant.clone_from(&inputs.platform.variant);
    let created = format_created(inputs.created);
    image.created = Some(created.clone());
    "layers".clone_into(&mut image.rootfs.kind);
    image
        .rootfs
        .diff_ids
        .extend(inputs.new_diff_ids.iter().copied());
    let mut new_history: Vec<History> = inputs
        .history
        .iter()
        .map(|entry| History {
            created: Some(created.clone()),
            created_by: Some(entry.created_by.clone()),
            author: None,
            comment: Some(HISTORY_COMMENT.to_owned()),
            empty_layer: entry.empty_layer,
        })
        .collect();
    let base_layers = image.rootfs.diff_ids.len() - inputs.new_diff_ids.len();
    normalize_history(
        &mut image.history,
        base_layers,
        &mut new_history,
        inputs.new_diff_ids.len(),
        &created,
    );
    image.history.extend(new_history);
    Ok(serde_json::to_vec(&image).expect("an image config always serializes"))
}

impl ImageConfigFile {
    fn platform_differs(&self, platform: &Platform) -> bool {
        self.os != platform.os || self.architecture != platform.architecture
    }
}

/// Makes the history agree with the layers, as BuildKit's
/// `normalizeLayersAndHistory`: entries that claim more layers than exist
/// become empty from the first extra one on, and missing ones are added.
fn normalize_history(
    base: &mut [History],
    base_layers: usize,
    new: &mut Vec<History>,
    new_layers: usize,
    created: &str,
) {
    let mut counted = 0;
    for entry in base.iter_mut() {
        if !entry.empty_layer {
            if counted >= base_layers {
                entry.empty_layer = true;
            } else {
                counted += 1;
            }
        }
    }
    // A base without history for some layers: account for them in ours.
    let mut missing_base = base_layers - counted;
    let mut counted_new = 0;
    for entry in new.iter_mut() {
        if !entry.empty_layer {
            if counted_new >= new_layers {
                entry.empty_layer = true;
            } else {
                counted_new += 1;
            }
        }
    }
    let mut extra = Vec::new();
    while missing_base > 0 {
        extra.push(History {
            created: Some(created.to_owned()),
            created_by: None,
            author: None,
            comment: Some("buildkit.exporter.image.v0".to_owned()),
            empty_layer: false,
        });
        missing_base -= 1;
    }
    for _ in counted_new..new_layers {
        new.push(History {
            created: Some(created.to_owned()),
            created_by: None,
            author: None,
            comment: Some("buildkit.exporter.image.v0".to_owned()),
            empty_layer: false,
        });
    }
    extra.append(new);
    *new = extra;
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::frontend::Source;
    use crate::frontend::lower::{LowerOptions, lower};
    use crate::image::history::history_entry;

    fn platform() -> Platform {
        "linux/arm/v7".parse().unwrap()
    }

    /// Lowers `dockerfile` and builds its target's config over `base`.
    fn build(base: Option<Value>, dockerfile: &str) -> Value {
        let options = LowerOptions {
            target: None,
            build_args: Vec::new(),
            target_platform: platform(),
            build_platform: platform(),
        };
        let plan = lower(&Source::new("Dockerfile", dockerfile), &options).unwrap();
        let stage = plan.target_stage();
        let base = base.map(|value| serde_json::to_vec(&value).unwrap());
        let history: Vec<HistoryEntry> = stage.steps.iter().filter_map(history_entry).collect();
        let layers = history.iter().filter(|entry| !entry.empty_layer).count();
        let new_diff_ids = (0..layers)
            .map(|i| Digest::of(format!("layer {i}").as_bytes()))
            .collect();
        let inputs = ConfigInputs {
            platform: &platform(),
            created: creation_time(Some(1_700_000_000)),
            history,
            new_diff_ids,
        };
        let bytes = build_config(base.as_deref(), &stage.config, &inputs).unwrap();
        // The OCI reference types read every config xb writes.
        oci_spec::image::ImageConfiguration::from_reader(bytes.as_slice()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn busybox() -> Value {
        json!({
            "architecture": "arm",
            "os": "linux",
            "created": "2020-01-01T00:00:00Z",
            "config": {
                "Env": ["PATH=/usr/bin:/bin", "A=1", "B=2"],
                "Cmd": ["sh"],
                "Labels": {"base": "yes", "shared": "base"},
                "ExposedPorts": {"22/tcp": {}},
                "OnBuild": ["RUN echo base"],
                "ArgsEscaped": true,
                "Hostname": "",
                "Tty": false
            },
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(b"base").to_string()]},
            "history": [{"created_by": "ADD rootfs.tar /", "created": "2020-01-01T00:00:00Z"}],
            "unknown_extension": {"kept": true}
        })
    }

    #[test]
    fn env_replaces_in_place_and_appends_in_order() {
        let image = build(Some(busybox()), "FROM busybox\nENV B=two C=3\nENV A=one\n");
        assert_eq!(
            image["config"]["Env"],
            json!(["PATH=/usr/bin:/bin", "A=one", "B=two", "C=3"])
        );
    }

    #[test]
    fn entrypoint_resets_inherited_cmd() {
        let image = build(Some(busybox()), "FROM busybox\nENTRYPOINT [\"/app\"]\n");
        assert_eq!(image["config"]["Entrypoint"], json!(["/app"]));
        assert_eq!(image["config"].get("Cmd"), None);
        let kept = build(
            Some(busybox()),
            "FROM busybox\nCMD [\"serve\"]\nENTRYPOINT [\"/app\"]\n",
        );
        assert_eq!(kept["config"]["Cmd"], json!(["serve"]));
        let shell = build(Some(busybox()), "FROM busybox\nCMD echo hi\n");
        assert_eq!(shell["config"]["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(shell["config"].get("ArgsEscaped"), None);
    }

    #[test]
    fn labels_merge_and_ports_volumes_are_sets_of_empty_objects() {
        let image = build(
            Some(busybox()),
            "FROM busybox\nLABEL shared=stage new=1\nEXPOSE 80 53/udp\nVOLUME /data /cache\n",
        );
        let config = &image["config"];
        assert_eq!(
            config["Labels"],
            json!({"base": "yes", "new": "1", "shared": "stage"})
        );
        assert_eq!(
            config["ExposedPorts"],
            json!({"22/tcp": {}, "53/udp": {}, "80/tcp": {}})
        );
        assert_eq!(config["Volumes"], json!({"/cache": {}, "/data": {}}));
    }

    #[test]
    fn user_workdir_shell_stopsignal_and_onbuild_are_set() {
        let image = build(
            Some(busybox()),
            "FROM busybox\nUSER app:app\nWORKDIR /srv\nWORKDIR web\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nSTOPSIGNAL SIGQUIT\nONBUILD COPY . /src\nMAINTAINER someone\n",
        );
        let config = &image["config"];
        assert_eq!(config["User"], "app:app");
        assert_eq!(config["WorkingDir"], "/srv/web");
        assert_eq!(
            config["Shell"],
            json!(["/bin/ash", "-eo", "pipefail", "-c"])
        );
        assert_eq!(config["StopSignal"], "SIGQUIT");
        assert_eq!(config["OnBuild"], json!(["COPY . /src"]));
        assert_eq!(image["author"], "someone");
    }

    #[test]
    fn healthcheck_takes_docker_shape_in_nanoseconds() {
        let image = build(
            Some(busybox()),
            "FROM busybox\nHEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD wget -q localhost\n",
        );
        assert_eq!(
            image["config"]["Healthcheck"],
            json!({
                "Test": ["CMD-SHELL", "wget -q localhost"],
                "Interval": 30_000_000_000_u64,
                "Timeout": 90_000_000_000_u64,
                "Retries": 3
            })
        );
        let none = build(Some(busybox()), "FROM busybox\nHEALTHCHECK NONE\n");
        assert_eq!(none["config"]["Healthcheck"], json!({"Test": ["NONE"]}));
    }

    #[test]
    fn base_fields_xb_does_not_know_are_kept() {
        let image = build(Some(busybox()), "FROM busybox\nENV A=2\n");
        assert_eq!(image["unknown_extension"], json!({"kept": true}));
        assert_eq!(image["config"]["Hostname"], "");
        assert_eq!(image["config"]["Tty"], false);
        assert_eq!(image["config"].get("OnBuild"), None);
    }

    #[test]
    fn scratch_gets_buildkit_defaults_platform_and_epoch() {
        let image = build(None, "FROM scratch\nCOPY a /a\n");
        assert_eq!(image["architecture"], "arm");
        assert_eq!(image["variant"], "v7");
        assert_eq!(image["os"], "linux");
        assert_eq!(image["created"], "2023-11-14T22:13:20Z");
        assert_eq!(image["config"]["WorkingDir"], "/");
        assert_eq!(
            image["config"]["Env"],
            json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        );
        assert_eq!(
            image["rootfs"]["diff_ids"],
            json!([Digest::of(b"layer 0").to_string()])
        );
    }

    #[test]
    fn history_follows_base_and_matches_layers() {
        let image = build(
            Some(busybox()),
            "FROM busybox\nENV A=2\nCOPY a b /dst/\nCMD [\"x\"]\n",
        );
        assert_eq!(
            image["history"],
            json!([
                {"created": "2020-01-01T00:00:00Z", "created_by": "ADD rootfs.tar /"},
                {"created": "2023-11-14T22:13:20Z", "created_by": "ENV A=2", "comment": HISTORY_COMMENT, "empty_layer": true},
                {"created": "2023-11-14T22:13:20Z", "created_by": "COPY a b /dst/ # buildkit", "comment": HISTORY_COMMENT},
                {"created": "2023-11-14T22:13:20Z", "created_by": "CMD [\"x\"]", "comment": HISTORY_COMMENT, "empty_layer": true},
            ])
        );
        assert_eq!(image["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn history_is_normalized_when_layers_disagree() {
        let mut base = ImageConfigFile::default();
        base.rootfs.diff_ids = vec![Digest::of(b"a"), Digest::of(b"b")];
        let inputs = ConfigInputs {
            platform: &platform(),
            created: creation_time(Some(0)),
            history: vec![
                HistoryEntry {
                    created_by: "RUN x # buildkit".to_owned(),
                    empty_layer: false,
                },
                HistoryEntry {
                    created_by: "RUN y # buildkit".to_owned(),
                    empty_layer: false,
                },
            ],
            new_diff_ids: vec![Digest::of(b"c")],
        };
        let bytes = serde_json::to_vec(&base).unwrap();
        let image: ImageConfigFile = serde_json::from_slice(
            &build_config(Some(&bytes), &ImageConfig::default(), &inputs).unwrap(),
        )
        .unwrap();
        let layers = image
            .history
            .iter()
            .filter(|entry| !entry.empty_layer)
            .count();
        assert_eq!(layers, image.rootfs.diff_ids.len());
        assert_eq!(image.history.len(), 4);
        assert!(
            image.history[3].empty_layer,
            "the unaccounted RUN becomes empty"
        );
    }

    #[test]
    fn created_is_formatted_as_go_does() {
        let time = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(format_created(time), "2023-11-14T22:13:20.12Z");
        assert_eq!(
            format_created(creation_time(Some(0))),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn base_config_must_be_json() {
        let inputs = ConfigInputs {
            platform: &platform(),
            created: creation_time(Some(0)),
            history: Vec::new(),
            new_diff_ids: Vec::new(),
        };
        let error = build_config(Some(b"not json"), &ImageConfig::default(), &inputs).unwrap_err();
        assert!(matches!(error, Error::ParseBaseConfig(_)));
    }
}
