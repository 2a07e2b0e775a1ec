//! End-to-end tests of Clockwork against a real Docker Engine live in
//! `e2e/`; this library holds nothing. Run them with `cargo test -p clockwork-e2e`
//! after `scripts/ensure-docker.sh` and `tests/images/build.sh` (the test
//! command in the README does both).
