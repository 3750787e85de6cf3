//! The `salesorg` command line: a thin layer that parses arguments, opens the store, calls
//! the engine and prints. It is the only place that reads the clock (for "today").

/// `println!` that hands a failed write back with `?` instead of panicking: a reader that
/// closes the pipe early (`salesorg kpis | head`) is not an error.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($t)*)?
    }};
}

/// `print!` as [`outln!`] is `println!`.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($t)*)?
    }};
}

/// `eprintln!` that goes on when standard error is closed (`salesorg demo 2>&1 | head -1`):
/// a progress line that cannot be shown is not worth a panic.
macro_rules! note {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod cli;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    use std::io::Write as _;
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        // `salesorg scorecard --all | head` closes the pipe early: not an error
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // (written without `eprint!`, which panics when standard error is closed too)
            let mut err = std::io::stderr();
            // an import refusal already explains itself fully
            if let Some(salesorg_engine::EngineError::Rejected(ps)) =
                e.downcast_ref::<salesorg_engine::EngineError>()
            {
                let _ = write!(err, "{ps}");
                return ExitCode::from(2);
            }
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether an error is a write into a pipe whose reader has gone, told apart wherever it
/// happened: a plain write's error, or a CSV writer's (whose error names no source).
fn closed_pipe(e: &anyhow::Error) -> bool {
    let broken = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(broken)
            || c.downcast_ref::<csv::Error>()
                .is_some_and(|x| matches!(x.kind(), csv::ErrorKind::Io(io) if broken(io)))
    })
}
