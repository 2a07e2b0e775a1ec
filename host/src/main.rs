//! The `clockwork` binary: everything happens in [`clockwork::cli`].

/// Counts what evaluating a project file allocates, so its memory limit
/// holds (`clockwork::load::limits`).
#[global_allocator]
static ALLOCATOR: clockwork::TrackingAllocator = clockwork::tracking_allocator();

fn main() -> std::process::ExitCode {
    clockwork::main()
}
