//! The layering of `src/`, checked: every `crate::<module>` reference must point to a lower layer
//! (see ARCHITECTURE.md). A new top-level module must be given its layer here, so adding one is a
//! conscious choice; a reference upwards or sideways within a layer fails with the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules by layer, bottom first. A module may use modules of lower layers only; the
/// domain modules are ordered among themselves (a later one may use an earlier one).
const LAYERS: &[&[&str]] = &[
    &["error", "schema", "files"],
    &["core", "db"],
    &["validation", "config"],
    &["http"],
    &["auth"],
    &["state"],
    // Domain modules, each above the ones it builds on.
    &["audit"],
    &["notifications"],
    // Webhooks: every module that emits an event sits above.
    &["webhooks"],
    &["organisations"],
    &["people"],
    &["drugs"],
    &["agreements"],
    &["cohorts"],
    &["allocations"],
    &["bodies"],
    &["decisions"],
    &["meetings"],
    // Personal calendar feeds and scheduling polls, built on meetings.
    &["calendar", "polls"],
    &["users"],
    &["invitations"],
    &["accounts"],
    // The application: wiring, pages, the spec, seeding.
    &["openapi", "pages", "operational"],
    &["seed"],
    &["startup"],
];

fn rank_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

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

/// `(module it names, line number)` for every `crate::<module>` outside `#[cfg(test)]` code.
fn references(source: &str) -> Vec<(String, usize)> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                !after.starts_with('{'),
                "line {}: `crate::{{…}}` hides which modules are used; name each",
                n + 1
            );
            found.push((name, n + 1));
            rest = after;
        }
    }
    found
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "main" || top == "lib" {
            continue; // the binary and the crate root sit above everything
        }
        let Some(own) = rank_of(&top) else {
            violations.push(format!(
                "src/{rel}: module `{top}` has no layer in tests/api/architecture.rs"
            ));
            continue;
        };
        let source = std::fs::read_to_string(&file).unwrap();
        for (used, line) in references(&source) {
            if used == top {
                continue;
            }
            *edges.entry((top.clone(), used.clone())).or_default() += 1;
            match rank_of(&used) {
                Some(r) if r < own => {}
                Some(_) => violations.push(format!(
                    "src/{rel}:{line}: `{top}` uses `{used}`, which is not in a lower layer"
                )),
                None => violations.push(format!(
                    "src/{rel}:{line}: `{used}` has no layer in tests/api/architecture.rs"
                )),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violated:\n{}",
        violations.join("\n")
    );
    // The check must have something to check: the domain modules do reach down.
    assert!(edges.contains_key(&("organisations".into(), "auth".into())));
}

#[test]
fn the_checker_sees_references() {
    let found = references(
        "use crate::auth::Caller;\nfn f() { crate::core::now(); }\n// crate::x\n#[cfg(test)]\nuse crate::startup;",
    );
    assert_eq!(found, vec![("auth".into(), 1), ("core".into(), 2)]);
}

/// Access is decided in `src/auth/policy/` only: elsewhere no code asks whether the caller is an
/// admin, matches on their standing, or filters by membership status literals.
#[test]
fn access_is_decided_only_in_the_policy_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let forbidden = [".is_admin()", "Standing::", "\"partner\"", "\"observer\""];
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // The policy itself; where `is_admin`, the membership values and the seats' roles (whose
        // `observer` is a role in a body, not a standing) are defined; the e-mail templates'
        // sample values, which decide nothing.
        if rel.starts_with("auth/policy/")
            || matches!(
                rel.as_str(),
                "auth/caller.rs"
                    | "core/membership.rs"
                    | "core/governance.rs"
                    | "notifications/templates.rs"
            )
        {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        let code = source.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            // Doc comments and `json!` examples in schema attributes are not decisions.
            if trimmed.starts_with("//") || trimmed.starts_with('"') {
                continue;
            }
            for pattern in forbidden {
                if line.contains(pattern) {
                    found.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "access decided outside src/auth/policy/:\n{}",
        found.join("\n")
    );
}
