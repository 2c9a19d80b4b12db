//! Exit codes, documented in `flotilla --help` and the README.
//!
//! 0 success; 1 error; 2 usage error (clap); 3 not converged (apply/sync ran
//! but something is unhealthy or timed out); 4 changes pending (`diff`/`plan`
//! with `--exit-code`, like `terraform plan -detailed-exitcode`).

use std::process::ExitCode;

pub const FAILURE: u8 = 1;
#[allow(dead_code)]
pub const NOT_CONVERGED: u8 = 3;
#[allow(dead_code)]
pub const CHANGES_PENDING: u8 = 4;

/// Print an error with its chain of causes and return the failure code.
pub fn report(err: anyhow::Error) -> ExitCode {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitCode::from(FAILURE)
}
