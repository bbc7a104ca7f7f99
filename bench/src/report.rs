//! The table: one row per figure, each with its baseline from the same run, the ratio, the
//! spread over the runs and the target it is held to; written into BENCHMARKS.md between
//! two markers, so the analysis around it stays.

use crate::stats::{median, range};
use std::fmt::Write as _;

pub const BEGIN: &str =
    "<!-- bench:table:begin (written by scripts/bench; edits here are replaced) -->";
pub const END: &str = "<!-- bench:table:end -->";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Something per second (`checks/s`): more is better.
    Rate(&'static str),
    /// Milliseconds: less is better.
    Millis,
    /// Megabytes (10^6 bytes): less is better.
    Megabytes,
    /// Kilobytes (10^3 bytes): less is better.
    Kilobytes,
    /// Bytes: less is better.
    Bytes,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::Rate(what) => format!("{} {what}", grouped(value)),
            Unit::Millis if value < 10.0 => format!("{value:.2} ms"),
            Unit::Millis => format!("{value:.1} ms"),
            Unit::Megabytes => format!("{value:.1} MB"),
            Unit::Kilobytes => format!("{value:.1} KB"),
            Unit::Bytes => format!("{value:.0} B"),
        }
    }

    fn bare(self, value: f64) -> String {
        match self {
            Unit::Rate(_) => grouped(value),
            Unit::Millis if value < 10.0 => format!("{value:.2}"),
            _ => format!("{value:.1}"),
        }
    }
}

/// A number with thousands separators, no decimals above 100.
fn grouped(value: f64) -> String {
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a figure is held to (the speed goals BENCHMARKS.md lists).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// figure / baseline at least this (a rate).
    AtLeastOfBaseline(f64),
    /// figure / baseline at most this (a time).
    WithinOfBaseline(f64),
    /// The figure under this many of its unit.
    Under(f64),
    /// The figure at least this many of its unit (a rate the product needs).
    AtLeast(f64),
}

#[derive(Debug, Clone)]
pub struct Row {
    /// The measurement's letter in BENCHMARKS.md's table (a–g).
    pub id: &'static str,
    pub what: String,
    /// `SQLite`, `PostgreSQL`, or `—` where no database is involved.
    pub database: &'static str,
    pub unit: Unit,
    /// One figure per run.
    pub runs: Vec<f64>,
    pub baseline_what: String,
    /// The baseline's figure per run (same runs, same machine).
    pub baseline: Vec<f64>,
    pub target: Option<Target>,
    /// Why the measurement produced no figure, when it did not.
    pub failure: Option<String>,
}

impl Row {
    pub fn new(
        id: &'static str,
        what: impl Into<String>,
        database: &'static str,
        unit: Unit,
    ) -> Row {
        Row {
            id,
            what: what.into(),
            database,
            unit,
            runs: Vec::new(),
            baseline_what: String::new(),
            baseline: Vec::new(),
            target: None,
            failure: None,
        }
    }

    pub fn baseline(mut self, what: impl Into<String>) -> Row {
        self.baseline_what = what.into();
        self
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self
    }

    pub fn figure(&self) -> Option<f64> {
        median(&self.runs).filter(|v| *v > 0.0)
    }

    pub fn baseline_figure(&self) -> Option<f64> {
        median(&self.baseline).filter(|v| *v > 0.0)
    }

    pub fn ratio(&self) -> Option<f64> {
        Some(self.figure()? / self.baseline_figure()?)
    }

    /// `Some(true)`: met, `Some(false)`: missed, `None`: no target or no figure.
    pub fn met(&self) -> Option<bool> {
        let figure = self.figure()?;
        Some(match self.target? {
            Target::AtLeastOfBaseline(at_least) => self.ratio()? >= at_least,
            Target::WithinOfBaseline(at_most) => self.ratio()? <= at_most,
            Target::Under(limit) => figure < limit,
            Target::AtLeast(floor) => figure >= floor,
        })
    }

    fn target_cell(&self) -> String {
        let Some(target) = self.target else {
            return "—".into();
        };
        let goal = match target {
            Target::AtLeastOfBaseline(r) => format!("≥ {:.0}% of baseline", r * 100.0),
            Target::WithinOfBaseline(r) => format!("≤ {r}x baseline"),
            Target::Under(limit) => format!("< {}", self.unit.format(limit)),
            Target::AtLeast(floor) => format!("≥ {}", self.unit.format(floor)),
        };
        let verdict = match (self.met(), target) {
            (None, _) => "no figure".to_string(),
            (Some(true), _) => "**met**".to_string(),
            (Some(false), Target::AtLeastOfBaseline(r)) => {
                format!("missed: {:.1}x short", r / self.ratio().unwrap_or(f64::NAN))
            }
            (Some(false), Target::WithinOfBaseline(r)) => {
                format!("missed: {:.1}x over", self.ratio().unwrap_or(f64::NAN) / r)
            }
            (Some(false), Target::Under(limit)) => format!(
                "missed: {:.2}x over",
                self.figure().unwrap_or(f64::NAN) / limit
            ),
            (Some(false), Target::AtLeast(floor)) => format!(
                "missed: {:.2}x short",
                floor / self.figure().unwrap_or(f64::NAN)
            ),
        };
        format!("{goal}: {verdict}")
    }
}

/// Where and how the table was measured.
#[derive(Debug, Clone)]
pub struct Context {
    pub date: String,
    pub machine: String,
    pub command: String,
    pub scale: String,
}

const HEADER: &str = "| | measurement | database | median | spread (runs) | baseline | baseline median | ratio | target |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";

/// The table as Markdown: one block per measurement letter, each with when and where it
/// was measured (so `--only` replaces its own blocks and leaves the others).
pub fn render(rows: &[Row], context: &Context) -> String {
    let mut letters: Vec<&str> = rows.iter().map(|r| r.id).collect();
    letters.dedup();
    let mut out = String::new();
    for letter in letters {
        let _ = writeln!(out, "{}", block_begin(letter));
        let _ = writeln!(
            out,
            "({letter}) measured {} on {}; `{}` ({}).\n",
            context.date, context.machine, context.command, context.scale
        );
        out.push_str(HEADER);
        for row in rows.iter().filter(|r| r.id == letter) {
            out.push_str(&render_row(row));
        }
        let _ = writeln!(out, "{}", block_end(letter));
    }
    out
}

fn block_begin(letter: &str) -> String {
    format!("<!-- bench:{letter} -->")
}

fn block_end(letter: &str) -> String {
    format!("<!-- /bench:{letter} -->")
}

fn render_row(row: &Row) -> String {
    let (median_cell, spread_cell) = match (row.figure(), range(&row.runs)) {
        (Some(m), Some((lo, hi))) => (
            row.unit.format(m),
            format!(
                "{}–{} ({})",
                row.unit.bare(lo),
                row.unit.bare(hi),
                row.runs.len()
            ),
        ),
        _ => (
            format!(
                "**no figure**: {}",
                row.failure
                    .as_deref()
                    .unwrap_or("not measured")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .replace('|', "/")
            ),
            "—".into(),
        ),
    };
    let baseline_cell = row
        .baseline_figure()
        .map(|b| row.unit.format(b))
        .unwrap_or_else(|| "—".into());
    let ratio = row
        .ratio()
        .map(|r| {
            if r >= 10.0 {
                format!("{r:.0}x")
            } else {
                format!("{r:.2}x")
            }
        })
        .unwrap_or_else(|| "—".into());
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        row.id,
        row.what,
        row.database,
        median_cell,
        spread_cell,
        if row.baseline_what.is_empty() {
            "—"
        } else {
            &row.baseline_what
        },
        baseline_cell,
        ratio,
        row.target_cell()
    )
}

/// The rows that produced no figure, or whose baseline produced none.
pub fn missing(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|row| {
            row.figure().is_none()
                || (!row.baseline_what.is_empty() && row.baseline_figure().is_none())
        })
        .map(|row| {
            format!(
                "{} {} ({}): {}",
                row.id,
                row.what,
                row.database,
                row.failure.as_deref().unwrap_or("no figure")
            )
        })
        .collect()
}

/// `document` with the blocks of `table` put between the markers: a block replaces the
/// block of the same letter, the others stay, all in letter order (the markers are appended
/// when the document has none).
pub fn splice(document: &str, table: &str) -> String {
    let mut blocks = blocks(table);
    match (document.find(BEGIN), document.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            let inside = &document[begin + BEGIN.len()..end];
            for (letter, text) in self::blocks(inside) {
                blocks.entry(letter).or_insert(text);
            }
            let merged: String = blocks.into_values().collect::<Vec<_>>().join("\n");
            format!(
                "{}{BEGIN}\n{merged}{END}{}",
                &document[..begin],
                &document[end + END.len()..]
            )
        }
        _ => {
            let merged: String = blocks.into_values().collect::<Vec<_>>().join("\n");
            format!("{}\n\n{BEGIN}\n{merged}{END}\n", document.trim_end())
        }
    }
}

/// The blocks of a rendered table, by letter, each with its markers and a final newline.
fn blocks(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!-- bench:") {
        let after = &rest[start + "<!-- bench:".len()..];
        let Some(close) = after.find(" -->") else {
            break;
        };
        let letter = after[..close].to_string();
        let end_marker = block_end(&letter);
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let end = start + end + end_marker.len();
        found.insert(letter, format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate_row(runs: &[f64], baseline: &[f64]) -> Row {
        let mut row = Row::new("a", "checks", "SQLite", Unit::Rate("checks/s"))
            .baseline("bare handler")
            .target(Target::AtLeastOfBaseline(0.5));
        row.runs = runs.to_vec();
        row.baseline = baseline.to_vec();
        row
    }

    #[test]
    fn a_rate_is_held_to_its_share_of_the_baseline() {
        let met = rate_row(&[60.0, 50.0, 70.0], &[100.0, 90.0, 110.0]);
        assert_eq!(met.ratio(), Some(0.6));
        assert_eq!(met.met(), Some(true));
        let missed = rate_row(&[20.0, 25.0], &[100.0, 100.0]);
        assert_eq!(missed.met(), Some(false));
        assert!(
            missed.target_cell().contains("2.2x short"),
            "{}",
            missed.target_cell()
        );
    }

    #[test]
    fn a_time_and_a_size_are_held_below() {
        let mut page = Row::new("b", "page p99", "SQLite", Unit::Millis)
            .baseline("empty pool")
            .target(Target::WithinOfBaseline(3.0));
        page.runs = vec![30.0];
        page.baseline = vec![5.0];
        assert_eq!(page.met(), Some(false));
        assert!(page.target_cell().contains("2.0x over"));
        let mut memory =
            Row::new("c", "peak", "SQLite", Unit::Megabytes).target(Target::Under(64.0));
        memory.runs = vec![20.0, 21.0];
        assert_eq!(memory.met(), Some(true));
    }

    #[test]
    fn rows_without_a_figure_are_reported_missing() {
        let mut failed = rate_row(&[], &[100.0]);
        failed.failure = Some("portal did not start".into());
        let no_baseline = rate_row(&[10.0], &[]);
        let fine = rate_row(&[10.0], &[20.0]);
        let missing = missing(&[failed, no_baseline, fine]);
        assert_eq!(missing.len(), 2);
        assert!(missing[0].contains("portal did not start"));
        let table = render(&[rate_row(&[], &[])], &context());
        assert!(table.contains("**no figure**"));
    }

    fn context() -> Context {
        Context {
            date: "d".into(),
            machine: "m".into(),
            command: "c".into(),
            scale: "s".into(),
        }
    }

    #[test]
    fn a_run_replaces_its_own_blocks_and_keeps_the_others() {
        let mut a = rate_row(&[1.0], &[2.0]);
        a.what = "first a".into();
        let mut c = rate_row(&[1.0], &[2.0]);
        c.id = "c";
        let full = render(&[a, c], &context());
        let doc = format!("# B\n\nintro\n{BEGIN}\nold\n{END}\n\n## Analysis\nkept\n");
        let doc = splice(&doc, &full);
        assert!(
            doc.contains("intro") && doc.contains("## Analysis\nkept") && !doc.contains("old\n")
        );
        assert!(doc.contains("first a") && doc.contains("<!-- bench:c -->"));

        let mut again = rate_row(&[3.0], &[2.0]);
        again.what = "second a".into();
        let doc = splice(&doc, &render(&[again], &context()));
        assert!(
            doc.contains("second a") && !doc.contains("first a"),
            "{doc}"
        );
        assert!(doc.contains("<!-- bench:c -->"), "c stays");
        assert!(
            doc.find("<!-- bench:a -->") < doc.find("<!-- bench:c -->"),
            "letter order"
        );
        assert_eq!(doc.matches(BEGIN).count(), 1);

        let appended = splice("# B\n", "<!-- bench:f -->\nt\n<!-- /bench:f -->\n");
        assert!(appended.starts_with("# B\n") && appended.ends_with(&format!("{END}\n")));
        assert!(appended.contains("<!-- bench:f -->\nt\n<!-- /bench:f -->\n"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(grouped(1234567.4), "1,234,567");
        assert_eq!(grouped(512.0), "512");
        assert_eq!(grouped(12.34), "12.3");
        assert_eq!(Unit::Millis.format(2.5), "2.50 ms");
    }
}
