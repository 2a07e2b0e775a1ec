//! The `clockwork` CLI, built inside this package so the end-to-end tests
//! can run it as a separate process (`CARGO_BIN_EXE_clockwork-under-test`).

/// The same allocator as the real binary, so limits hold here too.
#[global_allocator]
static ALLOCATOR: clockwork::TrackingAllocator = clockwork::tracking_allocator();

fn main() -> std::process::ExitCode {
    clockwork::main()
}
