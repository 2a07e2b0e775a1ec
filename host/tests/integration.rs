//! Integration tests of the `clockwork` binary and its plugin runtime,
//! against real WebAssembly components (bundled, test fixtures, Python).

mod support;

mod bad_input;
mod cli;
mod complete;
mod completions;
mod contract;
mod hostile;
mod import;
mod layers;
mod loading;
mod model_server;
mod outputs;
mod plan;
mod python;
mod real_model;
mod safety;
mod sandbox;
mod sdk_examples;
mod ssl_check;
