//! `clockwork logs [NAME…] [-f] [--since WHEN] [--tail N]`: what the
//! project's containers printed, interleaved by time, each line after its
//! resource's name (coloured on a terminal), every secret masked.
//!
//! Without `-f` every container's lines are fetched, then merged by their
//! Engine timestamps. With `-f` the backlog is printed the same way, then
//! each container is followed; the Engine's `start` events bring in the
//! containers that `apply`, `watch` or `restart` make again, so one
//! `logs -f` outlives any number of recreations. A follower that starts
//! again after a stop asks from the second of the last line it printed and
//! drops what it already showed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{IsTerminal, Write};

use bollard::container::LogOutput;
use bollard::query_parameters::{EventsOptions, LogsOptions};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::cli::{CliError, EXIT_OK, Invocation, lifecycle, project};
use crate::docker::{Engine, EngineError, labels, listed_name, listed_resource};
use crate::output;
use crate::state::State;

/// What `clockwork logs` was asked.
pub struct LogsArgs {
    /// Resources (a composite: its leaves); every one when empty.
    pub names: Vec<String>,
    /// `-f`.
    pub follow: bool,
    /// `--since`: a duration back from now or an RFC 3339 time.
    pub since: Option<String>,
    /// `--tail N`, per container.
    pub tail: Option<u32>,
    /// `-t`.
    pub timestamps: bool,
    /// Colour the names, when stdout is a terminal and NO_COLOR is unset.
    pub color: bool,
    /// `--json`.
    pub json: bool,
}

/// One printed line.
#[derive(Debug, Clone)]
struct Line {
    /// Nanoseconds since the epoch, from the Engine's timestamp.
    at: i128,
    /// The Engine's timestamp as it gave it.
    stamp: String,
    container_id: String,
    prefix: String,
    resource: String,
    container: String,
    stderr: bool,
    text: String,
}

/// What a follower says.
enum Followed {
    Line(Line),
    /// Its stream ended (the container stopped, or went).
    Ended(Source),
}

/// A container whose logs are shown.
#[derive(Debug, Clone)]
struct Source {
    id: String,
    name: String,
    resource: String,
    prefix: String,
    running: bool,
    /// A swarm's task, whose logs come through the manager from whichever
    /// node runs it, rather than a container of this Engine.
    task: bool,
}

impl Source {
    /// Its log stream, from `since` on.
    fn stream(
        &self,
        docker: &bollard::Docker,
        options: LogsOptions,
    ) -> futures::stream::BoxStream<'static, Result<LogOutput, bollard::errors::Error>> {
        if self.task {
            docker.task_logs(&self.id, Some(options)).boxed()
        } else {
            docker.logs(&self.id, Some(options)).boxed()
        }
    }
}

/// `clockwork logs`.
pub async fn run(invocation: &Invocation, args: LogsArgs) -> Result<u8, CliError> {
    let since = match &args.since {
        Some(text) => Some(parse_since(text).map_err(|message| CliError::Usage {
            message,
            help: "e.g. `--since 10m`, `--since 2h`, `--since 30d` or `--since 2026-12-01T10:00:00Z`".into(),
        })?),
        None => None,
    };
    // Resolving registers every secret the project holds with the masker.
    let resolved = project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    let folder = &invocation.project;
    let state = State::load(&folder.files, &folder.identity)?;
    let wanted: Option<BTreeSet<String>> = if args.names.is_empty() {
        None
    } else {
        Some(
            lifecycle::targets(&args.names, &resolved.graph.project, &state)?
                .into_iter()
                .map(|n| n.to_string())
                .collect(),
        )
    };
    let identity = crate::state::adoption::identity(&folder.identity);
    let engine = Engine::connect(&identity, folder.files.clone()).await?;
    if let Some(note) = engine.adopted_note().await? {
        crate::output::note(&note);
    }
    let mut printer = Printer::new(&resolved.graph, &args);

    // The Engine's clock, not ours, stamps its lines and events: a remote
    // Engine's, or Docker Desktop's VM after a sleep, may be behind.
    let clock = if args.follow || matches!(since, Some(Since::Ago(_))) {
        EngineClock::read(&engine).await
    } else {
        EngineClock::default()
    };
    let since = since.map(|s| s.seconds(&clock));
    // Events from before the listing, so a container started in between is
    // not missed: the stream is only asked for when first polled, after the
    // backlog has been printed.
    let mut events = args
        .follow
        .then(|| start_events(&engine, clock.now() / 1_000_000_000));
    let sources = list(&engine, wanted.as_ref()).await?;
    if sources.is_empty() && !args.follow {
        output::note(match &wanted {
            Some(_) => "the resources named have no containers: nothing to show",
            None => "the project has no containers: nothing to show",
        });
        return Ok(EXIT_OK);
    }
    printer.width = sources
        .iter()
        .map(|s| s.prefix.chars().count())
        .chain(wanted.iter().flatten().map(|n| n.chars().count()))
        .max()
        .unwrap_or(0);
    let backlog = Backlog {
        clock: &clock,
        tail: args.tail,
        since,
    };
    if !backlog.print(&engine, &sources, &mut printer).await? {
        return Ok(EXIT_OK);
    }
    let Some(events) = events.as_mut() else {
        return Ok(EXIT_OK);
    };
    let follow = Follow {
        engine: &engine,
        wanted: wanted.as_ref(),
        project: &identity.name,
    };
    follow.run(sources, events, printer).await
}

/// What of each container's past is shown.
struct Backlog<'a> {
    clock: &'a EngineClock,
    tail: Option<u32>,
    since: Option<i64>,
}

impl Backlog<'_> {
    /// The backlog, merged by time; `false` when stdout closed.
    async fn print(
        &self,
        engine: &Engine,
        sources: &[Source],
        printer: &mut Printer,
    ) -> Result<bool, CliError> {
        let mut backlog = Vec::new();
        for source in sources {
            // What is older than this is the backlog's to show or leave out.
            printer.shown.insert(source.id.clone(), self.clock.now());
            backlog.extend(fetch(engine, source, self.tail, self.since).await?);
        }
        backlog.sort_by_key(|l| l.at);
        Ok(backlog.iter().all(|line| printer.print(line)))
    }
}

/// Following the project's containers (`-f`), those started later too.
struct Follow<'a> {
    engine: &'a Engine,
    wanted: Option<&'a BTreeSet<String>>,
    /// The project's name, for errors.
    project: &'a str,
}

impl Follow<'_> {
    /// Follows until Ctrl-C, a closed stdout or the end of the Engine's
    /// events.
    async fn run(
        &self,
        sources: Vec<Source>,
        events: &mut StartEvents,
        mut printer: Printer,
    ) -> Result<u8, CliError> {
        let engine = self.engine;
        // Following: one task per container streams into one printer.
        // One channel for lines and ends, so an end comes after its lines.
        let (lines, mut incoming) = mpsc::channel::<Followed>(1024);
        let mut following: BTreeSet<String> = BTreeSet::new();
        for source in sources.into_iter().filter(|s| s.running) {
            following.insert(source.id.clone());
            spawn_follower(engine, source, &printer, lines.clone());
        }
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        loop {
            tokio::select! {
                _ = &mut interrupted => return Ok(EXIT_OK),
                Some(followed) = incoming.recv() => {
                    let source = match followed {
                        Followed::Line(line) => {
                            if !printer.print(&line) {
                                return Ok(EXIT_OK);
                            }
                            continue;
                        }
                        Followed::Ended(source) => source,
                    };
                    // A restart's `start` event may come before the old stream
                    // has ended: a container running again is followed again.
                    if self.running(&source).await {
                        spawn_follower(engine, source, &printer, lines.clone());
                    } else {
                        following.remove(&source.id);
                    }
                }
                event = events.next() => {
                    let Some(source) = self.started(event)? else {
                        continue;
                    };
                    if following.insert(source.id.clone()) {
                        printer.width = printer.width.max(source.prefix.chars().count());
                        spawn_follower(engine, source, &printer, lines.clone());
                    }
                }
            }
        }
    }

    /// Whether the container runs now.
    async fn running(&self, source: &Source) -> bool {
        self.engine
            .inspect_container(&source.id)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.state.and_then(|s| s.running))
            .unwrap_or(false)
    }

    /// The container an event says started, when it is one to show; an
    /// error when the Engine's events failed or ended.
    fn started(&self, event: Option<Result<Started, String>>) -> Result<Option<Source>, CliError> {
        let Some(event) = event else {
            return Err(CliError::Engine(EngineError::call(
                "follow the events of",
                self.project,
                "the Engine ended the stream",
            )));
        };
        let attributes = event.map_err(|e| {
            CliError::Engine(EngineError::call("follow the events of", self.project, e))
        })?;
        Ok(started(self.engine, &attributes, self.wanted))
    }
}

/// A started container of the project, from an event's id and attributes
/// (its labels and `name`), when it is one of those shown.
fn started(
    engine: &Engine,
    (id, attributes): &Started,
    wanted: Option<&BTreeSet<String>>,
) -> Option<Source> {
    if !engine.ours(Some(attributes)) {
        return None;
    }
    let resource = attributes.get(labels::RESOURCE)?.clone();
    if wanted.is_some_and(|w| !w.contains(&resource)) {
        return None;
    }
    let name = attributes
        .get("name")
        .cloned()
        .unwrap_or_else(|| id.clone());
    Some(Source {
        id: id.clone(),
        prefix: resource.clone(),
        name,
        resource,
        running: true,
        task: false,
    })
}

/// A started container's id and its event's attributes.
type Started = (String, HashMap<String, String>);

type StartEvents = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Started, String>> + Send>>;

/// The `start` events of every Clockwork container since `since` (seconds
/// since the epoch, by the Engine's clock): each one's id and attributes.
fn start_events(engine: &Engine, since: i128) -> StartEvents {
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("event".to_string(), vec!["start".to_string()]),
        ("label".to_string(), vec![labels::PROJECT.to_string()]),
    ]);
    let stream = engine
        .docker
        .events(Some(EventsOptions {
            filters: Some(filters),
            since: Some(since.to_string()),
            ..Default::default()
        }))
        .map(|event| match event {
            Ok(e) => {
                let actor = e.actor.unwrap_or_default();
                Ok((
                    actor.id.unwrap_or_default(),
                    actor.attributes.unwrap_or_default(),
                ))
            }
            Err(e) => Err(e.to_string()),
        });
    Box::pin(stream)
}

/// The project's containers (of the `wanted` resources), in deploy order
/// of their resources.
async fn list(engine: &Engine, wanted: Option<&BTreeSet<String>>) -> Result<Vec<Source>, CliError> {
    let mut by_resource: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    // On a swarm, the services' tasks, on whichever node.
    let listed = if engine.is_swarm() {
        engine.task_summaries().await?
    } else {
        engine.own_containers().await?
    };
    for c in listed {
        let Some(resource) = listed_resource(&c) else {
            continue;
        };
        if wanted.is_some_and(|w| !w.contains(resource)) {
            continue;
        }
        let name = listed_name(&c);
        by_resource
            .entry(resource.clone())
            .or_default()
            .push(Source {
                id: c.id.clone().unwrap_or_default(),
                prefix: resource.clone(),
                name,
                resource: resource.clone(),
                running: c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running"),
                task: engine.is_swarm(),
            });
    }
    let mut out = Vec::new();
    for (_, mut sources) in by_resource {
        // A resource with several containers names each line's container.
        if sources.len() > 1 {
            for s in &mut sources {
                s.prefix = s.name.clone();
            }
        }
        out.extend(sources);
    }
    Ok(out)
}

fn options(follow: bool, tail: Option<u32>, since: Option<i64>) -> LogsOptions {
    LogsOptions {
        follow,
        stdout: true,
        stderr: true,
        timestamps: true,
        tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
        since: since
            .map(|s| i32::try_from(s.max(0)).unwrap_or(i32::MAX))
            .unwrap_or(0),
        ..Default::default()
    }
}

/// Everything `source` printed (within `tail` and `since`), as lines.
async fn fetch(
    engine: &Engine,
    source: &Source,
    tail: Option<u32>,
    since: Option<i64>,
) -> Result<Vec<Line>, CliError> {
    let mut stream = source.stream(&engine.docker, options(false, tail, since));
    let mut out = Vec::new();
    let mut stamp = Stamp::default();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => out.extend(lines_of(source, chunk, &mut stamp)),
            // Removed while being read: what it said so far is shown.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => break,
            Err(e) => {
                return Err(CliError::Engine(EngineError::call(
                    "read the logs of",
                    &source.name,
                    e,
                )));
            }
        }
    }
    Ok(out)
}

/// Follows one container until it stops, sending its new lines; says on
/// `ended` when it has.
fn spawn_follower(
    engine: &Engine,
    source: Source,
    printer: &Printer,
    lines: mpsc::Sender<Followed>,
) {
    let docker = engine.docker.clone();
    // Asked from the second of the last line shown (the Engine takes whole
    // seconds): what was shown already is dropped below.
    let last = printer.shown.get(&source.id).copied();
    let since = last.map(|at| (at / 1_000_000_000) as i64);
    tokio::spawn(async move {
        let mut stream = source.stream(&docker, options(true, None, since));
        let mut stamp = Stamp::default();
        while let Some(Ok(chunk)) = stream.next().await {
            for line in lines_of(&source, chunk, &mut stamp) {
                if last.is_some_and(|l| line.at <= l) {
                    continue;
                }
                if lines.send(Followed::Line(line)).await.is_err() {
                    return;
                }
            }
        }
        let _ = lines.send(Followed::Ended(source)).await;
    });
}

/// The Engine's stamp of the last line read from one stream.
#[derive(Debug, Clone, Default)]
struct Stamp {
    text: String,
    at: i128,
}

/// The lines of one chunk the Engine sent: `TIMESTAMP text`. A line without
/// a stamp (the rest of a chunk, or a piece of a line a terminal's stream
/// cut) is as old as the one before it in `stamp`, so it sorts after it and
/// is not taken for one shown already.
fn lines_of(source: &Source, chunk: LogOutput, stamp: &mut Stamp) -> Vec<Line> {
    let (stderr, bytes) = match chunk {
        LogOutput::StdErr { message } => (true, message),
        LogOutput::StdOut { message } | LogOutput::Console { message } => (false, message),
        LogOutput::StdIn { .. } => return Vec::new(),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for raw in text.split_inclusive('\n') {
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        // A chunk holding several lines stamps only the first.
        let body = match raw.split_once(' ') {
            Some((first, rest)) if let Some(nanos) = stamp_nanos(first) => {
                stamp.text = first.to_string();
                stamp.at = nanos;
                rest
            }
            _ => raw,
        };
        out.push(Line {
            at: stamp.at,
            stamp: stamp.text.clone(),
            container_id: source.id.clone(),
            prefix: source.prefix.clone(),
            resource: source.resource.clone(),
            container: source.name.clone(),
            stderr,
            text: body.to_string(),
        });
    }
    out
}

/// Nanoseconds since the epoch of `2026-12-01T10:00:00.123456789Z` (or
/// with an offset, `…+01:00`, as the Engine gives its own time).
fn stamp_nanos(text: &str) -> Option<i128> {
    let (body, offset) = match text.strip_suffix('Z') {
        Some(body) => (body, 0),
        None => {
            let at = text.len().checked_sub(6)?;
            let (body, zone) = (text.get(..at)?, text.get(at..)?);
            let sign = match zone.as_bytes() {
                [b'+', _, _, b':', _, _] => 1,
                [b'-', _, _, b':', _, _] => -1,
                _ => return None,
            };
            let hours: i128 = zone.get(1..3)?.parse().ok()?;
            let minutes: i128 = zone.get(4..6)?.parse().ok()?;
            (body, sign * (hours * 3600 + minutes * 60))
        }
    };
    let (whole, fraction) = match body.split_once('.') {
        Some((whole, fraction)) => (format!("{whole}Z"), fraction),
        None => (format!("{body}Z"), ""),
    };
    if !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let seconds = crate::docker::rfc3339_seconds(&whole)? as i128 - offset;
    let nanos: i128 = format!("{fraction:0<9}").parse().ok()?;
    Some(seconds * 1_000_000_000 + nanos)
}

/// How far the Engine's clock is from ours.
#[derive(Debug, Clone, Copy, Default)]
struct EngineClock {
    /// The Engine's time minus ours, in nanoseconds.
    ahead: i128,
}

impl EngineClock {
    /// Asks the Engine its time; ours when it does not say.
    async fn read(engine: &Engine) -> EngineClock {
        let asked = now_nanos();
        let theirs = engine
            .docker
            .info()
            .await
            .ok()
            .and_then(|info| info.system_time)
            .and_then(|t| stamp_nanos(&t));
        let answered = now_nanos();
        EngineClock {
            // Taken as of the middle of the call.
            ahead: theirs.map_or(0, |t| t - (asked + answered) / 2),
        }
    }

    /// Now, by the Engine's clock.
    fn now(&self) -> i128 {
        now_nanos() + self.ahead
    }
}

fn now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// What `--since` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Since {
    /// A time: seconds since the epoch.
    At(i64),
    /// That long before now, by the Engine's clock.
    Ago(std::time::Duration),
}

impl Since {
    /// Seconds since the epoch.
    fn seconds(self, clock: &EngineClock) -> i64 {
        match self {
            Since::At(at) => at,
            Since::Ago(back) => {
                let now = clock.now() / 1_000_000_000;
                (now - i128::from(back.as_secs())).max(0) as i64
            }
        }
    }
}

/// `--since`: an RFC 3339 time or a duration back from now.
fn parse_since(text: &str) -> Result<Since, String> {
    if let Some(at) = stamp_nanos(text) {
        return Ok(Since::At((at / 1_000_000_000) as i64));
    }
    if text.contains('T') {
        return Err(format!(
            "`{text}` is not a time in UTC like 2026-12-01T10:00:00Z"
        ));
    }
    crate::cli::args::parse_age(text).map(Since::Ago)
}

/// Writes lines, masked, with a name prefix.
struct Printer {
    colored: bool,
    timestamps: bool,
    json: bool,
    width: usize,
    /// Resource names in deploy order: the colour is picked by position.
    order: Vec<String>,
    /// The last line shown of each container.
    shown: HashMap<String, i128>,
}

/// Colours in the order `docker compose logs` uses them.
const COLOURS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

impl Printer {
    fn new(graph: &crate::resolve::Graph, args: &LogsArgs) -> Self {
        // Colours go by deploy order, so a resource keeps its colour across runs.
        let order: Vec<String> = graph
            .order()
            .map(|id| graph.project.get(id).name.to_string())
            .collect();
        let colored = args.color
            && !args.json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        Printer {
            colored,
            timestamps: args.timestamps,
            json: args.json,
            width: 0,
            order,
            shown: HashMap::new(),
        }
    }

    /// Prints one line; `false` when stdout is closed.
    fn print(&mut self, line: &Line) -> bool {
        let last = self
            .shown
            .entry(line.container_id.clone())
            .or_insert(line.at);
        *last = (*last).max(line.at);
        let text = output::masked(&line.text);
        let rendered = if self.json {
            let mut value = serde_json::json!({
                "time": line.stamp,
                "resource": line.resource,
                "container": line.container,
                "stream": if line.stderr { "stderr" } else { "stdout" },
                "line": text,
            });
            if line.stamp.is_empty() {
                value["time"] = serde_json::Value::Null;
            }
            format!("{value}\n")
        } else {
            let name = format!("{:<width$}", line.prefix, width = self.width);
            let name = if self.colored {
                let index = self
                    .order
                    .iter()
                    .position(|n| *n == line.resource)
                    .unwrap_or(self.order.len());
                format!("\x1b[{}m{name} |\x1b[0m", COLOURS[index % COLOURS.len()])
            } else {
                format!("{name} |")
            };
            if self.timestamps {
                format!("{name} {} {text}\n", line.stamp)
            } else {
                format!("{name} {text}\n")
            }
        };
        let mut out = std::io::stdout().lock();
        out.write_all(rendered.as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            id: "abc".into(),
            name: "web".into(),
            resource: "web".into(),
            prefix: "web".into(),
            running: true,
            task: false,
        }
    }

    #[test]
    fn engine_stamps_order_lines_to_the_nanosecond() {
        let early = stamp_nanos("2026-12-01T10:00:00.1Z").expect("stamp");
        let late = stamp_nanos("2026-12-01T10:00:00.12Z").expect("stamp");
        assert!(early < late, "{early} {late}");
        assert_eq!(
            stamp_nanos("2026-12-01T10:00:01Z").expect("stamp") - early,
            900_000_000
        );
        assert_eq!(stamp_nanos("yesterday"), None);
        // The Engine's own time, in its zone.
        assert_eq!(
            stamp_nanos("2026-12-01T11:30:00.1+01:30"),
            stamp_nanos("2026-12-01T10:00:00.1Z")
        );
        assert_eq!(
            stamp_nanos("2026-12-01T05:00:00-05:00"),
            stamp_nanos("2026-12-01T10:00:00Z")
        );
        assert_eq!(stamp_nanos("2026-12-01T10:00:00+0100"), None);
    }

    #[test]
    fn a_chunk_becomes_stamped_lines() {
        let chunk = LogOutput::StdErr {
            message: "2026-12-01T10:00:00.000000001Z boom\r\nsecond\n".into(),
        };
        let mut stamp = Stamp::default();
        let lines = lines_of(&source(), chunk, &mut stamp);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].stderr);
        assert_eq!(lines[0].text, "boom");
        assert_eq!(lines[1].text, "second");
        assert_eq!(lines[1].at, lines[0].at);
        // The next chunk, unstamped (a terminal's stream is cut anywhere),
        // is as old as the line before it, not of the epoch.
        let piece = LogOutput::Console {
            message: "rest of it".into(),
        };
        let rest = lines_of(&source(), piece, &mut stamp);
        assert_eq!(rest[0].at, lines[0].at);
        assert_eq!(rest[0].stamp, "2026-12-01T10:00:00.000000001Z");
    }

    #[test]
    fn since_takes_a_duration_or_a_time() {
        use std::time::Duration;
        assert_eq!(parse_since("10m"), Ok(Since::Ago(Duration::from_secs(600))));
        assert_eq!(parse_since("1970-01-01T00:01:00Z"), Ok(Since::At(60)));
        assert!(parse_since("2026-13-01T").is_err());
        assert!(parse_since("soon").is_err());
        // Further back than the week a wait may last.
        assert_eq!(
            parse_since("200h"),
            Ok(Since::Ago(Duration::from_secs(200 * 3600)))
        );
        assert_eq!(
            parse_since("30d"),
            Ok(Since::Ago(Duration::from_secs(30 * 86_400)))
        );
        // Counted back on the Engine's clock, here an hour behind ours.
        let behind = EngineClock {
            ahead: -3_600_000_000_000,
        };
        let ours = (now_nanos() / 1_000_000_000) as i64;
        let ten_minutes = Since::Ago(Duration::from_secs(600)).seconds(&behind);
        assert!(
            (ours - 3600 - 600 - ten_minutes).abs() <= 1,
            "{ten_minutes}"
        );
        assert_eq!(Since::At(60).seconds(&behind), 60);
    }
}
