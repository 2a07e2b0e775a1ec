//! The `clockwork` binary: everything happens in [`clockwork::cli`].

fn main() -> std::process::ExitCode {
    clockwork::cli::main()
}
