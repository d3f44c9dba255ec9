//! The `trailbell` binary: run one command, print its error chain once, exit with its code.
//!
//! Exit codes: 0 success, 1 a negative answer (some input was rejected), 2 an error.

use std::io::{self, Write as _};
use std::process::ExitCode;

use trailbell::sanitize;

mod cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        // The reader went away (`trailbell match ... | head`): that is how pipelines end.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let message = chain_once(&err);
            let mut stderr = io::stderr().lock();
            for line in message.lines() {
                let _ = writeln!(stderr, "{}", sanitize::for_terminal(line));
            }
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}

/// The error and its causes joined by `: `, each cause left out when the text so far already
/// says it: errors that print their source (`cannot listen on X: address in use`) would
/// otherwise print it twice.
fn chain_once(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io_err| io_err.kind() == io::ErrorKind::BrokenPipe)
    })
}
