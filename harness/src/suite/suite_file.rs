//! A suite file: TOML whose `[[test]]` tables hold `faultline test`'s options, named as on the
//! command line.
//!
//! ```toml
//! name = "own"                 # optional: the suite's name (default: the file's stem)
//!
//! [[test]]
//! name = "own-register-pause"  # --name
//! target = "own"               # --target
//! nemesis = "pause,kill"       # --nemesis
//! time-limit = "5s"            # --time-limit
//! accept-inadequate = true     # a flag: true gives it, false leaves it out
//! ```
//!
//! Each table is turned into the arguments of `faultline test` and parsed by the same clap
//! definition, so every option, default and value error is the test command's own; an error is
//! prefixed with the file, the test (its position from 1, and its name when it has one) and the
//! field. `like = "RUN_DIR"` repeats a recorded run as `--like` does (the test's other fields
//! override it). `store` and `json` belong to `faultline suite` itself, not to a test.
//!
//! A `[nodes]` table names remote hosts once for every test:
//!
//! ```toml
//! [nodes]
//! hosts = ["db1", "db2", "db3"]  # --nodes, for every test that sets neither `nodes` nor `net`
//! ssh-user = "admin"             # --ssh-*, --install: for every test on remote hosts
//! ```
//!
//! A test's own fields win; a test on this machine (`nodes = 3`, or a `net`) takes none of it.

use crate::cli::{Cli, Command, TestArgs};
use clap::error::{ContextKind, ContextValue};
use clap::{CommandFactory, Parser};
use std::path::{Path, PathBuf};

/// A suite file, parsed: each test's options as `faultline test` would have them.
#[derive(Debug)]
pub struct SuiteFile {
    /// The file it was read from.
    pub path: PathBuf,
    /// The suite's name: the file's `name`, else its stem.
    pub name: String,
    /// The tests, in file order.
    pub tests: Vec<SuiteTest>,
}

/// One `[[test]]` table.
#[derive(Debug)]
pub struct SuiteTest {
    /// What errors call it: `test 2` or `test 2 (own-kill)`.
    pub label: String,
    /// Its options, parsed by `faultline test`'s definition.
    pub args: TestArgs,
    /// The words of the `faultline test` command it stands for (what `--like` repeats).
    pub command: Vec<String>,
}

/// Fields of a test that are the suite command's, not the test's.
const SUITE_OWNED: [(&str, &str); 2] = [
    (
        "store",
        "the store is the suite's: give `faultline suite --store`",
    ),
    (
        "json",
        "a suite prints its table, and writes each run's results.json and its own suite.json",
    ),
];

impl SuiteFile {
    /// Reads and parses `path`; an error names the file, the test and the field.
    pub fn read(path: &Path) -> Result<SuiteFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        SuiteFile::parse(path, &text)
    }

    /// Parses `text`, read from `path`. Several tests' errors come as one text, a line each
    /// (after the first, each led by `error: `).
    pub fn parse(path: &Path, text: &str) -> Result<SuiteFile, String> {
        let at = |what: String| format!("{}: {what}", path.display());
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            at(format!(
                "not a suite file (TOML): {}",
                e.to_string().trim_end()
            ))
        })?;
        let mut name = None;
        let mut tests = None;
        let mut nodes = Nodes::default();
        for (key, value) in &table {
            match (key.as_str(), value) {
                ("nodes", toml::Value::Table(fields)) => {
                    nodes = Nodes::read(fields).map_err(|e| at(format!("[nodes]: {e}")))?
                }
                ("nodes", _) => {
                    return Err(at(
                        "`nodes` must be a table ([nodes] with hosts and ssh-* fields)".into(),
                    ))
                }
                ("name", toml::Value::String(s)) if valid_name(s) => name = Some(s.clone()),
                ("name", _) => {
                    return Err(at(
                        "`name` must be a non-empty string without `/` (the suite's directory \
                         under store/suites/)"
                            .into(),
                    ))
                }
                ("test", toml::Value::Array(list)) => tests = Some(list),
                ("test", _) => {
                    return Err(at(
                        "`test` must be an array of tables: write each test as [[test]]".into(),
                    ))
                }
                (other, _) => {
                    return Err(at(format!(
                        "unknown field `{other}` (a suite has `name`, [nodes] and [[test]] tables)"
                    )))
                }
            }
        }
        let Some(list) = tests.filter(|l| !l.is_empty()) else {
            return Err(at("no tests: add a [[test]] table for each".into()));
        };
        // Every test's error at once: a suite file is fixed in one go, not one run per typo.
        let (tests, errors): (Vec<_>, Vec<_>) = list
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let label = label(i, value);
                let toml::Value::Table(fields) = value else {
                    return Err(at(format!("{label}: must be a table ([[test]])")));
                };
                test_args(&nodes.onto(fields))
                    .map(|(args, command)| SuiteTest {
                        label: label.clone(),
                        args,
                        command,
                    })
                    .map_err(|e| at(format!("{label}: {e}")))
            })
            .partition(Result::is_ok);
        if !errors.is_empty() {
            let errors: Vec<String> = errors.into_iter().filter_map(Result::err).collect();
            return Err(errors.join("\nerror: "));
        }
        let tests: Vec<SuiteTest> = tests.into_iter().filter_map(Result::ok).collect();
        let name = match name {
            Some(name) => name,
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| valid_name(s))
                .ok_or_else(|| at("give the suite a `name`".into()))?,
        };
        Ok(SuiteFile {
            path: path.to_path_buf(),
            name,
            tests,
        })
    }
}

/// A suite's `[nodes]` table: remote hosts and how to reach them, for every test.
#[derive(Debug, Default)]
struct Nodes {
    /// `hosts`, as a test's `nodes` field.
    hosts: Option<toml::Value>,
    /// The SSH options (and `install`), as a test's fields.
    remote: toml::Table,
}

/// The fields a `[nodes]` table may give besides `hosts`: the options of remote runs.
const REMOTE_FIELDS: [&str; 6] = [
    "ssh-user",
    "ssh-key",
    "ssh-port",
    "ssh-known-hosts",
    "ssh-accept-new",
    "install",
];

impl Nodes {
    /// Reads a `[nodes]` table; an error names the field.
    fn read(fields: &toml::Table) -> Result<Nodes, String> {
        let mut nodes = Nodes::default();
        for (field, value) in fields {
            match field.as_str() {
                "hosts" => match value {
                    toml::Value::Array(_) | toml::Value::String(_) => {
                        nodes.hosts = Some(value.clone())
                    }
                    other => {
                        return Err(format!(
                            "field `hosts`: a list of host names or addresses, found {}",
                            other.type_str()
                        ))
                    }
                },
                f if REMOTE_FIELDS.contains(&f) => {
                    nodes.remote.insert(field.clone(), value.clone());
                }
                other => {
                    return Err(format!(
                        "unknown field `{other}` (a [nodes] table has hosts, {})",
                        REMOTE_FIELDS.join(", ")
                    ))
                }
            }
        }
        Ok(nodes)
    }

    /// A test's `fields` with this table's filled in where the test gives none: its hosts for a
    /// test that places its nodes nowhere itself, the SSH options for a test on remote hosts.
    fn onto(&self, fields: &toml::Table) -> toml::Table {
        let mut merged = fields.clone();
        if let Some(hosts) = &self.hosts {
            if !fields.contains_key("nodes") && !fields.contains_key("net") {
                merged.insert("nodes".into(), hosts.clone());
            }
        }
        if merged.get("nodes").is_some_and(names_hosts) {
            for (field, value) in &self.remote {
                merged.entry(field.clone()).or_insert_with(|| value.clone());
            }
        }
        merged
    }
}

/// Whether a `nodes` field names hosts (a list, or a string that is not a count).
fn names_hosts(value: &toml::Value) -> bool {
    match value {
        toml::Value::Array(_) => true,
        toml::Value::String(s) => s.parse::<usize>().is_err(),
        _ => false,
    }
}

/// A suite name is one directory.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// `test 2`, or `test 2 (own-kill)` when the table names itself.
fn label(index: usize, value: &toml::Value) -> String {
    match value.get("name").and_then(|n| n.as_str()) {
        Some(name) => format!("test {} ({name})", index + 1),
        None => format!("test {}", index + 1),
    }
}

/// A test's fields as `faultline test` arguments, parsed by its clap definition (`like`
/// expanded first, as on the command line), with the words parsed.
fn test_args(fields: &toml::Table) -> Result<(TestArgs, Vec<String>), String> {
    let command = Cli::command();
    let test = command
        .find_subcommand("test")
        .expect("faultline has a test command");
    let mut argv: Vec<String> = vec!["faultline".into(), "test".into()];
    for (field, value) in fields {
        if let Some((_, why)) = SUITE_OWNED.iter().find(|(f, _)| f == field) {
            return Err(format!("field `{field}`: not a test's option: {why}"));
        }
        let Some(arg) = test
            .get_arguments()
            .find(|a| a.get_long() == Some(field.as_str()) && !is_builtin(a))
        else {
            return Err(unknown_field(field, test));
        };
        let takes_value = arg.get_action().takes_values();
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) if !takes_value => {
                if *b {
                    argv.push(format!("--{field}"));
                }
                continue;
            }
            toml::Value::Boolean(b) => b.to_string(),
            // A list (`nodes = ["host1", "host2"]`) is the option's comma-separated form.
            toml::Value::Array(items) if takes_value => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s.clone()),
                    toml::Value::Integer(n) => Ok(n.to_string()),
                    other => Err(format!(
                        "field `{field}`: a list of strings, found {} in it",
                        other.type_str()
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => {
                return Err(format!(
                    "field `{field}`: must be a string or a number, found {}",
                    other.type_str()
                ))
            }
        };
        if !takes_value {
            return Err(format!(
                "field `{field}`: a flag: write `{field} = true` (or false), found {}",
                value.type_str()
            ));
        }
        argv.push(format!("--{field}"));
        argv.push(text);
    }
    let argv = crate::like::expand(&argv)
        .map_err(|e| format!("field `like`: {e}"))?
        .unwrap_or(argv);
    match Cli::try_parse_from(&argv) {
        Ok(Cli {
            command: Command::Test(args),
        }) => Ok((args, argv[1..].to_vec())),
        Ok(_) => unreachable!("the arguments start with `test`"),
        Err(e) => Err(clap_message(&e)),
    }
}

/// clap's own `--help` and `--version`: not options a test file sets.
fn is_builtin(arg: &clap::Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

/// An unknown field, with the field it was probably meant to be.
fn unknown_field(field: &str, test: &clap::Command) -> String {
    let known: Vec<&str> = test
        .get_arguments()
        .filter(|a| !is_builtin(a))
        .filter_map(|a| a.get_long())
        .collect();
    let hyphenated = field.replace('_', "-");
    if known.contains(&hyphenated.as_str()) {
        return format!(
            "unknown field `{field}`: options are named as on the command line: `{hyphenated}`"
        );
    }
    format!(
        "unknown field `{field}` (the options of `faultline test`: {})",
        known.join(", ")
    )
}

/// clap's message for a value it refused, led by the field it belongs to, without the usage
/// lines meant for a command line.
fn clap_message(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .collect();
    let message = message
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .trim()
        .to_string();
    let field = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg
            .trim_start_matches("--")
            .split([' ', '='])
            .next()
            .map(String::from),
        _ => None,
    };
    match field {
        Some(field) => format!("field `{field}`: {message}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<SuiteFile, String> {
        SuiteFile::parse(Path::new("suites/x.toml"), text)
    }

    #[test]
    fn a_nodes_table_places_every_test_that_does_not_place_itself() {
        let suite = parse(
            r#"
            [nodes]
            hosts = ["db1", "db2"]
            ssh-user = "admin"
            ssh-port = 2222
            install = true

            [[test]]
            name = "remote"

            [[test]]
            name = "own-hosts"
            nodes = "db3,db4,db5"
            ssh-user = "root"

            [[test]]
            name = "here"
            nodes = 3

            [[test]]
            name = "netns"
            net = "netns"
            "#,
        )
        .unwrap();
        let cluster = |i: usize| &suite.tests[i].args.cluster;
        let hosts = |names: &[&str]| {
            crate::cli::NodesArg::Hosts(names.iter().map(|n| n.to_string()).collect())
        };
        assert_eq!(cluster(0).nodes, hosts(&["db1", "db2"]));
        assert_eq!(cluster(0).ssh.ssh_user.as_deref(), Some("admin"));
        assert_eq!(cluster(0).ssh.ssh_port, Some(2222));
        assert!(cluster(0).install);
        assert_eq!(cluster(1).nodes, hosts(&["db3", "db4", "db5"]));
        assert_eq!(
            cluster(1).ssh.ssh_user.as_deref(),
            Some("root"),
            "its own wins"
        );
        assert_eq!(cluster(1).ssh.ssh_port, Some(2222));
        for local in [2, 3] {
            assert!(!matches!(
                cluster(local).nodes,
                crate::cli::NodesArg::Hosts(_)
            ));
            assert_eq!(cluster(local).ssh.ssh_user, None);
            assert!(!cluster(local).install);
        }
        // The recorded command repeats the test as it ran.
        assert!(suite.tests[0].command.join(" ").contains("--nodes db1,db2"));
    }

    #[test]
    fn a_bad_nodes_table_is_named() {
        let bad = |text: &str| SuiteFile::parse(Path::new("suites/x.toml"), text).unwrap_err();
        assert_eq!(
            bad("[nodes]\nhost = [\"db1\"]\n[[test]]\n"),
            "suites/x.toml: [nodes]: unknown field `host` (a [nodes] table has hosts, ssh-user, \
             ssh-key, ssh-port, ssh-known-hosts, ssh-accept-new, install)"
        );
        assert_eq!(
            bad("[nodes]\nhosts = 3\n[[test]]\n"),
            "suites/x.toml: [nodes]: field `hosts`: a list of host names or addresses, found integer"
        );
        assert_eq!(
            bad("nodes = 3\n[[test]]\n"),
            "suites/x.toml: `nodes` must be a table ([nodes] with hosts and ssh-* fields)"
        );
        let err = bad("[nodes]\nhosts = [\"db1\"]\nssh-port = \"x\"\n[[test]]\n");
        assert!(
            err.starts_with("suites/x.toml: test 1: field `ssh-port`"),
            "{err}"
        );
    }

    #[test]
    fn each_test_gets_the_test_commands_options_and_defaults() {
        let suite = parse(
            r#"
            [[test]]
            target = "redis"
            nodes = 1
            time-limit = "3s"
            rate = 50.5
            nemesis = "pause,kill"
            accept-inadequate = true

            [[test]]
            name = "quiet"
            net = "loopback"

            [[test]]
            nodes = ["db1", "db2"]
            ssh-user = "admin"
            install = true
            "#,
        )
        .unwrap();
        assert_eq!(suite.name, "x");
        assert_eq!(suite.tests.len(), 3);
        let first = &suite.tests[0];
        assert_eq!(first.label, "test 1");
        assert_eq!(first.args.cluster.target, cluster::TargetKind::Redis);
        assert_eq!(first.args.cluster.nodes, crate::cli::NodesArg::Count(1));
        assert_eq!(first.args.time_limit, Duration::from_secs(3));
        assert_eq!(first.args.rate, 50.5);
        assert_eq!(first.args.nemesis.0.len(), 2);
        assert!(first.args.accept_inadequate);
        let second = &suite.tests[1];
        assert_eq!(second.label, "test 2 (quiet)");
        assert_eq!(second.args.name.as_deref(), Some("quiet"));
        // Defaults are `faultline test`'s.
        assert_eq!(second.args.concurrency, 5);
        assert_eq!(second.args.time_limit, Duration::from_secs(10));
        assert!(!second.args.accept_inadequate);
        // A list is the option's comma-separated form: remote hosts here.
        let third = &suite.tests[2].args.cluster;
        let hosts = crate::cli::NodesArg::Hosts(vec!["db1".into(), "db2".into()]);
        assert_eq!(
            (&third.nodes, third.ssh.ssh_user.as_deref()),
            (&hosts, Some("admin"))
        );
        assert!(third.install && !first.args.cluster.install);
    }

    #[test]
    fn errors_name_the_file_the_test_and_the_field() {
        let cases = [
            (
                "[[test]]\ntarget = \"own\"\n[[test]]\nname = \"b\"\ntime-limit = \"soon\"\n",
                "suites/x.toml: test 2 (b): field `time-limit`: invalid value 'soon' for \
                 '--time-limit <TIME_LIMIT>': 'soon' is not a duration",
            ),
            (
                "[[test]]\ntarget = \"mongo\"\n",
                "suites/x.toml: test 1: field `target`: invalid value 'mongo' for '--target \
                 <TARGET>' [possible values: own, redis, etcd]",
            ),
            (
                "[[test]]\nnodes = \"x y\"\n[[test]]\n[[test]]\nrate = \"fast\"\n",
                "suites/x.toml: test 1: field `nodes`: invalid value 'x y' for '--nodes \
                 <N|HOST,...>': `x y` is neither a count of nodes nor a host name or address \
                 (give a number, or hosts as host1,host2,…; the user and port go in \
                 --ssh-user and --ssh-port)\nerror: suites/x.toml: test 3: field `rate`: \
                 invalid value 'fast' for '--rate <RATE>': invalid float literal",
            ),
            (
                "[[test]]\ntime_limit = \"1s\"\n",
                "suites/x.toml: test 1: unknown field `time_limit`: options are named as on the \
                 command line: `time-limit`",
            ),
            (
                "[[test]]\nbogus = 1\n",
                "suites/x.toml: test 1: unknown field `bogus` (the options of `faultline test`: \
                 target,",
            ),
            (
                "[[test]]\nstore = \"elsewhere\"\n",
                "suites/x.toml: test 1: field `store`: not a test's option: the store is the \
                 suite's",
            ),
            (
                "[[test]]\naccept-inadequate = \"yes\"\n",
                "suites/x.toml: test 1: field `accept-inadequate`: a flag: write \
                 `accept-inadequate = true` (or false), found string",
            ),
            (
                "[[test]]\nnodes = { count = 2 }\n",
                "suites/x.toml: test 1: field `nodes`: must be a string or a number, found table",
            ),
            (
                "[[test]]\nnodes = [\"db1\", true]\n",
                "suites/x.toml: test 1: field `nodes`: a list of strings, found boolean in it",
            ),
            (
                "[[test]]\nconcurrency = true\n",
                "suites/x.toml: test 1: field `concurrency`: invalid value 'true' for \
                 '--concurrency <CONCURRENCY>'",
            ),
            (
                "name = \"s\"\n",
                "suites/x.toml: no tests: add a [[test]] table",
            ),
            ("tests = []\n", "suites/x.toml: unknown field `tests`"),
            (
                "[test]\nnodes = 1\n",
                "suites/x.toml: `test` must be an array of tables",
            ),
            (
                "name = \"a/b\"\n[[test]]\n",
                "suites/x.toml: `name` must be a non-empty string",
            ),
            ("[[test]\n", "suites/x.toml: not a suite file (TOML): "),
            (
                "[[test]]\nlike = \"/nonexistent-run\"\n",
                "suites/x.toml: test 1: field `like`: --like /nonexistent-run: no results.json \
                 there",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(
                err.starts_with(expected),
                "{text:?}:\n{err}\nexpected\n{expected}"
            );
        }
    }
}
