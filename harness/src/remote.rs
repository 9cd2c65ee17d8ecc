//! `--nodes HOST,…` and the `--ssh-*` options resolved into the SSH targets of a remote
//! cluster: one node per host, host keys checked unless `--ssh-accept-new` says otherwise.

use crate::cli::{ClusterOpts, NodesArg, SshOpts};
use cluster::ssh::{HostKeyTrust, SshTarget};
use cluster::NetChoice;

/// The remote hosts `opts` name (none for a cluster on this machine); every error names the
/// option at fault.
pub fn resolve(opts: &ClusterOpts) -> Result<Vec<SshTarget>, String> {
    let remote = matches!(opts.nodes, NodesArg::Hosts(_));
    if remote && opts.net != NetChoice::Auto {
        return Err(
            "--net: remote nodes (--nodes host1,host2,…) live on their hosts' own network; \
             leave --net out"
                .into(),
        );
    }
    if opts.install && !remote {
        return Err("--install: applies to remote nodes only (--nodes host1,host2,…)".into());
    }
    targets(&opts.nodes, &opts.ssh)
}

/// The SSH targets of `nodes` logged in to as `ssh` says (none for a count of local nodes).
pub fn targets(nodes: &NodesArg, ssh: &SshOpts) -> Result<Vec<SshTarget>, String> {
    let NodesArg::Hosts(hosts) = nodes else {
        let given = [
            ("--ssh-user", ssh.ssh_user.is_some()),
            ("--ssh-key", ssh.ssh_key.is_some()),
            ("--ssh-port", ssh.ssh_port.is_some()),
            ("--ssh-known-hosts", ssh.ssh_known_hosts.is_some()),
            ("--ssh-accept-new", ssh.ssh_accept_new),
        ];
        if let Some((option, _)) = given.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{option}: applies to remote nodes only (--nodes host1,host2,…)"
            ));
        }
        return Ok(Vec::new());
    };
    for (option, path) in [
        ("--ssh-key", &ssh.ssh_key),
        ("--ssh-known-hosts", &ssh.ssh_known_hosts),
    ] {
        if let Some(path) = path.as_ref().filter(|p| !p.is_file()) {
            return Err(format!("{option}: no such file: {}", path.display()));
        }
    }
    let trust = if ssh.ssh_accept_new {
        HostKeyTrust::AcceptNew
    } else {
        HostKeyTrust::Known
    };
    Ok(hosts
        .iter()
        .map(|host| SshTarget {
            host: host.clone(),
            port: ssh.ssh_port.unwrap_or(22),
            user: ssh.ssh_user.clone(),
            key: ssh.ssh_key.clone(),
            known_hosts: ssh.ssh_known_hosts.clone(),
            trust,
        })
        .collect())
}

/// The warning to print before logging in to `hosts`, when their keys are trusted on first use.
pub fn trust_warning(hosts: &[SshTarget]) -> Option<String> {
    let trusted: Vec<&str> = hosts
        .iter()
        .filter(|h| h.trust == HostKeyTrust::AcceptNew)
        .map(|h| h.host.as_str())
        .collect();
    (!trusted.is_empty()).then(|| {
        format!(
            "WARNING: --ssh-accept-new: the host key of any of {} not yet in known_hosts is \
             trusted WITHOUT CHECKING and added (a changed key is still refused)",
            trusted.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// `faultline test EXTRA…`'s remote hosts, or the error of parsing or resolving it.
    fn hosts(extra: &[&str]) -> Result<Vec<cluster::ssh::SshTarget>, String> {
        let mut argv = vec!["faultline", "test"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::Test(args) => super::resolve(&args.cluster),
            _ => unreachable!(),
        }
    }

    #[test]
    fn nodes_is_a_count_or_a_list_of_hosts() {
        assert!(hosts(&["--nodes", "3"]).unwrap().is_empty());
        let key = std::env::current_exe().unwrap().display().to_string();
        let h = hosts(&[
            "--nodes",
            "db1,10.0.0.2,::1",
            "--ssh-user",
            "admin",
            "--ssh-port",
            "2200",
            "--ssh-key",
            &key,
        ])
        .unwrap();
        let names: Vec<&str> = h.iter().map(|t| t.host.as_str()).collect();
        assert_eq!(names, ["db1", "10.0.0.2", "::1"]);
        assert!(h.iter().all(|t| t.port == 2200
            && t.user.as_deref() == Some("admin")
            && t.trust == super::HostKeyTrust::Known));
        let accept = hosts(&["--nodes", "db1", "--ssh-accept-new"]).unwrap();
        assert_eq!(accept[0].trust, super::HostKeyTrust::AcceptNew);
        assert!(super::trust_warning(&accept).unwrap().contains("db1"));
    }

    #[test]
    fn errors_name_the_option() {
        let e = hosts(&["--nodes", "a b,c"]).unwrap_err();
        assert!(e.contains("--nodes") && e.contains("`a b`"), "{e}");
        let e = hosts(&["--nodes", "root@db1"]).unwrap_err();
        assert!(e.contains("--nodes") && e.contains("--ssh-user"), "{e}");
        let e = hosts(&["--nodes", "db1,db1"]).unwrap_err();
        assert!(e.contains("db1 is given twice"), "{e}");
        let e = hosts(&["--nodes", "db1,,db2"]).unwrap_err();
        assert!(e.contains("--nodes"), "{e}");
        let e = hosts(&["--ssh-user", "x"]).unwrap_err();
        assert!(e.starts_with("--ssh-user: applies to remote nodes"), "{e}");
        let e = hosts(&["--install"]).unwrap_err();
        assert!(e.starts_with("--install: applies to remote nodes"), "{e}");
        assert_eq!(hosts(&["--nodes", "db1", "--install"]).unwrap().len(), 1);
        let e = hosts(&["--nodes", "db1", "--net", "proxy"]).unwrap_err();
        assert!(e.starts_with("--net:"), "{e}");
        let e = hosts(&["--nodes", "db1", "--ssh-key", "/no/such/key"]).unwrap_err();
        assert!(
            e.starts_with("--ssh-key: no such file: /no/such/key"),
            "{e}"
        );
    }
}
