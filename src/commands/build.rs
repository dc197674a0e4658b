//! `xb build`: reads the context and Dockerfile, runs the frontend, and
//! answers `--call`, or builds: lowers the Dockerfile, converts it to a
//! graph, solves it with the store as cache, and writes each `--output`.

use std::io::Write as _;

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use xb_snapshotter::Snapshotter;

use crate::cli::BuildArgs;
use crate::exporter::ExportImage;
use crate::frontend::convert::{NamedContext, convert_with};
use crate::frontend::ignore::IgnoreRules;
use crate::frontend::lower::{
    Base, BaseConfig, BaseImages, ImageReference, LowerOptions, lower, lower_with,
};
use crate::frontend::{ParseError, Span};
use crate::graph::{Platform, Reference};
use crate::hint::Hinted;
use crate::image::options::ImageOutputOptions;
use crate::registry::{RegistryClient, RegistryOptions};
use crate::settings::{
    BuildContextSource, CallKind, CallSpec, Isolation, Network, OutputKind, OutputSpec, Progress,
    SnapshotterChoice,
};
use crate::solver::executor::{
    BackendChoice, BuildExecutor, IsolationChoice, LocalContext, RunSettings, SecretSource,
};
use crate::solver::solve;
use crate::source::context::{Context, read_build_input};
use crate::store::Store;

use super::{ExitStatus, call, export};

pub(super) fn build(args: &BuildArgs) -> anyhow::Result<ExitStatus> {
    let call = if args.check {
        CallSpec {
            kind: CallKind::Check,
            ..args.call
        }
    } else {
        args.call
    };
    if args.platforms.len() > 1 {
        bail!(Hinted::new(
            format!(
                "multi-platform builds ({} platforms) are not supported yet",
                args.platforms.len()
            ),
            "build one --platform at a time",
        ));
    }
    let input = read_build_input(&args.context, args.file.as_deref(), std::io::stdin().lock())?;
    let options = lower_options(args);
    if call.kind != CallKind::Build {
        warn_unused_flags(args, call.kind);
    }
    match call.kind {
        CallKind::Targets => call::targets(&input.dockerfile, call.format, args),
        CallKind::Outline => call::outline(&input.dockerfile, &options, call.format, args),
        CallKind::Check => call::check(&input.dockerfile, &options, call.format, args),
        CallKind::Build => run_build(&input, &options, args),
    }
}

fn lower_options(args: &BuildArgs) -> LowerOptions {
    let build_platform = Platform::host();
    LowerOptions {
        target: args.target.clone(),
        build_args: args
            .build_args
            .iter()
            .filter_map(|arg| Some((arg.key.clone(), arg.value.clone()?)))
            .collect(),
        target_platform: args
            .platforms
            .first()
            .cloned()
            .unwrap_or_else(|| build_platform.clone()),
        build_platform,
    }
}

/// The flags given that do something only when building.
fn build_only_flags(args: &BuildArgs) -> Vec<&'static str> {
    let given = [
        (!args.tags.is_empty(), "--tag"),
        (!args.outputs.is_empty(), "--output"),
        (args.push, "--push"),
        (args.load, "--load"),
        (!args.cache_from.is_empty(), "--cache-from"),
        (!args.cache_to.is_empty(), "--cache-to"),
        (args.no_cache, "--no-cache"),
        (!args.no_cache_filter.is_empty(), "--no-cache-filter"),
        (args.pull, "--pull"),
        (!args.labels.is_empty(), "--label"),
        (!args.build_contexts.is_empty(), "--build-context"),
        (args.iidfile.is_some(), "--iidfile"),
        (!args.insecure_registries.is_empty(), "--insecure-registry"),
    ];
    given
        .into_iter()
        .filter_map(|(set, flag)| set.then_some(flag))
        .collect()
}

fn warn_unused_flags(args: &BuildArgs, kind: CallKind) {
    let flags = build_only_flags(args);
    if !flags.is_empty() && args.progress != Progress::Quiet {
        let name = match kind {
            CallKind::Check => "check",
            CallKind::Outline => "outline",
            CallKind::Targets => "targets",
            CallKind::Build => "build",
        };
        tracing::warn!(
            "{} {} no effect with --call={name}",
            flags.join(", "),
            if flags.len() == 1 { "has" } else { "have" }
        );
    }
}

/// What every RUN of the build shares, from the flags.
fn run_settings(args: &BuildArgs) -> RunSettings {
    RunSettings {
        backend: match args.snapshotter {
            SnapshotterChoice::Auto => BackendChoice::Auto,
            SnapshotterChoice::Overlay => BackendChoice::Overlay,
            SnapshotterChoice::Native => BackendChoice::Native,
        },
        isolation: match args.isolation {
            Isolation::Auto => IsolationChoice::Auto,
            Isolation::Sandbox => IsolationChoice::Sandbox,
            Isolation::Chroot => IsolationChoice::Chroot,
        },
        network_none: args.network == Network::None,
        caller_only: xb_runtime::userns::BuildNamespace::current()
            == xb_runtime::userns::BuildNamespace::CallerOnly,
        secrets: args
            .secrets
            .iter()
            .map(|secret| {
                let source = match &secret.source {
                    crate::settings::SecretSource::File(path) => SecretSource::File(path.clone()),
                    crate::settings::SecretSource::Env(name) => SecretSource::Env(name.clone()),
                };
                (secret.id.clone(), source)
            })
            .collect(),
        ssh: args
            .ssh
            .iter()
            .map(|ssh| (ssh.id.clone(), ssh.paths.clone()))
            .collect(),
        ..RunSettings::default()
    }
}

/// Flags that are accepted but whose machinery has not landed.
fn refuse_unsupported(args: &BuildArgs) -> anyhow::Result<()> {
    let unsupported = [
        (args.load, "--load"),
        (!args.cache_from.is_empty(), "--cache-from"),
        (!args.cache_to.is_empty(), "--cache-to"),
    ];
    let named: Vec<&str> = unsupported
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect();
    if !named.is_empty() {
        bail!(Hinted::new(
            format!("not supported yet: {}", named.join(", ")),
            "these flags land with cache export and image loading; build without them for now",
        ));
    }
    Ok(())
}

/// `--call=build`: solve the target and write every output.
fn run_build(
    input: &crate::source::context::BuildInput,
    options: &LowerOptions,
    args: &BuildArgs,
) -> anyhow::Result<ExitStatus> {
    refuse_unsupported(args)?;
    let first_plan = lower(&input.dockerfile, options)?;
    let root = super::du::store_root(args.root.as_deref())?;
    let store = Store::open(&root)
        .with_context(|| format!("failed to open the store at {}", root.display()))?;
    let snapshotter = Snapshotter::open(store.dir("snapshots")?)?;
    let registry = RegistryClient::new(RegistryOptions {
        insecure_hosts: args.insecure_registries.clone(),
        docker_config: std::env::var_os("DOCKER_CONFIG")
            .map(|dir| std::path::PathBuf::from(dir).join("config.json")),
        ..RegistryOptions::default()
    });
    let stderr_is_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = if args.quiet {
        Progress::Quiet
    } else {
        args.progress
    };
    let mut display = crate::progress::reporter(progress, stderr_is_tty);
    let (named, named_dirs) = named_contexts(args)?;
    // Base images first: their configs (ENV, WORKDIR, USER, SHELL, ONBUILD)
    // shape how the Dockerfile expands and which triggers run.
    let base_configs = match base_image_configs(
        &first_plan,
        &options.target_platform,
        &store,
        &snapshotter,
        &registry,
        &*display,
        args.pull,
        &named,
    ) {
        Ok(configs) => configs,
        Err(error) => {
            display.on_build_done(std::time::SystemTime::now());
            let _ = display.finish();
            return Err(error);
        }
    };
    let plan = lower_with(&input.dockerfile, options, &base_configs)?;
    if let Some(skipped) = call::describe_skipped(&plan) {
        if !args.quiet && args.progress != Progress::Quiet {
            writeln!(std::io::stderr().lock(), "{skipped}")?;
        }
    }
    let build = convert_with(&plan, &options.target_platform, &named);
    let mut contexts = BTreeMap::new();
    let empty_context;
    let context_dir = match &input.context {
        Context::Directory(dir) => dir.clone(),
        Context::Empty => {
            empty_context = tempfile_dir(&store)?;
            empty_context.clone()
        }
        Context::StdinArchive => {
            bail!("building from a context tar on standard input is not supported yet")
        }
    };
    let rules = match &input.dockerfile_path {
        Some(dockerfile) => IgnoreRules::load(&context_dir, dockerfile)?
            .map(|(_, rules)| rules)
            .unwrap_or_default(),
        None => IgnoreRules::default(),
    };
    let rules = without_store(rules, &context_dir, store.root())?;
    contexts.insert("context".to_owned(), LocalContext::new(context_dir, rules));
    for (name, dir) in named_dirs {
        contexts.insert(name, LocalContext::new(dir, IgnoreRules::default()));
    }
    let no_cache_stages: Vec<usize> = plan
        .stages
        .iter()
        .filter(|stage| {
            stage.name.as_ref().is_some_and(|name| {
                args.no_cache_filter
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(name))
            })
        })
        .map(|stage| stage.index)
        .collect();
    let no_cache_lines: Vec<(usize, usize)> = no_cache_stages
        .iter()
        .map(|&index| {
            let stage = &plan.stages[index];
            let end = stage
                .steps
                .last()
                .map_or(stage.span.end.line, |step| step.span.end.line);
            (stage.span.start.line, end)
        })
        .collect();
    let graph = &build.graph;
    let no_cache_all = args.no_cache;
    let target = build.target_stage();
    let mut targets = vec![target.vertex];
    targets.extend(target.base_image_vertex);
    let run_settings = run_settings(args);
    let solved = {
        let executor = BuildExecutor {
            graph,
            store: &store,
            snapshotter: &snapshotter,
            registry: &registry,
            contexts,
            reporter: &*display,
            no_cache: Box::new(move |id| {
                no_cache_all
                    || graph.vertex(id).origin.lines.is_some_and(|(first, _)| {
                        no_cache_lines
                            .iter()
                            .any(|&(start, end)| start <= first && first <= end)
                    })
            }),
            pull: args.pull,
            run: &run_settings,
            event_offset: 1 << 32,
        };
        solve(graph, &targets, &executor)
    };
    display.on_build_done(std::time::SystemTime::now());
    let _ = display.finish();
    let outputs = solved.map_err(|failure| {
        let vertex = graph.vertex(failure.vertex);
        let message = format!(
            "{}: {:#}",
            vertex.origin.name,
            anyhow::Error::new(failure.error)
        );
        match vertex.origin.lines {
            Some((first, last)) => anyhow::Error::new(ParseError::new(
                &input.dockerfile,
                Span::lines(first, last),
                message,
            )),
            None => anyhow::anyhow!(message),
        }
    })?;
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|value| value.parse().ok());
    let parts = export::ImageParts {
        store: &store,
        snapshotter: &snapshotter,
        plan: &plan,
        build: &build,
        target: &outputs[0],
        base: outputs.get(1),
        epoch,
    };
    write_outputs(args, &parts, &registry)?;
    // The automatic size cap: least recently used records go, then the
    // layers only they used.
    if let Ok(report) = store.enforce_cap(crate::store::default_cap(&root)?) {
        if !report.removed.is_empty() {
            let _ = crate::solver::executor::sweep_snapshots(
                &store,
                &snapshotter,
                crate::solver::executor::SWEEP_GRACE,
            );
        }
    }
    Ok(ExitStatus::Success)
}

/// `rules` plus one excluding the store when it lies inside the context: a
/// build never sends xb's own cache (and other builds' scratch files in it)
/// as context.
fn without_store(
    rules: IgnoreRules,
    context: &std::path::Path,
    store: &std::path::Path,
) -> anyhow::Result<IgnoreRules> {
    let (Ok(context), Ok(store)) = (fs_err::canonicalize(context), fs_err::canonicalize(store))
    else {
        return Ok(rules);
    };
    let Ok(inside) = store.strip_prefix(&context) else {
        return Ok(rules);
    };
    if inside.as_os_str().is_empty() {
        bail!(
            "the store ({}) cannot be the build context itself",
            store.display()
        );
    }
    let mut text = String::new();
    for pattern in rules.patterns() {
        text.push_str(&pattern.to_string());
        text.push('\n');
    }
    text.push('/');
    text.push_str(&inside.display().to_string());
    text.push('\n');
    Ok(IgnoreRules::parse(&text, "<store exclusion>")?)
}

/// `--build-context` directories: name and path.
type NamedDirs = Vec<(String, std::path::PathBuf)>;

/// `--build-context` values as the conversion uses them, and the
/// directories among them.
fn named_contexts(args: &BuildArgs) -> anyhow::Result<(BTreeMap<String, NamedContext>, NamedDirs)> {
    let mut named = BTreeMap::new();
    let mut dirs = Vec::new();
    for spec in &args.build_contexts {
        let context = match &spec.source {
            BuildContextSource::Directory(dir) => {
                if !dir.is_dir() {
                    bail!(
                        "--build-context {}: {} is not a directory",
                        spec.name,
                        dir.display()
                    );
                }
                dirs.push((spec.name.clone(), dir.clone()));
                NamedContext::Directory
            }
            BuildContextSource::Image(reference) => NamedContext::Image(reference.canonical()),
            BuildContextSource::OciLayout { path, tag, digest } => NamedContext::OciLayout {
                path: fs_err::canonicalize(path)
                    .with_context(|| format!("--build-context {}", spec.name))?
                    .display()
                    .to_string(),
                tag: tag.clone(),
                digest: match digest {
                    Some(text) => Some(
                        text.parse()
                            .with_context(|| format!("--build-context {}", spec.name))?,
                    ),
                    None => None,
                },
            },
            BuildContextSource::Url(_) | BuildContextSource::Target(_) => bail!(
                "--build-context {}: URL and target: contexts are not supported yet",
                spec.name
            ),
        };
        named.insert(spec.name.clone(), context);
    }
    Ok((named, dirs))
}

/// Base image configs, as lowering asks for them.
struct PulledConfigs(Vec<(String, Platform, BaseConfig)>);

impl BaseImages for PulledConfigs {
    fn config(&self, reference: &ImageReference, platform: &Platform) -> Option<BaseConfig> {
        self.0
            .iter()
            .find(|(known, known_platform, _)| {
                *known == reference.normalized && known_platform == platform
            })
            .map(|(_, _, config)| config.clone())
    }
}

fn base_config_of(config: &[u8]) -> BaseConfig {
    let json: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    let runtime = &json["config"];
    let strings = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let non_empty =
        |value: &serde_json::Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    BaseConfig {
        env: strings(&runtime["Env"])
            .into_iter()
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) => (key.to_owned(), value.to_owned()),
                None => (pair, String::new()),
            })
            .collect(),
        workdir: non_empty(&runtime["WorkingDir"]),
        user: non_empty(&runtime["User"]),
        shell: Some(strings(&runtime["Shell"])).filter(|shell| !shell.is_empty()),
        onbuild: strings(&runtime["OnBuild"]),
    }
}

/// Pulls the images the needed stages start from and reads their configs.
fn base_image_configs(
    plan: &crate::frontend::lower::Plan,
    target_platform: &Platform,
    store: &Store,
    snapshotter: &Snapshotter,
    registry: &RegistryClient,
    reporter: &dyn crate::solver::event::Reporter,
    pull: bool,
    named: &BTreeMap<String, NamedContext>,
) -> anyhow::Result<PulledConfigs> {
    let mut graph = crate::graph::Graph::new();
    let mut wanted = Vec::new();
    for &index in &plan.needed {
        let stage = &plan.stages[index];
        if let Base::Image(reference) = &stage.base {
            let platform = stage
                .platform
                .clone()
                .unwrap_or_else(|| target_platform.clone());
            let mapped = named
                .get(&reference.written)
                .or_else(|| named.get(&reference.normalized));
            let op = match mapped {
                Some(NamedContext::Directory) => continue,
                Some(NamedContext::Image(image)) => crate::graph::SourceOp::Image {
                    reference: image.clone(),
                    platform: platform.clone(),
                },
                Some(NamedContext::OciLayout { path, tag, digest }) => {
                    crate::graph::SourceOp::OciLayout {
                        path: path.clone(),
                        tag: tag.clone(),
                        digest: *digest,
                        platform: platform.clone(),
                    }
                }
                None => crate::graph::SourceOp::Image {
                    reference: reference.normalized.clone(),
                    platform: platform.clone(),
                },
            };
            let vertex = graph.add(crate::graph::Vertex {
                op: crate::graph::Op::Source(op),
                inputs: Vec::new(),
                origin: crate::graph::Origin {
                    name: match mapped {
                        Some(_) => format!("[context {}] load metadata", reference.written),
                        None => format!("[internal] load metadata for {}", reference.normalized),
                    },
                    lines: None,
                },
            });
            if !wanted.iter().any(|(v, _, _)| *v == vertex) {
                wanted.push((vertex, reference.normalized.clone(), platform));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(PulledConfigs(Vec::new()));
    }
    let executor = BuildExecutor {
        graph: &graph,
        store,
        snapshotter,
        registry,
        contexts: BTreeMap::new(),
        reporter,
        no_cache: Box::new(|_| false),
        pull,
        run: &RunSettings::default(),
        event_offset: 0,
    };
    let targets: Vec<_> = wanted.iter().map(|(vertex, _, _)| *vertex).collect();
    let outputs = solve(&graph, &targets, &executor).map_err(|failure| {
        anyhow::anyhow!(
            "{}: {:#}",
            graph.vertex(failure.vertex).origin.name,
            anyhow::Error::new(failure.error)
        )
    })?;
    let mut configs = Vec::new();
    for ((_, reference, platform), output) in wanted.into_iter().zip(outputs) {
        if let Some(image) = &output.image {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut store.open_blob(&image.config_digest)?, &mut bytes)
                .context("failed to read a base image config")?;
            configs.push((reference, platform, base_config_of(&bytes)));
        }
    }
    Ok(PulledConfigs(configs))
}

fn tempfile_dir(store: &Store) -> anyhow::Result<std::path::PathBuf> {
    let dir = store
        .temp_dir()
        .join(format!("empty-context-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    Ok(dir)
}

fn write_outputs(
    args: &BuildArgs,
    parts: &export::ImageParts<'_>,
    registry: &RegistryClient,
) -> anyhow::Result<()> {
    let mut specs = args.outputs.clone();
    if args.push {
        specs.push(OutputSpec::push());
    }
    let tags: Vec<String> = args.tags.iter().map(ToString::to_string).collect();
    if specs.is_empty() {
        tracing::warn!(
            "no output specified: the build result stays in the cache only (use -o type=oci,dest=out.tar or --push)"
        );
    }
    let platform = parts.build.target_stage().platform.clone();
    let mut last_config = None;
    let mut last_manifest = None;
    let mut all_names = tags.clone();
    for spec in &specs {
        let options = ImageOutputOptions::from_spec(spec, &platform)?;
        // xb clamps the file times of every layer it writes whenever
        // SOURCE_DATE_EPOCH is set, and leaves base image layers as pulled,
        // which is what BuildKit's rewrite-timestamp=true does.
        if options.rewrite_timestamp && parts.epoch.is_none() {
            tracing::warn!("rewrite-timestamp is specified, but SOURCE_DATE_EPOCH is not set");
        }
        let mut names = tags.clone();
        names.extend(options.names.iter().cloned());
        all_names.extend(options.names.iter().cloned());
        match spec.kind {
            OutputKind::Oci | OutputKind::Docker => {
                let image = export::assemble(
                    parts,
                    options.compression,
                    options.force_compression,
                    options.oci_mediatypes,
                )?;
                let dest = spec.dest.clone().unwrap_or_else(|| "-".into());
                let export_image = ExportImage {
                    config: image.config.clone(),
                    layers: image.layers.clone(),
                    platform: platform.clone(),
                    names: names.clone(),
                    annotations: options.annotations.clone(),
                    oci_mediatypes: options.oci_mediatypes,
                    created: export::created(parts),
                };
                let result = if spec.kind == OutputKind::Oci {
                    crate::exporter::export_oci(&export_image, &dest, options.tar)?
                } else {
                    crate::exporter::export_docker(&export_image, &dest, options.tar)?
                };
                last_manifest = Some(result.manifest.digest);
                last_config = Some(image.config);
            }
            OutputKind::Image | OutputKind::Registry => {
                let push = spec.kind == OutputKind::Registry
                    || spec.attrs.get("push").map(String::as_str) == Some("true");
                if !push {
                    export::refuse("type=image without push=true (xb has no local image store)")?;
                }
                if names.is_empty() {
                    bail!(Hinted::new(
                        "pushing needs an image name",
                        "name the image with -t REGISTRY/NAME:TAG or name= in the output",
                    ));
                }
                let image = export::assemble(
                    parts,
                    options.compression,
                    options.force_compression,
                    options.oci_mediatypes,
                )?;
                let mount_from = parts
                    .base
                    .and_then(|base| base.image.as_ref())
                    .and_then(|image| image.reference.parse::<Reference>().ok());
                for name in &names {
                    let reference: Reference = name
                        .parse()
                        .with_context(|| format!("invalid image name {name:?}"))?;
                    let digest = export::push(
                        registry,
                        parts.store,
                        &image,
                        &reference,
                        options.oci_mediatypes,
                        &options.annotations,
                        mount_from.as_ref(),
                    )
                    .with_context(|| format!("failed to push {name}"))?;
                    last_manifest = Some(digest);
                }
                last_config = Some(image.config);
            }
            OutputKind::Local | OutputKind::Tar => {
                let dest = spec.dest.clone().unwrap_or_else(|| "-".into());
                let view = match parts.target.top() {
                    Some(top) => Some(parts.snapshotter.view(top)?),
                    None => None,
                };
                let clamp = parts.epoch.and_then(|epoch| i64::try_from(epoch).ok());
                let produce = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
                    match &view {
                        Some(view) => crate::exporter::write_view_tar(view, out, clamp),
                        None => tar::Builder::new(out).finish(),
                    }
                };
                let rootfs = crate::exporter::Rootfs::Tar(&produce);
                if spec.kind == OutputKind::Local {
                    crate::exporter::export_local(&rootfs, &dest)?;
                } else {
                    crate::exporter::export_tar(&rootfs, &dest, parts.epoch)?;
                }
            }
            OutputKind::CacheOnly => {}
        }
    }
    if let Some(config) = last_config {
        export::write_result_files(
            args.iidfile.as_ref(),
            args.metadata_file.as_ref(),
            &config,
            last_manifest,
            &all_names,
        )?;
        if args.quiet {
            writeln!(
                std::io::stdout().lock(),
                "{}",
                crate::graph::Digest::of(&config)
            )?;
        }
    }
    Ok(())
}
