//! Threshold alerts (`[alerts]`): CSAT under a share, anger rate over one, a caller waiting
//! too long, the recogniser's queue too deep. `Crossings` (no IO) turns each check's facts into
//! the alerts active and those that just crossed, so a webhook is posted once per crossing,
//! not once per check; `start` runs the checks for a gateway.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// `[alerts]` in the config; a threshold of 0 is off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Today's surveys rated 4-5, as a share, below this.
    pub csat_below: f64,
    /// Today's calls whose caller got angry (peak anger 0.5+), as a share, over this.
    pub anger_rate_over: f64,
    pub queue_wait_over_s: u64,
    pub asr_queue_over: usize,
    /// Where each crossing is POSTed as JSON ("" for nowhere).
    pub webhook: String,
    pub check_every_s: u64,
}

/// What a check measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub csat_satisfied: Option<f64>,
    pub surveys: i64,
    pub anger_rate: Option<f64>,
    pub longest_wait_ms: u64,
    pub asr_queued: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: String,
    pub level: String,
    pub message: String,
    pub since: String,
}

/// The alerts the facts call for: (id, level, message).
pub fn firing(cfg: &AlertsConfig, f: &Facts) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    if let (true, Some(s)) = (cfg.csat_below > 0.0 && f.surveys > 0, f.csat_satisfied) {
        if s < cfg.csat_below {
            out.push(("csat", "warning", format!("CSAT today {:.0}% is under {:.0}% ({} surveys)", s * 100.0, cfg.csat_below * 100.0, f.surveys)));
        }
    }
    if let (true, Some(r)) = (cfg.anger_rate_over > 0.0, f.anger_rate) {
        if r > cfg.anger_rate_over {
            out.push(("anger_rate", "warning", format!("{:.0}% of today's callers got angry (over {:.0}%)", r * 100.0, cfg.anger_rate_over * 100.0)));
        }
    }
    if cfg.queue_wait_over_s > 0 && f.longest_wait_ms > cfg.queue_wait_over_s * 1000 {
        out.push(("queue_wait", "critical", format!("a caller has waited {} s for an agent (over {} s)", f.longest_wait_ms / 1000, cfg.queue_wait_over_s)));
    }
    if cfg.asr_queue_over > 0 && f.asr_queued > cfg.asr_queue_over {
        out.push(("asr_queue", "critical", format!("{} utterances wait for the recogniser (over {})", f.asr_queued, cfg.asr_queue_over)));
    }
    out
}

/// The alerts active and since when; what crossed at the last check.
#[derive(Debug, Default)]
pub struct Crossings {
    active: BTreeMap<String, Alert>,
}

impl Crossings {
    /// Applies a check made at `now`: the alerts that crossed their threshold just now.
    pub fn check(&mut self, fired: Vec<(&'static str, &'static str, String)>, now: &str) -> Vec<Alert> {
        let ids: Vec<&str> = fired.iter().map(|(id, _, _)| *id).collect();
        self.active.retain(|id, _| ids.contains(&id.as_str()));
        let mut crossed = Vec::new();
        for (id, level, message) in fired {
            match self.active.get_mut(id) {
                // Still over: the message follows the figures, no new crossing.
                Some(a) => a.message = message,
                None => {
                    let a = Alert { id: id.into(), level: level.into(), message, since: now.into() };
                    self.active.insert(id.into(), a.clone());
                    crossed.push(a);
                }
            }
        }
        crossed
    }

    pub fn active(&self) -> Vec<Alert> {
        self.active.values().cloned().collect()
    }
}

/// The alerts of a running gateway.
pub type Active = Arc<Mutex<Crossings>>;

/// Checks every `check_every_s` with `measure`; crossings are logged and POSTed to the webhook.
pub fn start(cfg: AlertsConfig, active: Active, measure: impl Fn() -> Facts + Send + Sync + 'static) {
    let every = Duration::from_secs(cfg.check_every_s.max(1));
    tokio::spawn(async move {
        let measure = Arc::new(measure);
        loop {
            tokio::time::sleep(every).await;
            let m = measure.clone();
            let Ok(facts) = tokio::task::spawn_blocking(move || m()).await else { continue };
            let now = now_rfc3339();
            let crossed = active.lock().unwrap_or_else(|p| p.into_inner()).check(firing(&cfg, &facts), &now);
            for a in crossed {
                warn!(alert = %a.id, message = %a.message, "alert");
                if !cfg.webhook.is_empty() {
                    let (url, body) = (cfg.webhook.clone(), serde_json::json!({ "alert": a.id, "level": a.level, "message": a.message, "since": a.since }));
                    tokio::task::spawn_blocking(move || match ureq::post(&url).timeout(Duration::from_secs(5)).send_json(body) {
                        Ok(_) => info!(url, "alert posted"),
                        Err(e) => warn!(url, error = %e, "alert webhook failed"),
                    });
                }
            }
        }
    });
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let secs = crate::inapp::token::unix_now();
    let day = crate::orders::date::Day::today().iso();
    let s = secs % 86_400;
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AlertsConfig {
        AlertsConfig { csat_below: 0.85, anger_rate_over: 0.3, queue_wait_over_s: 120, asr_queue_over: 8, webhook: String::new(), check_every_s: 15 }
    }

    #[test]
    fn each_threshold_fires_when_crossed_and_zero_is_off() {
        let calm = Facts { csat_satisfied: Some(0.9), surveys: 10, anger_rate: Some(0.1), longest_wait_ms: 5_000, asr_queued: 0 };
        assert!(firing(&cfg(), &calm).is_empty());
        let bad = Facts { csat_satisfied: Some(0.5), surveys: 4, anger_rate: Some(0.4), longest_wait_ms: 200_000, asr_queued: 9 };
        let ids: Vec<&str> = firing(&cfg(), &bad).iter().map(|f| f.0).collect();
        assert_eq!(ids, ["csat", "anger_rate", "queue_wait", "asr_queue"]);
        let off = AlertsConfig { csat_below: 0.0, anger_rate_over: 0.0, queue_wait_over_s: 0, asr_queue_over: 0, ..cfg() };
        assert!(firing(&off, &bad).is_empty());
        assert!(firing(&cfg(), &Facts { csat_satisfied: None, surveys: 0, ..bad.clone() }).iter().all(|f| f.0 != "csat"), "no surveys, no CSAT alert");
    }

    #[test]
    fn an_alert_crosses_once_until_it_clears() {
        let mut c = Crossings::default();
        let wait = |s: u64| vec![("queue_wait", "critical", format!("waited {s} s"))];
        assert_eq!(c.check(wait(130), "t1").len(), 1);
        assert!(c.check(wait(140), "t2").is_empty(), "still over: no second crossing");
        assert_eq!(c.active()[0].message, "waited 140 s");
        assert_eq!(c.active()[0].since, "t1");
        assert!(c.check(Vec::new(), "t3").is_empty());
        assert!(c.active().is_empty());
        assert_eq!(c.check(wait(125), "t4")[0].since, "t4", "a new crossing after it cleared");
    }
}
