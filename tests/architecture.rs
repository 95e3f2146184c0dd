//! Architectural invariants from ARCHITECTURE.md that a test can check.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::Path;

fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push((
                p.display().to_string(),
                fs::read_to_string(&p).unwrap_or_default(),
            ));
        }
    }
    out
}

/// The core's sources: src/core (the re-exports and api.rs) and every
/// workspace crate's src/ under crates/ (issue 12's split).
fn core_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources(&root.join("src/core"));
    let mut crates: Vec<_> = fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    crates.sort();
    assert!(crates.len() >= 4, "crates/ should hold the core's tiers");
    for c in crates {
        files.extend(sources(&c.join("src")));
    }
    files
}

#[test]
fn core_names_no_browser_crate() {
    let files = core_sources();
    assert!(files.len() >= 25, "the core's sources not found");
    for (path, text) in files {
        for banned in [
            "wasm_bindgen",
            "js_sys",
            "web_sys",
            "std::net",
            "std::fs",
            "std::time",
            "println!",
        ] {
            assert!(
                !text.contains(banned),
                "{path} uses {banned}: the core is sans-I/O"
            );
        }
    }
}

/// (`credentialType` is left out: the plan object returned to JS has a field of that name too.)
#[test]
fn gateway_keys_are_spelled_only_in_wire_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources(&root.join("src"));
    files.extend(sources(&root.join("crates")));
    for key in [
        "\"jitSettings\"",
        "\"jitElevation\"",
        "\"userRecordUid\"",
        "\"trickleICE\"",
        "\"allowSupplyUser\".into()",
    ] {
        let users: Vec<_> = files
            .iter()
            .filter(|(_, t)| t.contains(key))
            .map(|(p, _)| {
                // Relative to the repository, with the root crate's `src/` left off.
                let rel = Path::new(p).strip_prefix(root).unwrap_or(Path::new(p));
                let rel = rel.to_string_lossy().replace('\\', "/");
                rel.strip_prefix("src/").unwrap_or(&rel).to_string()
            })
            .collect();
        // The web layer's TypeScript text documents the shape; only wire.rs builds it.
        let builders: Vec<_> = users.iter().filter(|p| !p.starts_with("web/")).collect();
        assert_eq!(
            builders,
            vec![&"crates/pam-plan/src/wire.rs".to_string()],
            "{key} is spelled outside crates/pam-plan/src/wire.rs"
        );
    }
}

// ------------------------------------------------ the repository stands alone
//
// ARCHITECTURE.md, "Invariants": nothing in the code folders names a file
// outside the repository. The rule, in the words of this test:
// - no sibling-folder path (`..` then `shared`, in any spelling below);
// - no absolute path whose first component is a place that holds data or
//   homes (DATA_ROOTS), followed by a slash or ending the token, and no
//   home-relative path (a tilde, then a slash);
// - absolute paths into system locations (SYSTEM_ROOTS: programs, libraries,
//   kernel interfaces) are allowed: a system program is not repository data;
// - URL paths (`/signal/send`, `/pkg/web/`) are not filesystem paths and do
//   not start with any of these roots.
// The strings are spelled in pieces so that this file does not hit itself.

/// Folders of the repository that hold code, scripts and test data.
const SCANNED: [&str; 12] = [
    "src", "crates", "tests", "tools", "benches", "scripts", "fuzz", "www", "worker", "bin",
    "examples", ".ci",
];
/// Build and fuzzing output inside the scanned folders.
const NOT_SCANNED: [&str; 7] = [
    "fuzz/target",
    "fuzz/corpus",
    "fuzz/artifacts",
    "fuzz/coverage",
    "node_modules",
    "examples/extension/dist",
    "examples/node-runner/node_modules",
];
/// First components of absolute paths that hold data outside the repository.
const DATA_ROOTS: [&str; 22] = [
    "work",
    "home",
    "root",
    "tmp",
    "var",
    "mnt",
    "opt",
    "srv",
    "media",
    "run",
    "boot",
    "data",
    "shared",
    "workspace",
    "scratch",
    "builds",
    "Users",
    "Volumes",
    "private",
    "nix",
    "snap",
    "cygdrive",
];
/// First components that are allowed: system programs and kernel interfaces.
const SYSTEM_ROOTS: [&str; 9] = [
    "usr", "bin", "sbin", "lib", "lib64", "etc", "proc", "sys", "dev",
];

/// Characters after which a `/` starts a path (rather than continuing a
/// word, a number or a URL's host).
fn starts_path(prev: Option<char>) -> bool {
    match prev {
        None => true,
        Some(c) => c.is_whitespace() || "'\"`=([{,:;>|!".contains(c),
    }
}

/// Every outside-the-repository path in `text`, as (line number, what hit).
fn outside_paths(text: &str) -> Vec<(usize, String)> {
    let sibling = [
        format!("..{}shared", '/'),
        format!("{}shared{}", '/', '/'),
        format!("'..', '{}'", "shared"),
        format!("\"..\", \"{}\"", "shared"),
    ];
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for s in &sibling {
            if line.contains(s.as_str()) {
                hits.push((n + 1, s.clone()));
            }
        }
        let chars: Vec<char> = line.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            if !starts_path(prev) {
                continue;
            }
            if c == '~' && chars.get(i + 1) == Some(&'/') {
                hits.push((n + 1, format!("~{}", '/')));
                continue;
            }
            if c != '/' {
                continue;
            }
            let first: String = chars
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(**c))
                .collect();
            // The root ends the token or a slash follows: `/data channel/`
            // (a JS regular expression) is not a path.
            let after = chars.get(i + 1 + first.chars().count()).copied();
            let ends = after.is_none_or(|a| a == '/' || "'\"`),;:".contains(a));
            if ends && DATA_ROOTS.contains(&first.as_str()) {
                let path: String = chars
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| !c.is_whitespace() && !"'\"`),;".contains(**c))
                    .collect();
                hits.push((n + 1, path));
            }
        }
    }
    hits
}

/// The text files under `dir`, skipping [`NOT_SCANNED`], symlinks, the
/// recorded guacd streams (base64 data, not paths), logs (git-ignored run
/// output, e.g. the fuzzers' `fuzz/*.log`, which name their own folder) and
/// files that are not UTF-8.
fn text_files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.file_type().is_symlink() || NOT_SCANNED.iter().any(|s| rel == *s) {
            continue;
        }
        if meta.is_dir() {
            text_files(root, &p, out);
        } else if p.extension().is_some_and(|e| e == "guac" || e == "log") {
            continue;
        } else if let Ok(text) = fs::read_to_string(&p) {
            out.push((rel, text));
        }
    }
}

#[test]
fn no_path_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in SCANNED {
        text_files(root, &root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "only {} files found", files.len());
    let hits: Vec<String> = files
        .iter()
        .flat_map(|(path, text)| {
            outside_paths(text)
                .into_iter()
                .map(move |(line, what)| format!("{path}:{line}: {what}"))
        })
        .collect();
    assert!(
        hits.is_empty(),
        "paths outside the repository (ARCHITECTURE.md, Invariants):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_outside_path_rule_hits_and_passes_what_it_says() {
    let sep = '/';
    for planted in [
        format!("const f = '{sep}work{sep}shared{sep}reference{sep}x.txt';"),
        format!("let d = PathBuf::from(\"{sep}home{sep}me{sep}data\");"),
        format!("  cat {sep}tmp{sep}out.json"),
        format!("join(root, '..', '{}', 'fixtures')", "shared"),
        format!("see ..{sep}shared{sep}fixtures{sep}guac"),
        format!("cache=~{sep}.cache{sep}x"),
        format!("PATH={sep}usr{sep}bin:{sep}opt{sep}tool{sep}bin"),
        format!("const home = '{sep}home';"),
    ] {
        assert_eq!(
            outside_paths(&format!("ok\n{planted}\n"))
                .first()
                .map(|h| h.0),
            Some(2),
            "{planted}"
        );
    }
    for allowed in [
        format!("#!{sep}usr{sep}bin{sep}env node"),
        format!("const CHROMIUM = '{sep}usr{sep}bin{sep}chromium';"),
        format!(
            "exec 2>{sep}dev{sep}null; cat {sep}proc{sep}1{sep}ns{sep}net {sep}etc{sep}services"
        ),
        format!("fetch('{sep}signal{sep}send'); '{sep}pkg{sep}web{sep}'"),
        format!("http:{sep}{sep}127.0.0.1:8080{sep}tmp{sep}x"),
        format!("a{sep}work{sep}b and tests{sep}fixtures{sep}guac"),
        format!("assert.match(m, {sep}data channel to the gateway closed{sep});"),
    ] {
        assert_eq!(outside_paths(&allowed), vec![], "{allowed}");
    }
    for root in DATA_ROOTS {
        assert!(
            !outside_paths(&format!("x = \"{sep}{root}{sep}a\"")).is_empty(),
            "{root}"
        );
        assert!(!SYSTEM_ROOTS.contains(&root), "{root} is in both lists");
    }
    for root in SYSTEM_ROOTS {
        assert_eq!(
            outside_paths(&format!("x = \"{sep}{root}{sep}a\"")),
            vec![],
            "{root}"
        );
    }
}

/// Issue 12 (size): the module carries one float parser (serde_json's, through
/// `pam_error::num::parse_f64`), no float formatting of our own and no
/// Unicode case tables; each of these calls would bring one back (README,
/// "Size"). Test modules (after `#[cfg(test)]`) may use them.
#[test]
fn module_code_avoids_the_calls_that_bring_back_tables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = core_sources();
    files.extend(sources(&root.join("src/web")));
    assert!(files.len() >= 40, "the module's sources not found");
    for (path, text) in files {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for banned in [
            "parse::<f64>",
            "parse::<f32>",
            ".to_lowercase()",
            ".to_uppercase()",
        ] {
            assert!(
                !code.contains(banned),
                "{path} calls {banned}: use pam_error::num::parse_f64 or ASCII case folding (README, \"Size\")"
            );
        }
    }
}
