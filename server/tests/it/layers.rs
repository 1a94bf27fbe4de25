//! The house's layering (docs/ARCHITECTURE.md, "Who may import what"), checked on the crate
//! graph that the compiler enforces and on the imports of the two doors that live in the
//! binary. A change that breaks a rule fails here with the rule's name.
//!
//! contract ← gad_core ← app (pages, server functions) ← server (REST, bot, binary)
//!     ↖─────────────────────────────────────────────────────┘

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Every workspace package: (name, its declared dependencies).
fn packages() -> Vec<(String, Vec<Value>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["dependencies"].as_array().unwrap().clone()))
        .collect()
}

fn deps_of<'a>(packages: &'a [(String, Vec<Value>)], name: &str) -> &'a [Value] {
    &packages.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("package {name} is in the workspace")).1
}

/// Normal (not dev, not build) dependencies: (name, optional, features asked for).
fn normal(deps: &[Value]) -> Vec<(String, bool, BTreeSet<String>)> {
    deps.iter()
        .filter(|d| d["kind"].is_null())
        .map(|d| {
            let features = d["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
            (d["name"].as_str().unwrap().to_owned(), d["optional"].as_bool().unwrap(), features)
        })
        .collect()
}

const WORKSPACE: [&str; 6] = ["contract", "gad-core", "app", "frontend", "server", "migrations"];
const LEPTOS: [&str; 5] = ["leptos", "leptos_axum", "leptos_router", "leptos_meta", "server_fn"];

#[test]
fn the_contract_depends_on_no_other_layer_and_stays_small() {
    let packages = packages();
    let deps = normal(deps_of(&packages, "contract"));
    for (name, optional, _) in &deps {
        assert!(!WORKSPACE.contains(&name.as_str()), "contract must not depend on {name}");
        // What the browser bundle gets from the contract: serde, chrono, the error type's
        // server_fn trait. Everything server-side is optional behind a feature.
        let always = ["serde", "serde_json", "chrono", "thiserror", "server_fn"];
        assert!(*optional || always.contains(&name.as_str()), "contract must take {name} only behind a feature");
    }
}

#[test]
fn the_core_knows_no_leptos_and_no_door() {
    let packages = packages();
    for (name, _, features) in normal(deps_of(&packages, "gad-core")) {
        assert!(!["app", "server", "frontend"].contains(&name.as_str()), "gad-core must not depend on {name}");
        assert!(!LEPTOS.contains(&name.as_str()), "gad-core must not depend on {name}");
        if name == "contract" {
            assert!(!features.contains("ssr"), "gad-core must not enable the contract's Leptos side (ssr)");
        }
    }
}

#[test]
fn the_shared_leptos_crate_reaches_the_core_only_on_the_server() {
    let packages = packages();
    for (name, optional, _) in normal(deps_of(&packages, "app")) {
        assert_ne!(name, "server", "app must not depend on the binary");
        if name == "gad-core" {
            assert!(optional, "app must take gad-core only with its ssr feature (never in the browser)");
        }
    }
    for (name, _, _) in normal(deps_of(&packages, "migrations")) {
        assert!(!WORKSPACE.contains(&name.as_str()), "migrations must not depend on {name}");
    }
}

/// The `app::…` paths a file names (comments removed), and whether it uses a grouped
/// `use app::{…}` that this check cannot judge.
fn app_paths(source: &str) -> (Vec<String>, bool) {
    let code: String = source.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let grouped = code.contains("app::{");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("app::") {
        let before = rest[..i].chars().last();
        let after = &rest[i..];
        let len = after.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(after.len());
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            let path = &after[..len];
            let tail = &after[len..];
            // `app::api::tasks::{a, b}`: one path per name.
            match (path.ends_with("::"), tail.starts_with('{'), tail.find('}')) {
                (true, true, Some(end)) if path != "app::" => {
                    for name in tail[1..end].split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        paths.push(format!("{path}{name}"));
                    }
                }
                _ => paths.push(path.trim_end_matches(':').to_owned()),
            }
        }
        rest = &after[len..];
    }
    (paths, grouped)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_rest_api_talks_to_the_core_never_to_server_functions() {
    let dir = workspace_root().join("server/src/rest");
    for file in rust_files(&dir) {
        let (paths, grouped) = app_paths(&std::fs::read_to_string(&file).unwrap());
        assert!(!grouped && paths.is_empty(), "{}: the REST API imports {paths:?} from app", file.display());
    }
}

#[test]
fn the_bot_calls_server_functions_and_imports_its_types_from_the_contract() {
    let dir = workspace_root().join("server/src/bot");
    for file in rust_files(&dir) {
        let (paths, grouped) = app_paths(&std::fs::read_to_string(&file).unwrap());
        assert!(!grouped, "{}: a grouped `use app::{{…}}`; name each import", file.display());
        for path in paths {
            let parts: Vec<&str> = path.split("::").collect();
            let server_fn = parts.len() == 4 && parts[1] == "api" && parts[3].starts_with(|c: char| c.is_lowercase());
            let harness = parts.get(1) == Some(&"server") && parts.get(2) == Some(&"harness");
            assert!(
                server_fn || harness,
                "{}: the bot imports `{path}` from app; types come from the contract",
                file.display()
            );
        }
    }
}

#[test]
fn the_path_scanner_sees_what_it_must() {
    let (paths, grouped) =
        app_paths("use app::api::tasks::TaskSummary;\n// app::ignored\nlet x = app::server::harness::call_as;");
    assert_eq!(paths, ["app::api::tasks::TaskSummary", "app::server::harness::call_as"]);
    assert!(!grouped);
    assert!(app_paths("use app::{api};").1);
    let (paths, _) = app_paths("use app::api::tasks::{list_tasks, TaskSummary};");
    assert_eq!(paths, ["app::api::tasks::list_tasks", "app::api::tasks::TaskSummary"]);
}
