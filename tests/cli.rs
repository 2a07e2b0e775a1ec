//! The `clockwork` CLI, built inside this package so the end-to-end tests
//! can run it as a separate process (`CARGO_BIN_EXE_clockwork-under-test`).

fn main() -> std::process::ExitCode {
    clockwork::cli::main()
}
