//! The `salesorg` command line: a thin layer that parses arguments, opens the store, calls
//! the engine and prints. It is the only place that reads the clock (for "today").

mod cli;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // an import refusal already explains itself fully
            if let Some(salesorg_engine::EngineError::Rejected(ps)) =
                e.downcast_ref::<salesorg_engine::EngineError>()
            {
                eprint!("{ps}");
                return ExitCode::from(2);
            }
            // `salesorg scorecard --all | head` closes the pipe early: not an error
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
