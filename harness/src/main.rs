//! The `faultline` binary: parses the command line and hands each subcommand to its module.

mod adequacy;
mod attach;
mod bench;
mod catch_up;
mod check_cmd;
mod check_inputs;
mod check_readings;
mod cli;
mod config;
mod lab;
mod like;
mod live_check;
mod memory_cap;
mod output;
mod progress;
mod recorder;
mod remote;
mod replication;
mod report_cmd;
mod run;
mod signals;
mod suite;
mod worker;

use clap::Parser;
use cli::{Cli, Command};
use config::TestConfig;
use results::ExitCode;

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argv = match like::expand(&argv) {
        Ok(expanded) => expanded.unwrap_or(argv),
        Err(e) => {
            eprintln!("error: {e}");
            return code(ExitCode::BadInput.code());
        }
    };
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors and 0 for --help/--version, as documented.
            return code(e.exit_code());
        }
    };
    let status = match cli.command {
        Command::Node(args) => {
            init_tracing("info");
            match node::main(args) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: faultline node: {e:#}");
                    ExitCode::BadInput.code()
                }
            }
        }
        Command::Cluster(args) => {
            init_tracing("warn");
            lab::run(args)
        }
        Command::Bench(args) => {
            init_tracing("warn");
            bench::run(args)
        }
        Command::Suite(args) => {
            init_tracing("warn");
            suite::run(args)
        }
        Command::Check(args) => {
            init_tracing("warn");
            check_cmd::run(args)
        }
        Command::Report(args) => report_cmd::run(args),
        Command::Test(args) => {
            init_tracing("warn");
            match TestConfig::resolve(args) {
                Ok(mut cfg) => {
                    cfg.command = argv[1..].to_vec();
                    test(cfg)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::BadInput.code()
                }
            }
        }
    };
    code(status)
}

fn test(cfg: TestConfig) -> i32 {
    let exe = match run::own_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::BadInput.code();
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // The run races its phases against SIGINT/SIGTERM itself, so that an interrupted run still
    // tears down, checks what it recorded and writes results.json.
    match runtime.block_on(run::run_test(cfg, exe)) {
        Ok(run::RunEnd::Finished(exit)) => exit.code(),
        Ok(run::RunEnd::Interrupted(signal)) => {
            eprintln!("interrupted by {signal}: results.json says what was recorded");
            signals::INTERRUPTED
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::BadInput.code()
        }
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::AboveBars::default)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn code(status: i32) -> std::process::ExitCode {
    std::process::ExitCode::from(status.clamp(0, 255) as u8)
}
