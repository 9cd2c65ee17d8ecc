//! No file of any crate in the workspace imports a file that imports it back, directly or
//! through a chain.
//!
//! [`file_cycles`] reads a crate's `src` directory and builds the graph of which file uses which:
//! the files come from the `mod` declarations (from `lib.rs` or `main.rs` down), the edges from
//! `use crate::…`, `use super::…`, `use self::…` and inline `crate::…::` / `super::…::` paths. A
//! path is resolved to the file that defines its item: the longest module prefix names a file,
//! and a name that file only re-exports (`pub use`) is followed to where it comes from, so a
//! room's `mod.rs` that re-exports its files does not make them import each other through it.
//!
//! Unit tests (`#[cfg(test)] mod tests { … }`) are left out: a model's tests may run the whole
//! checker, which imports the model; that is how unit tests work, not a cycle in the product.
//! Comments are left out too (an intra-doc link is not an import).
//!
//! The function takes any `src` directory, so other crates can be checked the same way.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file: its module path (`["search", "wgl"]`; empty for the crate root) and text.
struct SourceFile {
    module: Vec<String>,
    path: PathBuf,
    /// The text without comments and unit-test modules.
    code: String,
}

/// Files that import each other, directly or through a chain.
#[derive(Debug, PartialEq)]
pub struct Tangle {
    /// One cycle, as the files on it (relative to `src`), the first repeated at the end:
    /// `["a.rs", "b.rs", "a.rs"]`.
    pub cycle: Vec<String>,
    /// Every file reachable from every other (the strongly connected component), sorted.
    pub files: Vec<String>,
}

/// Every tangle among the files of the crate whose sources are in `src`.
pub fn file_cycles(src: &Path) -> Vec<Tangle> {
    let files = read_tree(src);
    let by_module: HashMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    let reexports: Vec<HashMap<String, Vec<String>>> = files
        .iter()
        .map(|f| {
            use_paths(&f.code, true)
                .into_iter()
                .filter_map(|p| {
                    let full = absolute(&f.module, &p)?;
                    Some((full.last()?.clone(), full))
                })
                .collect()
        })
        .collect();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    for (i, f) in files.iter().enumerate() {
        let mut paths = use_paths(&f.code, false);
        paths.extend(inline_paths(&f.code));
        for p in paths {
            let Some(full) = absolute(&f.module, &p) else {
                continue;
            };
            if let Some(target) = resolve(&full, &by_module, &reexports, 0) {
                if target != i {
                    edges[i].insert(target);
                }
            }
        }
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(src)
                .unwrap_or(&f.path)
                .display()
                .to_string()
        })
        .collect();
    strongly_connected(&edges)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|component| {
            let mut files: Vec<String> = component.iter().map(|&i| names[i].clone()).collect();
            files.sort();
            Tangle {
                cycle: cycle_within(&component, &edges)
                    .into_iter()
                    .map(|i| names[i].clone())
                    .collect(),
                files,
            }
        })
        .collect()
}

/// The files of the crate, from its root down its `mod` declarations.
fn read_tree(src: &Path) -> Vec<SourceFile> {
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|n| src.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{}: no lib.rs or main.rs", src.display()));
    let mut files = Vec::new();
    let mut work = vec![(Vec::new(), root)];
    while let Some((module, path)) = work.pop() {
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
        let code = without_tests(&without_comments(&text));
        // A child of `a.rs` lives in `a/`; a child of `lib.rs` or `a/mod.rs` beside it.
        let dir = if is_dir_module(&path) {
            path.parent().expect("a file has a directory").to_path_buf()
        } else {
            path.with_extension("")
        };
        for child in declared_modules(&code) {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(&child).join("mod.rs");
            let file = if flat.exists() { flat } else { nested };
            assert!(
                file.exists(),
                "{}: `mod {child};` but neither {child}.rs nor {child}/mod.rs exists in {}",
                path.display(),
                dir.display()
            );
            let mut m = module.clone();
            m.push(child);
            work.push((m, file));
        }
        files.push(SourceFile { module, path, code });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Whether the file's children live beside it (`lib.rs`, `main.rs`, `mod.rs`).
fn is_dir_module(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("lib.rs" | "main.rs" | "mod.rs")
    )
}

/// `text` without comments, and with the contents of string and character literals left out
/// (`""`, `' '`): neither imports anything, and a brace in a string must not count.
fn without_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let ident_before = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'/')) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            (b'r', Some(b'"' | b'#')) if !ident_before => {
                // A raw string: r"…", r#"…"#, …; it ends at a quote followed by as many #.
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                let open = i + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                i = text[open + 1..]
                    .find(&close)
                    .map_or(bytes.len(), |k| open + 1 + k + close.len());
                out.push_str("\"\"");
            }
            (b'"', _) => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push_str("\"\"");
            }
            (b'\'', Some(_)) => {
                // A character literal ('x', '\n', '"'); otherwise a lifetime or label.
                let len = if bytes[i + 1] == b'\\' {
                    bytes[i + 2..]
                        .iter()
                        .position(|&b| b == b'\'')
                        .map(|k| k + 3)
                } else {
                    let c = text[i + 1..].chars().next().expect("in bounds");
                    (bytes.get(i + 1 + c.len_utf8()) == Some(&b'\'')).then(|| c.len_utf8() + 2)
                };
                match len {
                    Some(len) => {
                        out.push_str("' '");
                        i += len;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                let c = text[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// `code` without `#[cfg(test)] mod … { … }` blocks.
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_block = trimmed.starts_with("mod ")
            && trimmed
                .find(['{', ';'])
                .is_some_and(|k| trimmed.as_bytes()[k] == b'{');
        if !is_block {
            // An attribute on something else (a test-only `mod x;`, a function): keep it.
            out.push_str("#[cfg(test)]");
            rest = after;
            continue;
        }
        let open = after.find('{').expect("checked above");
        let mut depth = 0;
        let mut end = after.len();
        for (k, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The names of `mod name;` declarations (not inline `mod name { … }` blocks).
fn declared_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in code.split([';', '{', '}']) {
        let words: Vec<&str> = statement.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "mod") {
            // Only visibility may come before `mod` in the statement's last words.
            let before_ok = words[..at]
                .iter()
                .all(|w| w.starts_with("pub") || w.starts_with("#[") || w.ends_with(']'));
            if before_ok && words.len() == at + 2 {
                found.push(words[at + 1].to_string());
            }
        }
    }
    // A `mod x { … }` block split at `{` also looks like a declaration: drop those.
    found.retain(|name| !code.contains(&format!("mod {name} {{")));
    found
}

/// The flattened paths of the `use` statements in `code`: every one, or (with
/// `reexports_only`) only `pub`/`pub(…)` ones.
fn use_paths(code: &str, reexports_only: bool) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        // A `use` statement starts a statement: after `;`, a brace, an attribute, or the
        // visibility before it. Anything else (a word in a string) is not one.
        let head = rest[..at].trim_end();
        let visibility = head
            .rfind("pub")
            .filter(|&p| {
                let after = head[p + 3..].trim();
                after.is_empty() || after.starts_with('(') && after.ends_with(')')
            })
            .filter(|&p| !head[..p].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
        let before = visibility.map_or(head, |p| head[..p].trim_end());
        let starts = before.is_empty() || before.ends_with([';', '{', '}', ']']);
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        let tree = &rest[at + 3..at + end];
        if starts && (!reexports_only || visibility.is_some()) {
            expand(tree, &mut Vec::new(), &mut paths);
        }
        rest = &rest[at + end + 1..];
    }
    paths
}

/// The position of `word` in `text` as a whole word, if any.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = text[from..].find(word) {
        let at = from + k;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !ident(before) && !ident(after) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Appends to `out` every path of the use tree `tree`, each prefixed by `prefix`.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let close = tree.rfind('}').filter(|&c| c > open).unwrap_or(tree.len());
        let before: Vec<String> = segments(&tree[..open]);
        let depth = prefix.len();
        prefix.extend(before);
        for part in split_top(&tree[open + 1..close]) {
            expand(part, prefix, out);
        }
        prefix.truncate(depth);
    } else {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix.clone();
        path.extend(segments(tree).into_iter().filter(|s| s != "self"));
        if !path.is_empty() {
            out.push(path);
        }
    }
}

/// `a::b::` as `["a", "b"]`.
fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// `text` split at the commas outside braces.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Paths written inline (`crate::a::b(…)`, `super::X`) outside `use` statements.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = code[from..].find(start) {
            let at = from + k;
            from = at + start.len();
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            let path = segments(&code[at..end]);
            if path.len() > 1 {
                found.push(path);
            }
        }
    }
    found
}

/// `path` as seen from `module` made absolute from the crate root; `None` for paths into other
/// crates (`std::`, `serde::`).
fn absolute(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "self" | "super" => module.to_vec(),
        _ => return None,
    };
    let mut rest = if path[0] == "crate" { &path[1..] } else { path };
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The file that defines the item at the absolute `path`: the longest prefix that is a module,
/// following that module's re-export of the next name, if it has one.
fn resolve(
    path: &[String],
    by_module: &HashMap<Vec<String>, usize>,
    reexports: &[HashMap<String, Vec<String>>],
    depth: usize,
) -> Option<usize> {
    let len = (0..=path.len())
        .rev()
        .find(|&n| by_module.contains_key(&path[..n]))?;
    let file = by_module[&path[..len]];
    if depth < 16 {
        if let Some(name) = path.get(len) {
            if let Some(target) = reexports[file].get(name) {
                if target.as_slice() != path {
                    let mut followed = target.clone();
                    followed.extend(path[len + 1..].iter().cloned());
                    return resolve(&followed, by_module, reexports, depth + 1).or(Some(file));
                }
            }
        }
    }
    Some(file)
}

/// The strongly connected components of the graph (Tarjan's algorithm, iteratively).
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, Vec<usize>)> =
            vec![(root, edges[root].iter().copied().collect())];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some((v, pending)) = work.last_mut() {
            let v = *v;
            if let Some(w) = pending.pop() {
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, edges[w].iter().copied().collect()));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some((parent, _)) = work.last() {
                low[*parent] = low[*parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// One cycle through the first file of `component`, by breadth-first search inside it.
fn cycle_within(component: &[usize], edges: &[BTreeSet<usize>]) -> Vec<usize> {
    let inside: BTreeSet<usize> = component.iter().copied().collect();
    let start = *inside.iter().next().expect("a component has a file");
    let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in edges[v].iter().filter(|w| inside.contains(w)) {
            if w == start {
                let mut path = vec![start];
                let mut at = v;
                while at != start {
                    path.push(at);
                    at = came_from[&at];
                }
                path.push(start);
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = came_from.entry(w) {
                e.insert(v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component of more than one file has a cycle")
}

/// Writes `files` (path relative to the directory, text) into a fresh temporary directory.
fn scratch_crate(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("import-cycles-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a file has a directory")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    dir
}

/// The workspace's member crates, as its Cargo.toml lists them (so a new crate is checked too).
fn workspace_crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness sits in the workspace")
        .to_path_buf();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("the workspace manifest");
    let start = manifest.find("members").expect("a members list");
    let list = &manifest[start..];
    let list = &list[list.find('[').expect("[")..=list.find(']').expect("]")];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(|name| root.join(name))
        .collect()
}

#[test]
fn no_crate_of_the_workspace_has_import_cycles() {
    let crates = workspace_crates();
    assert!(crates.len() >= 7, "members read: {crates:?}");
    let mut shown = Vec::new();
    for krate in &crates {
        for t in file_cycles(&krate.join("src")) {
            shown.push(format!(
                "{}: {} (the {} files tangled: {})",
                krate.display(),
                t.cycle.join(" -> "),
                t.files.len(),
                t.files.join(", ")
            ));
        }
    }
    assert!(
        shown.is_empty(),
        "{} import cycles:\n{}",
        shown.len(),
        shown.join("\n")
    );
}

#[test]
fn a_cycle_through_a_chain_is_named() {
    let dir = scratch_crate(
        "chain",
        &[
            ("lib.rs", "mod a;\npub mod room;\n"),
            ("a.rs", "use crate::room::b::B;\npub struct A;\n"),
            ("room/mod.rs", "pub mod b;\npub(crate) mod c;\n"),
            ("room/b.rs", "pub struct B(super::c::C);\n"),
            (
                "room/c.rs",
                "pub struct C;\nfn f() { let _ = crate::a::A; }\n",
            ),
        ],
    );
    let cycles = file_cycles(&dir);
    fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(
        cycles,
        [Tangle {
            cycle: vec![
                "a.rs".into(),
                "room/b.rs".into(),
                "room/c.rs".into(),
                "a.rs".into()
            ],
            files: vec!["a.rs".into(), "room/b.rs".into(), "room/c.rs".into()],
        }]
    );
}

#[test]
fn reexports_tests_and_comments_make_no_cycle() {
    let dir = scratch_crate(
        "clean",
        &[
            ("lib.rs", "pub mod room;\npub use room::{B, C};\n"),
            // The room re-exports its files; b uses c through the re-export.
            (
                "room/mod.rs",
                "mod b;\nmod c;\npub use b::B;\npub use c::C;\n",
            ),
            ("room/b.rs", "use crate::room::C;\npub struct B(C);\n"),
            (
                "room/c.rs",
                "/// Unlike [`crate::room::b::B`]…\npub struct C;\n// crate::B\n\
                 const S: &str = \"we use crate::room::b::B; {\";\n\
                 const R: &str = r#\"crate::B \"}\" \"#;\nconst Q: char = '\"';\n\
                 fn g<'a>(s: &'a str) -> &'a str { s }\n\
                 #[cfg(test)]\nmod tests {\n    use crate::room::b::B;\n    fn f() { { } }\n}\n",
            ),
        ],
    );
    let cycles = file_cycles(&dir);
    fs::remove_dir_all(&dir).expect("clean up");
    assert!(cycles.is_empty(), "{cycles:?}");
}
