//! The BuildKit shell corpus (`conformance/buildkit-shell`, described by its
//! `FORMAT.md`) as one test: `envVarTest`, `wordsTest`, the derived
//! `TestProcessWithMatches` table and the parts of the small tables that
//! apply to this implementation. The data is read as-is; a case is never
//! singled out by its input.
//!
//! Not applicable: the Windows-only lines of `envVarTest` (env keys are
//! case-sensitive here) and `reverseString`, a helper of BuildKit's regex
//! translation that this glob matcher has no counterpart for. The regex table
//! is checked through the parsed tokens, written out in the same regex syntax.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use serde::Deserialize;

use super::pattern::{Pattern, Token};
use super::{Lexer, vars_from_entries};
use crate::test_support::conformance_dir;

/// Cases run, and what went wrong.
#[derive(Default)]
struct Tally {
    run: usize,
    failures: Vec<String>,
    not_applicable: Vec<String>,
}

impl Tally {
    fn check(&mut self, case: &str, outcome: Result<(), String>) {
        self.run += 1;
        if let Err(why) = outcome {
            self.failures.push(format!("{case}: {why}"));
        }
    }
}

/// An expected value, or `None` for "must fail".
fn compare<T: PartialEq + Debug, E: std::fmt::Display>(
    got: Result<T, E>,
    want: Option<&T>,
) -> Result<(), String> {
    match (got, want) {
        (Err(_), None) => Ok(()),
        (Ok(got), None) => Err(format!("want an error, got {got:?}")),
        (Ok(got), Some(want)) if got == *want => Ok(()),
        (Ok(got), Some(want)) => Err(format!("want {want:?}, got {got:?}")),
        (Err(error), Some(want)) => Err(format!("want {want:?}, got error: {error}")),
    }
}

fn read(dir: &Path, name: &str) -> String {
    fs_err::read_to_string(dir.join(name)).unwrap()
}

/// `PLATFORM|SOURCE|EXPECTED` through `expand_word`.
fn run_env_var_test(dir: &Path, tally: &mut Tally) {
    let vars = vars_from_entries(&["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]);
    let lexer = Lexer::new('\\');
    let mut windows_only = 0;
    for (index, line) in read(dir, "envVarTest").lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let [platform, source, expected] = fields[..] else {
            panic!("envVarTest:{}: want PLATFORM|SOURCE|EXPECTED", index + 1);
        };
        match platform {
            "A" | "U" => {}
            "W" => {
                windows_only += 1;
                continue;
            }
            other => panic!("envVarTest:{}: unknown platform {other:?}", index + 1),
        }
        let want = (expected != "error").then(|| expected.to_owned());
        let got = lexer
            .expand_word(source, &vars)
            .map(|expanded| expanded.value);
        tally.check(
            &format!("envVarTest:{} {source:?}", index + 1),
            compare(got, want.as_ref()),
        );
    }
    tally
        .not_applicable
        .push(format!("{windows_only} windows-only cases not applicable"));
}

/// `ENV k=v` lines and `INPUT | a,b,c` through `expand_words`.
fn run_words_test(dir: &Path, tally: &mut Tally) {
    let lexer = Lexer::new('\\');
    let mut env: Vec<(String, String)> = Vec::new();
    for (index, line) in read(dir, "wordsTest").lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(entry) = line.strip_prefix("ENV ") {
            env.extend(vars_from_entries(&[entry.trim_start_matches(' ')]));
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        let [input, expected] = fields[..] else {
            panic!("wordsTest:{}: want INPUT | WORDS", index + 1);
        };
        let input = input.trim();
        let expected = expected.trim_start_matches(' ');
        let want: Option<Vec<String>> =
            (expected != "error").then(|| expected.split(',').map(str::to_owned).collect());
        let got = lexer
            .expand_words(input, &env)
            .map(|expanded| expanded.words);
        tally.check(
            &format!("wordsTest:{} {input:?}", index + 1),
            compare(got, want.as_ref()),
        );
    }
}

#[derive(Deserialize)]
struct MatchesTable {
    cases: Vec<MatchesCase>,
}

#[derive(Deserialize)]
struct MatchesCase {
    input: String,
    envs: BTreeMap<String, String>,
    expected: Option<String>,
    #[serde(rename = "expectedErr")]
    expected_err: bool,
    matches: Vec<String>,
    unmatched: Vec<String>,
}

/// `derived/TestProcessWithMatches.json`: the value and the looked-up names.
fn run_matches_table(dir: &Path, tally: &mut Tally) {
    let table: MatchesTable =
        serde_json::from_str(&read(dir, "derived/TestProcessWithMatches.json")).unwrap();
    let lexer = Lexer::new('\\');
    for (index, case) in table.cases.iter().enumerate() {
        let got = lexer.expand_word(&case.input, &case.envs).map(|expanded| {
            (
                expanded.value,
                expanded.matched.into_iter().collect::<Vec<_>>(),
                expanded.unmatched.into_iter().collect::<Vec<_>>(),
            )
        });
        let want = if case.expected_err {
            None
        } else {
            let mut matches = case.matches.clone();
            let mut unmatched = case.unmatched.clone();
            matches.sort();
            unmatched.sort();
            Some((
                case.expected.clone().unwrap_or_default(),
                matches,
                unmatched,
            ))
        };
        tally.check(
            &format!("TestProcessWithMatches[{index}] {:?}", case.input),
            compare(got, want.as_ref()),
        );
    }
}

#[derive(Deserialize)]
struct SmallTables {
    #[serde(rename = "TestShellParserMandatoryEnvVars")]
    mandatory: CaseList<MandatoryCase>,
    #[serde(rename = "TestProcessWithMatchesPlatform")]
    platform: PlatformTable,
    #[serde(rename = "TestGetEnv")]
    get_env: CaseList<GetEnvCase>,
    #[serde(rename = "convertShellPatternToRegex_greedy_anchored")]
    pattern_regex: PatternRegexTable,
    #[serde(rename = "reversePattern")]
    reverse_pattern: BTreeMap<String, String>,
    #[serde(rename = "reverseString")]
    reverse_string: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct CaseList<T> {
    cases: Vec<T>,
}

#[derive(Deserialize)]
struct MandatoryCase {
    input: String,
    env: Vec<String>,
    expected: Option<String>,
    error_contains: Option<String>,
}

#[derive(Deserialize)]
struct PlatformTable {
    input: String,
    cases: Vec<PlatformCase>,
}

#[derive(Deserialize)]
struct PlatformCase {
    env: BTreeMap<String, String>,
    expected: String,
}

#[derive(Deserialize)]
struct GetEnvCase {
    env: Vec<String>,
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct PatternRegexTable {
    valid: BTreeMap<String, String>,
    invalid: Vec<String>,
}

/// The parsed pattern in the anchored, greedy regex syntax the table uses.
fn as_anchored_regex(pattern: &Pattern) -> String {
    let mut regex = String::from("^");
    for token in pattern.tokens() {
        match *token {
            Token::AnyRun => regex.push_str(".*"),
            Token::AnyChar => regex.push('.'),
            Token::Literal(c) => {
                if r"\.+*?()|[]{}^$".contains(c) {
                    regex.push('\\');
                }
                regex.push(c);
            }
        }
    }
    regex
}

/// `derived/lex_small_tables.json`.
fn run_small_tables(dir: &Path, tally: &mut Tally) {
    let tables: SmallTables =
        serde_json::from_str(&read(dir, "derived/lex_small_tables.json")).unwrap();
    let lexer = Lexer::new('\\');

    for (index, case) in tables.mandatory.cases.iter().enumerate() {
        let vars = vars_from_entries(&case.env);
        let got = lexer.expand_word(&case.input, &vars);
        let outcome = match (&case.error_contains, got) {
            (Some(needle), Err(error)) if error.message.contains(needle.as_str()) => Ok(()),
            (Some(needle), Err(error)) => {
                Err(format!("want an error with {needle:?}, got {error}"))
            }
            (Some(_), Ok(got)) => Err(format!("want an error, got {:?}", got.value)),
            (None, got) => compare(got.map(|expanded| expanded.value), case.expected.as_ref()),
        };
        tally.check(
            &format!("TestShellParserMandatoryEnvVars[{index}] {:?}", case.input),
            outcome,
        );
    }

    for (index, case) in tables.platform.cases.iter().enumerate() {
        let got = lexer
            .expand_word(&tables.platform.input, &case.env)
            .map(|expanded| expanded.value);
        tally.check(
            &format!("TestProcessWithMatchesPlatform[{index}]"),
            compare(got, Some(&case.expected)),
        );
    }

    for (index, case) in tables.get_env.cases.iter().enumerate() {
        let vars = vars_from_entries(&case.env);
        let got: Result<String, String> = Ok(super::Vars::lookup(&vars, &case.name)
            .unwrap_or("")
            .to_owned());
        tally.check(
            &format!("TestGetEnv[{index}] {:?}", case.env),
            compare(got, Some(&case.value)),
        );
    }

    for (text, regex) in &tables.pattern_regex.valid {
        let got = Pattern::parse(text).map(|pattern| as_anchored_regex(&pattern));
        tally.check(&format!("pattern {text:?}"), compare(got, Some(regex)));
    }
    for text in &tables.pattern_regex.invalid {
        let got = Pattern::parse(text).map(|pattern| as_anchored_regex(&pattern));
        tally.check(&format!("pattern {text:?}"), compare(got, None));
    }

    // Suffixes are matched with the reversed token list; it must agree with
    // BuildKit's reversal of the pattern text, including which are invalid.
    for (text, reversed) in &tables.reverse_pattern {
        let got = Pattern::parse(text).map(|pattern| {
            let mut tokens = pattern.tokens().to_vec();
            tokens.reverse();
            tokens
        });
        let want = Pattern::parse(reversed).map(|pattern| pattern.tokens().to_vec());
        let outcome = match (got, want) {
            (Err(_), Err(_)) => Ok(()),
            (got, want) => compare(got, want.ok().as_ref()),
        };
        tally.check(&format!("reversePattern {text:?}"), outcome);
    }

    tally.not_applicable.push(format!(
        "{} reverseString cases not applicable: a helper of BuildKit's regex matcher",
        tables.reverse_string.len()
    ));
}

#[test]
fn buildkit_shell_corpus_passes() {
    let Some(dir) = conformance_dir("buildkit-shell") else {
        return;
    };
    let mut tally = Tally::default();
    run_env_var_test(&dir, &mut tally);
    run_words_test(&dir, &mut tally);
    run_matches_table(&dir, &mut tally);
    run_small_tables(&dir, &mut tally);

    for failure in &tally.failures {
        println!("FAIL {failure}");
    }
    let passed = tally.run - tally.failures.len();
    println!("buildkit-shell: {passed}/{} passed", tally.run);
    println!("({})", tally.not_applicable.join("; "));
    assert!(
        tally.failures.is_empty(),
        "{} of {} buildkit-shell cases failed",
        tally.failures.len(),
        tally.run
    );
}
