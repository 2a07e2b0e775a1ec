//! `apply`'s progress on a terminal: under the finished lines, one line per
//! resource in progress with a spinner, what it is doing and for how long,
//! redrawn ten times a second. Finished resources are printed above the
//! block as plain lines, so the scrollback keeps only final statuses.

use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// One resource in progress.
struct Line {
    name: String,
    change: String,
    step: String,
    since: Instant,
}

/// Resources in progress, in the order they started, and how many lines
/// of the screen the block took when last drawn.
#[derive(Default)]
struct Block {
    lines: Vec<Line>,
    frame: usize,
    drawn: usize,
}

impl Block {
    /// Moves to the top of the drawn block and clears it.
    fn erase(&mut self, out: &mut impl Write) {
        if self.drawn > 0 {
            let _ = write!(out, "\r");
            if self.drawn > 1 {
                let _ = write!(out, "\x1b[{}A", self.drawn - 1);
            }
            let _ = write!(out, "\x1b[J");
            self.drawn = 0;
        }
    }

    fn draw(&mut self, out: &mut impl Write) {
        self.erase(out);
        let width = terminal_width();
        let now = Instant::now();
        let spinner = FRAMES[self.frame % FRAMES.len()];
        let text: Vec<String> = self
            .lines
            .iter()
            .map(|l| {
                let step = if l.step.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", l.step)
                };
                let line = format!(
                    "  {spinner} {}: {}{step} {:.1} s",
                    l.name,
                    l.change,
                    (now - l.since).as_secs_f64()
                );
                // A wrapped line would throw the redraw off by one.
                if line.chars().count() >= width {
                    line.chars()
                        .take(width.saturating_sub(2))
                        .collect::<String>()
                        + "…"
                } else {
                    line
                }
            })
            .collect();
        let _ = write!(out, "{}", text.join("\n"));
        self.drawn = text.len();
        let _ = out.flush();
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let mut out = std::io::stdout().lock();
        self.erase(&mut out);
        let _ = out.flush();
    }
}

fn terminal_width() -> usize {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|w| *w > 10)
        .unwrap_or(80)
}

/// The block of lines in progress; dropping the last handle erases it.
#[derive(Clone)]
pub struct Spinner {
    block: Arc<Mutex<Block>>,
}

impl Spinner {
    /// Starts the redraw thread, which ends when the spinner is dropped.
    pub fn start() -> Spinner {
        let block = Arc::new(Mutex::new(Block::default()));
        let weak: Weak<Mutex<Block>> = Arc::downgrade(&block);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let Some(block) = weak.upgrade() else {
                    return;
                };
                let Ok(mut b) = block.lock() else { return };
                b.frame += 1;
                b.draw(&mut std::io::stdout().lock());
            }
        });
        Spinner { block }
    }

    fn with(&self, f: impl FnOnce(&mut Block, &mut std::io::StdoutLock<'static>)) {
        if let Ok(mut b) = self.block.lock() {
            let mut out = std::io::stdout().lock();
            f(&mut b, &mut out);
        }
    }

    /// `name` began `change` (create, replace, …).
    pub fn started(&self, name: &str, change: &str) {
        self.with(|b, out| {
            b.lines.push(Line {
                name: name.to_string(),
                change: change.to_string(),
                step: String::new(),
                since: Instant::now(),
            });
            b.draw(out);
        });
    }

    /// `name` moved on to `step` (an action or a wait).
    pub fn step(&self, name: &str, step: &str) {
        self.with(|b, out| {
            if let Some(line) = b.lines.iter_mut().find(|l| l.name == name) {
                line.step = crate::output::masked(step);
            }
            b.draw(out);
        });
    }

    /// `name` ended: `line` goes above the block.
    pub fn finished(&self, name: &str, line: &str) {
        self.with(|b, out| {
            b.lines.retain(|l| l.name != name);
            b.erase(out);
            if !line.is_empty() {
                let _ = writeln!(out, "{}", crate::output::masked(line));
            }
            b.draw(out);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, step: &str) -> Line {
        Line {
            name: name.into(),
            change: "create".into(),
            step: step.into(),
            since: Instant::now(),
        }
    }

    #[test]
    fn redraws_the_block_in_place_and_never_wraps() {
        let mut block = Block::default();
        block.lines.push(line("db", "ensure container"));
        block.lines.push(line("api", &"x".repeat(300)));
        let mut first = Vec::new();
        block.draw(&mut first);
        let first = String::from_utf8(first).expect("utf-8");
        assert!(
            first.starts_with("  ⠋ db: create · ensure container 0.0 s\n  ⠋ api: create · xxx")
        );
        assert!(first.lines().all(|l| l.chars().count() < terminal_width()));
        assert_eq!(block.drawn, 2);

        // The next frame goes back up over both lines and clears them.
        let mut second = Vec::new();
        block.lines.remove(0);
        block.draw(&mut second);
        let second = String::from_utf8(second).expect("utf-8");
        assert!(second.starts_with("\r\x1b[1A\x1b[J  ⠋ api"), "{second:?}");
        assert_eq!(block.drawn, 1);

        let mut last = Vec::new();
        block.lines.clear();
        block.draw(&mut last);
        assert_eq!(String::from_utf8(last).expect("utf-8"), "\r\x1b[J");
        assert_eq!(block.drawn, 0);
    }
}
