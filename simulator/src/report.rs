//! The periodic summary line: how many LoadMasters are in each state, and how the checks
//! go (`fleet of 5000: 4990 licensed, 10 in grace, ...; checks 12034 ok, 3 failed, 498.2/s`).

use crate::appliance::Slot;
use crate::{snapshot, FleetContext, FleetSnapshot};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

pub(crate) async fn run(
    slots: Vec<Arc<Slot>>,
    ctx: Arc<FleetContext>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let now = snapshot(&slots, &ctx);
        let checks = now.checks_ok + now.checks_failed;
        let rate = (checks - last.1) as f64 / last.0.elapsed().as_secs_f64().max(0.001);
        last = (Instant::now(), checks);
        tracing::info!("{}", summary(&now, rate));
    }
}

/// The summary line for a snapshot and a check rate (checks per second).
pub(crate) fn summary(s: &FleetSnapshot, rate: f64) -> String {
    let mut line = format!(
        "fleet of {}: {} licensed, {} in grace, {} killed, {} expired, {} refused",
        s.total, s.licensed, s.in_grace, s.killed, s.expired, s.refused
    );
    if !s.refusals.is_empty() {
        let codes: Vec<String> = s
            .refusals
            .iter()
            .map(|(code, n)| format!("{code} ×{n}"))
            .collect();
        line.push_str(&format!(" ({})", codes.join(", ")));
    }
    line.push_str(&format!(
        ", {} pending; checks {} ok, {} failed, {rate:.1}/s",
        s.pending, s.checks_ok, s.checks_failed
    ));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_state() {
        let mut s = FleetSnapshot {
            total: 10,
            licensed: 6,
            in_grace: 1,
            killed: 1,
            refused: 1,
            pending: 1,
            checks_ok: 100,
            checks_failed: 2,
            ..FleetSnapshot::default()
        };
        s.refusals.insert("instance_limit_reached".into(), 1);
        assert_eq!(
            summary(&s, 12.345),
            "fleet of 10: 6 licensed, 1 in grace, 1 killed, 0 expired, 1 refused \
             (instance_limit_reached ×1), 1 pending; checks 100 ok, 2 failed, 12.3/s"
        );
    }
}
