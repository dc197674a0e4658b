//! Checks STYLE.md's layering by scanning `use crate::…` paths in `src/`:
//! data flows `frontend → graph → solver → exporter`, `graph` imports nothing
//! from xb, `frontend` only `graph`, and nothing imports `commands`, `cli` or
//! `progress`. The leaf crates import neither xb nor the banned crates.

use std::path::Path;

use crate::common::source_root;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs_err::read_dir(dir).expect("read source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Top-level `crate::` modules a file imports (`use crate::a::…`, `crate::a::f()`).
fn crate_imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (index, _) in text.match_indices("crate::") {
        let before = text[..index].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[index + "crate::".len()..];
        let module: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !module.is_empty() {
            found.push(module);
        }
    }
    found
}

fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

#[test]
fn layering_follows_the_pipeline() {
    let src = source_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 10,
        "expected the xb sources under {}",
        src.display()
    );
    let mut violations = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = fs_err::read_to_string(file).expect("read source");
        for import in crate_imports(&text) {
            if import == module || import == "test_support" {
                continue;
            }
            let allowed = match module.as_str() {
                "graph" => false,
                "frontend" => matches!(import.as_str(), "graph"),
                "settings" | "source" => {
                    !matches!(import.as_str(), "commands" | "cli" | "progress")
                }
                "cli" => matches!(import.as_str(), "graph" | "settings"),
                "commands" | "main" | "lib" => true,
                _ => !matches!(import.as_str(), "commands" | "cli" | "progress"),
            };
            if !allowed {
                violations.push(format!("{} imports crate::{import}", file.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn leaf_crates_stay_leaves() {
    for crate_dir in ["runtime", "snapshotter"] {
        let manifest = fs_err::read_to_string(source_root().join(crate_dir).join("Cargo.toml"))
            .expect("read manifest");
        let dependencies = manifest.split("[dependencies]").nth(1).unwrap_or("");
        for banned in [
            "xb",
            "xb-runtime",
            "xb-snapshotter",
            "clap",
            "anyhow",
            "rayon",
            "indicatif",
            "libseccomp",
        ] {
            let listed = dependencies
                .lines()
                .any(|line| line.split(['=', ' ']).next() == Some(banned));
            assert!(
                !listed || banned == format!("xb-{crate_dir}"),
                "{crate_dir} depends on {banned}"
            );
        }
    }
}
