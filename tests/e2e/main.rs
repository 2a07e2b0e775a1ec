//! End-to-end tests against a real Docker Engine and the local stand-in
//! images (`tests/images/build.sh`): the stand-ins themselves, then
//! Clockwork driving the Engine through its CLI.

mod apply;
mod assert;
mod completion;
mod completions;
mod database;
mod docker;
mod exec;
mod file_connection;
mod fixtures;
mod git;
mod hostile;
mod import;
mod logs;
mod network;
mod safety;
mod stack;
mod standin_images;
mod status;
mod swarm;
mod third_party;
mod tls;
mod user_assert;
mod waits;
mod watch;
