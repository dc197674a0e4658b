//! BuildKit's parser corpus (`conformance/buildkit-parser`, see its
//! `FORMAT.md`) run against [`parse`]: the `testfiles` dumps, the negative
//! files, the line-number file and the heredoc tables transcribed from
//! BuildKit's tests. One test walks every case and reports `N/N passed`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::heredoc::find_heredocs;
use super::{Heredoc, chomp_heredoc_content, dump, parse, parse_heredoc_word};
use crate::frontend::Source;
use crate::test_support::conformance_dir;

/// Counts cases and collects the failures.
#[derive(Debug, Default)]
struct Tally {
    total: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, case: &str, result: Result<(), String>) {
        self.total += 1;
        if let Err(why) = result {
            self.failures.push(format!("{case}: {why}"));
        }
    }
}

fn read(path: &Path) -> String {
    fs_err::read_to_string(path).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// The case folders under `dir`, sorted.
fn cases(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut cases: Vec<_> = fs_err::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn parse_file(path: &Path) -> Result<super::Document, String> {
    let source = Source::new(path.display().to_string(), read(path));
    parse(&source).map_err(|error| error.render())
}

/// Line-by-line comparison, marking the lines that differ.
fn diff(expected: &str, actual: &str) -> String {
    let expected: Vec<&str> = expected.split('\n').collect();
    let actual: Vec<&str> = actual.split('\n').collect();
    let mut out = String::from("dump differs (- expected, + actual):");
    for index in 0..expected.len().max(actual.len()) {
        match (expected.get(index), actual.get(index)) {
            (Some(want), Some(got)) if want == got => {}
            (want, got) => {
                if let Some(want) = want {
                    let _ = write!(out, "\n  -{index:>3}: {want:?}");
                }
                if let Some(got) = got {
                    let _ = write!(out, "\n  +{index:>3}: {got:?}");
                }
            }
        }
    }
    out
}

fn check_dump(case: &Path) -> Result<(), String> {
    let document = parse_file(&case.join("Dockerfile"))?;
    let expected = read(&case.join("result"));
    let actual = dump(&document);
    if actual == expected {
        Ok(())
    } else {
        Err(diff(&expected, &actual))
    }
}

fn check_negative(case: &Path) -> Result<(), String> {
    match parse_file(&case.join("Dockerfile")) {
        Ok(document) => Err(format!("parsed but must fail:\n{}", dump(&document))),
        Err(_) => Ok(()),
    }
}

fn check_lines(dir: &Path) -> Result<(), String> {
    let document = parse_file(&dir.join("Dockerfile"))?;
    let lines = |span: crate::frontend::Span| (span.start.line, span.end.line);
    let root = lines(document.span);
    let children: Vec<_> = document.nodes.iter().map(|node| lines(node.span)).collect();
    if root == (5, 31) && children == [(5, 5), (11, 12), (17, 31)] {
        Ok(())
    } else {
        Err(format!(
            "want root (5, 31) and children [(5, 5), (11, 12), (17, 31)], got {root:?} and {children:?}"
        ))
    }
}

/// The heredocs a transcribed table expects (`null` means none).
fn expected_heredocs(value: &Value) -> Vec<Heredoc> {
    let Some(list) = value.as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|heredoc| Heredoc {
            name: heredoc["Name"].as_str().unwrap().to_owned(),
            content: heredoc["Content"].as_str().unwrap().to_owned(),
            expand: heredoc["Expand"].as_bool().unwrap(),
            chomp: heredoc["Chomp"].as_bool().unwrap(),
            file_descriptor: u32::try_from(heredoc["FileDescriptor"].as_u64().unwrap()).unwrap(),
        })
        .collect()
}

fn check_heredoc_table(tally: &mut Tally, dir: &Path, name: &str) {
    let document = parse_file(&dir.join(format!("{name}.Dockerfile")));
    let table = read_json(&dir.join(format!("{name}.expected.json")));
    for case in table["cases"].as_array().unwrap() {
        let index = usize::try_from(case["child_index"].as_u64().unwrap()).unwrap();
        let result = document
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|document| {
                let node = document
                    .nodes
                    .get(index)
                    .ok_or_else(|| format!("no child {index}"))?;
                if let Some(line) = case.get("instruction_line").and_then(Value::as_str) {
                    if node.original != line {
                        return Err(format!("child is {:?}, want {line:?}", node.original));
                    }
                }
                let want = expected_heredocs(&case["heredocs"]);
                if node.heredocs == want {
                    Ok(())
                } else {
                    Err(format!("heredocs {:?}, want {want:?}", node.heredocs))
                }
            });
        tally.check(&format!("derived-heredoc/{name} child {index}"), result);
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect()
}

fn check_heredoc_helpers(tally: &mut Tally, dir: &Path) {
    let table = read_json(&dir.join("ParseHeredocHelpers.json"));
    let words = &table["ParseHeredoc_single_word"];
    for word in strings(&words["valid_name_is_EOF"]) {
        let result = match parse_heredoc_word(word) {
            Ok(Some(heredoc)) if heredoc.name == "EOF" => Ok(()),
            other => Err(format!("got {other:?}, want the heredoc EOF")),
        };
        tally.check(&format!("heredoc word {word:?}"), result);
    }
    for word in strings(&words["error"]) {
        let result = match parse_heredoc_word(word) {
            Err(_) => Ok(()),
            other => Err(format!("got {other:?}, want an error")),
        };
        tally.check(&format!("heredoc word {word:?}"), result);
    }
    for word in strings(&words["not_a_heredoc_nil_no_error"]) {
        let result = match parse_heredoc_word(word) {
            Ok(None) => Ok(()),
            other => Err(format!("got {other:?}, want no heredoc")),
        };
        tally.check(&format!("heredoc word {word:?}"), result);
    }
    for case in table["heredocsFromLine"].as_array().unwrap() {
        let line = case["line"].as_str().unwrap();
        let want = strings(&case["names"]);
        // As upstream: the heredocs found are compared with the start of the list.
        let result = match find_heredocs(line) {
            Ok(found) => {
                let names: Vec<&str> = found
                    .iter()
                    .map(|found| found.heredoc.name.as_str())
                    .collect();
                if want.starts_with(&names) {
                    Ok(())
                } else {
                    Err(format!("names {names:?}, want {want:?}"))
                }
            }
            Err((_, error)) => Err(format!("error {error}")),
        };
        tally.check(&format!("heredocs in line {line:?}"), result);
    }
    let chomp = &table["ChompHeredocContent"];
    let (input, want) = (
        chomp["in"].as_str().unwrap(),
        chomp["out"].as_str().unwrap(),
    );
    let got = chomp_heredoc_content(input);
    let result = if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    };
    tally.check("chomp heredoc content", result);
}

#[test]
fn buildkit_parser_corpus() {
    let Some(dir) = conformance_dir("buildkit-parser") else {
        return;
    };
    let mut tally = Tally::default();
    for case in cases(&dir.join("testfiles")) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        tally.check(&format!("testfiles/{name}"), check_dump(&case));
    }
    for case in cases(&dir.join("testfiles-negative")) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        tally.check(&format!("testfiles-negative/{name}"), check_negative(&case));
    }
    tally.check("testfile-line", check_lines(&dir.join("testfile-line")));
    let heredocs = dir.join("derived-heredoc");
    check_heredoc_table(&mut tally, &heredocs, "TestParseExtractsHeredoc");
    check_heredoc_table(&mut tally, &heredocs, "TestParseJSONHeredoc");
    check_heredoc_helpers(&mut tally, &heredocs);

    let passed = tally.total - tally.failures.len();
    println!("buildkit-parser: {passed}/{} passed", tally.total);
    for failure in &tally.failures {
        println!("FAIL {failure}");
    }
    assert!(
        tally.failures.is_empty(),
        "{} case(s) failed",
        tally.failures.len()
    );
}
