//! Rules for the test suite itself.

use std::path::{Path, PathBuf};

/// The reason every ignored test gives: CI runs the suite on PostgreSQL with `--include-ignored`,
/// so an ignored test is a PostgreSQL-only test and nothing else.
const POSTGRES_ONLY: &str =
    "PostgreSQL only: run with CONNECT_TEST_DATABASE=postgres cargo test -- --include-ignored";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A test ignored for any other reason would be swept into the PostgreSQL run by
/// `--include-ignored` (and an ignored doc-test block would be compiled and run there too); a
/// PostgreSQL-only test must say so and check the backend, so that running it on SQLite fails
/// rather than passing without testing anything.
#[test]
fn every_ignored_test_is_a_postgresql_only_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    let attribute = format!("#[ignore = \"{POSTGRES_ONLY}\"]");
    let mut problems = Vec::new();
    let mut postgres_only = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let name = file.strip_prefix(root).unwrap().display();
        for (i, line) in lines.iter().enumerate() {
            let line = line.trim();
            if line
                .trim_start_matches(['/', '!'])
                .trim_start()
                .starts_with("```ignore")
            {
                problems.push(format!(
                    "{name}:{}: an ignored doc-test block (use `text` or `no_run`)",
                    i + 1
                ));
            }
            if !line.starts_with("#[ignore") {
                continue;
            }
            if line != attribute {
                problems.push(format!(
                    "{name}:{}: `{line}`: the only reason to ignore a test is `{POSTGRES_ONLY}`",
                    i + 1
                ));
                continue;
            }
            postgres_only += 1;
            let body = lines[i + 1..]
                .iter()
                .skip_while(|l| !l.contains("fn "))
                .nth(1)
                .map(|l| l.trim());
            if body != Some("require_postgres();") {
                problems.push(format!(
                    "{name}:{}: a PostgreSQL-only test starts with `require_postgres();`",
                    i + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        postgres_only >= 2,
        "found {postgres_only} PostgreSQL-only tests"
    );
}
