//! How a plan, an apply, a check and the plugins look to the user: text
//! tables, JSON documents, JUnit and TAP. Above the stages; written out
//! through [`crate::output`], which masks.

mod apply;
mod assert;
mod graph;
mod plan;
mod plugins;

pub use apply::{progress, render_changes, render_report};
pub use assert::{
    assert_json, render_checked, render_documentation, render_junit, render_tally, render_tap,
};
pub use graph::{render_dot, render_mermaid};
pub use plan::{plan_json, render_plan};
pub use plugins::{plugin_json, plugins_list_json, render_inspect, render_plugins_list};

use crate::output::note;
use crate::plugin::{LogLevel, LogRecord};

/// Prints a plugin's log record to stderr if `verbosity` shows its level:
/// warnings and errors always, info at `-v`, debug and trace at `-vv`.
pub fn plugin_log(verbosity: u8, plugin: &str, record: &LogRecord) {
    let shown = match record.level {
        LogLevel::Warn | LogLevel::Error => true,
        LogLevel::Info => verbosity >= 1,
        LogLevel::Debug | LogLevel::Trace => verbosity >= 2,
    };
    if !shown {
        return;
    }
    let level = format!("{:?}", record.level).to_lowercase();
    let mut line = format!("[{plugin}] {level}: {}", record.message);
    for (key, value) in &record.fields {
        line.push_str(&format!(" {key}={value}"));
    }
    note(&line);
}
