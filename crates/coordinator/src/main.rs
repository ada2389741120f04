use clap::error::ErrorKind;
use clap::Parser;
use coordinator::exit::{status_of, Status};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match coordinator::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's own "error: ..." with the prefix every other error has.
            eprint!("collbench: {}", e.render());
            return std::process::ExitCode::from(Status::Usage.code());
        }
    };
    match coordinator::cli_main(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("collbench: error: {e:#}");
            std::process::ExitCode::from(status_of(&e).code())
        }
    }
}
