//! The programs remote nodes' daemons run, found on their hosts before any daemon starts.
//!
//! A program faultline did not upload goes by its bare name, found through the host's own PATH
//! (this machine's path to it means nothing there). A host that lacks one is an error naming
//! host, program and package, unless `--install` was given: then every such host gets one
//! `apt-get install` of all its missing packages, all hosts at once, and each program is looked
//! for again: on the PATH, else among its package's files (`dpkg -L`), and then launched by that
//! absolute path.
//!
//! ```text
//!   host lacks redis-server ──no --install──► "command not found on host H: redis-server
//!        │                                      (install redis-server, or pass --install)"
//!        └──--install──► apt-get install redis-server ──► on PATH? bare name
//!                                                     └──► dpkg -L redis-server: …/bin/redis-server
//! ```

use crate::control::Control;
use crate::net::ssh::SshNetwork;
use crate::ssh::SshControl;
use crate::system::DaemonSpec;
use crate::systems::package_of;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `--install` installed: the packages, by host (as given in `--nodes`).
pub type Installed = BTreeMap<String, Vec<String>>;

/// Points every program node `i`'s daemons (`nodes[i]`, on host `i` of `net`) run from their
/// host at the host's own copy, installing the packages of missing ones where `install` says
/// so; answers what was installed where. The error names each host at fault.
pub fn find_on_hosts(
    net: &SshNetwork,
    nodes: &mut [&mut Vec<DaemonSpec>],
    install: bool,
) -> Result<Installed, String> {
    let wanted: Vec<Vec<String>> = nodes.iter().map(|specs| from_host(specs)).collect();
    let missing: Vec<Vec<String>> = net.on_every_host(|i, c| {
        let mut missing = Vec::new();
        for program in &wanted[i] {
            if !c.has_program(program)? {
                missing.push(program.clone());
            }
        }
        Ok(missing)
    })?;
    let host = |i: usize| net.hosts()[i].target.host.clone();
    if !install {
        let errors: Vec<String> = missing
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.is_empty())
            .map(|(i, m)| {
                format!(
                    "command not found on host {}: {} (install {}, or pass --install)",
                    host(i),
                    m.join(", "),
                    packages_of(m).join(" ")
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        for specs in nodes.iter_mut() {
            launch_from(specs, &BTreeMap::new());
        }
        return Ok(Installed::new());
    }
    let packages: Vec<Vec<String>> = missing.iter().map(|m| packages_of(m)).collect();
    let found: Vec<BTreeMap<String, PathBuf>> = net.on_every_host(|i, c| {
        if missing[i].is_empty() {
            return Ok(BTreeMap::new());
        }
        // Said loudly as each apt-get starts: installing is the one change faultline makes to a
        // host beyond its own directory and firewall chain.
        c.install(&packages[i], || {
            eprintln!(
                "INSTALLING on host {} (--install): apt-get install {}",
                host(i),
                packages[i].join(" ")
            )
        })?;
        missing[i]
            .iter()
            .map(|program| Ok((program.clone(), locate(c, program)?)))
            .collect()
    })?;
    for (specs, found) in nodes.iter_mut().zip(&found) {
        launch_from(specs, found);
    }
    Ok(packages
        .into_iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, p)| (host(i), p))
        .collect())
}

/// The programs `specs` run from their host: every one but the faultline uploaded into the
/// node's directory, by bare name.
fn from_host(specs: &[DaemonSpec]) -> Vec<String> {
    let mut programs: Vec<String> = Vec::new();
    for name in specs.iter().filter_map(|s| bare_name(&s.launch.program)) {
        if !programs.contains(&name) {
            programs.push(name);
        }
    }
    programs
}

/// `program`'s bare name, unless it is the uploaded faultline (already the host's path).
fn bare_name(program: &std::path::Path) -> Option<String> {
    let name = program.file_name()?;
    (name != "faultline").then(|| name.to_string_lossy().into_owned())
}

/// The Debian packages that provide `programs`, each once, in order.
fn packages_of(programs: &[String]) -> Vec<String> {
    let mut packages: Vec<String> = Vec::new();
    for program in programs {
        let package = package_of(program).to_string();
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    packages
}

/// Where the host has `program`, just installed: its bare name if the login's PATH finds it,
/// else its path among its package's files.
fn locate(c: &SshControl, program: &str) -> Result<PathBuf, String> {
    if c.has_program(program)? {
        return Ok(PathBuf::from(program));
    }
    let package = package_of(program);
    c.find_in_package(package, program)?.ok_or_else(|| {
        format!(
            "host {}: {package} is installed, but {program} is neither on the PATH of its \
             login nor an executable among the package's files (dpkg -L {package})",
            c.host()
        )
    })
}

/// Points `specs`' programs from the host at the host's copy: the path `found` gives, else the
/// bare name its PATH finds.
fn launch_from(specs: &mut [DaemonSpec], found: &BTreeMap<String, PathBuf>) {
    for spec in specs.iter_mut() {
        if let Some(name) = bare_name(&spec.launch.program) {
            spec.launch.program = found.get(&name).cloned().unwrap_or_else(|| name.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str) -> DaemonSpec {
        DaemonSpec::server(
            program.into(),
            vec!["--port".into(), "1".into()],
            "1".into(),
        )
    }

    #[test]
    fn programs_from_the_host_go_by_bare_name_or_the_path_found_and_faultline_stays() {
        let mut specs = vec![
            spec("redis-server"),
            spec("redis-sentinel"),
            spec("redis-server"),
            spec("/tmp/faultline-1-2/n1/faultline"),
        ];
        assert_eq!(from_host(&specs), ["redis-server", "redis-sentinel"]);
        let found = BTreeMap::from([("redis-sentinel".into(), "/usr/sbin/redis-sentinel".into())]);
        launch_from(&mut specs, &found);
        let programs: Vec<_> = specs.iter().map(|s| s.launch.program.clone()).collect();
        assert_eq!(
            programs,
            [
                PathBuf::from("redis-server"),
                "/usr/sbin/redis-sentinel".into(),
                "redis-server".into(),
                "/tmp/faultline-1-2/n1/faultline".into()
            ]
        );
    }

    #[test]
    fn each_package_is_installed_once() {
        let programs = ["etcd".into(), "redis-server".into(), "etcd".into()];
        assert_eq!(packages_of(&programs), ["etcd-server", "redis-server"]);
    }
}
