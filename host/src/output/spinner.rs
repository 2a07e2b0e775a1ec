//! The line under `apply`'s progress on a terminal: a spinner and the
//! resources being worked on with their running times, redrawn ten times a
//! second; finished resources are printed above it as plain lines.

use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR: &str = "\r\x1b[2K";

/// Resources in progress, in the order they started.
#[derive(Default)]
struct Working {
    resources: Vec<(String, Instant)>,
    frame: usize,
    drawn: bool,
}

impl Working {
    fn line(&self) -> String {
        let now = Instant::now();
        let items: Vec<String> = self
            .resources
            .iter()
            .map(|(name, since)| format!("{name} {:.1} s", (now - *since).as_secs_f64()))
            .collect();
        let mut line = format!("{} {}", FRAMES[self.frame % FRAMES.len()], items.join(", "));
        // Wider than the terminal would wrap and break the redraw.
        let width = terminal_width();
        if line.chars().count() > width {
            line = line
                .chars()
                .take(width.saturating_sub(1))
                .collect::<String>()
                + "…";
        }
        line
    }

    fn redraw(&mut self, out: &mut impl Write) {
        if self.resources.is_empty() {
            if self.drawn {
                let _ = write!(out, "{CLEAR}");
                self.drawn = false;
            }
        } else {
            let _ = write!(out, "{CLEAR}{}", self.line());
            self.drawn = true;
        }
        let _ = out.flush();
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        if self.drawn {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{CLEAR}");
            let _ = out.flush();
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// The spinner line; dropping the last handle clears it.
#[derive(Clone)]
pub struct Spinner {
    working: Arc<Mutex<Working>>,
}

impl Spinner {
    /// Starts the redraw thread, which ends when the spinner is dropped.
    pub fn start() -> Spinner {
        let working = Arc::new(Mutex::new(Working::default()));
        let weak: Weak<Mutex<Working>> = Arc::downgrade(&working);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let Some(working) = weak.upgrade() else {
                    return;
                };
                let Ok(mut w) = working.lock() else { return };
                w.frame += 1;
                w.redraw(&mut std::io::stdout().lock());
            }
        });
        Spinner { working }
    }

    /// `name` began.
    pub fn started(&self, name: &str) {
        if let Ok(mut w) = self.working.lock() {
            w.resources.push((name.to_string(), Instant::now()));
            w.redraw(&mut std::io::stdout().lock());
        }
    }

    /// `name` ended: `line` is printed above the spinner.
    pub fn finished(&self, name: &str, line: &str) {
        if let Ok(mut w) = self.working.lock() {
            w.resources.retain(|(n, _)| n != name);
            let mut out = std::io::stdout().lock();
            if w.drawn {
                let _ = write!(out, "{CLEAR}");
                w.drawn = false;
            }
            if !line.is_empty() {
                let _ = writeln!(out, "{line}");
            }
            w.redraw(&mut out);
        }
    }
}
