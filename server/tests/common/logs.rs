//! What the application logged, for tests that must see it: a subscriber installed once per
//! test process keeps every event of warning level and up (and Bandpool's own debug lines),
//! formatted on one line, with its level.

use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One logged event.
#[derive(Debug, Clone)]
pub struct Line {
    pub level: Level,
    pub text: String,
}

static LINES: OnceLock<Mutex<Vec<Line>>> = OnceLock::new();

fn lines() -> &'static Mutex<Vec<Line>> {
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

struct Keep;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(&format!("{}={value:?}", field.name()));
    }
}

impl<S: Subscriber> Layer<S> for Keep {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let ours = meta.target().starts_with("bandpool");
        if *meta.level() > Level::WARN && !(ours && *meta.level() <= Level::DEBUG) {
            return;
        }
        let mut fields = Fields(format!("{}: ", meta.target()));
        event.record(&mut fields);
        lines()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Line {
                level: *meta.level(),
                text: fields.0,
            });
    }
}

/// Start keeping log lines (once per process; later calls do nothing).
pub fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Keep);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// How many lines have been kept so far: a mark to read from.
pub fn mark() -> usize {
    lines().lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// The lines kept since `mark`.
pub fn since(mark: usize) -> Vec<Line> {
    let lines = lines().lock().unwrap_or_else(|e| e.into_inner());
    lines.get(mark..).map(<[Line]>::to_vec).unwrap_or_default()
}
