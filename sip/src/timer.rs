//! Session timers (RFC 4028): what a request asks for, what we answer, and when a session
//! must be refreshed or is over. A call whose caller vanished without a BYE (a crashed trunk,
//! a lost BYE) would otherwise hold a line and a pipeline forever.
//!
//! [`negotiate`] and [`SessionClock`] are free of IO and clocks (the caller passes `now`);
//! [`drive`] is the thin async loop that sleeps until the clock's next deadline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// The shortest session interval we accept (RFC 4028 §4: Min-SE is never below 90 s).
pub const MIN_SE: u32 = 90;

/// The longest interval we agree to: a dead caller is noticed within half an hour
/// (RFC 4028 §4 recommends 1800 s).
pub const MAX_SE: u32 = 1800;

/// Who sends the refreshes (RFC 4028 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The caller.
    Uac,
    /// We, the answering side.
    Uas,
}

impl Refresher {
    fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// A session timer both sides agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    /// Seconds from the last refresh to the end of the session.
    pub interval: u32,
    pub refresher: Refresher,
}

impl SessionTimer {
    /// When the side that does not refresh gives up: the interval less the smaller of 32 s
    /// and a third of it (RFC 4028 §10), so a refresh in flight still makes it.
    pub fn expiry(&self) -> Duration {
        let s = self.interval as u64;
        Duration::from_secs(s - (s / 3).min(32))
    }
}

/// What a request says about session timers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerRequest {
    /// `Supported: timer`: the caller can refresh.
    pub supported: bool,
    /// `Require: timer`.
    pub required: bool,
    pub session_expires: Option<u32>,
    pub refresher: Option<Refresher>,
    pub min_se: Option<u32>,
}

impl TimerRequest {
    /// Reads Supported, Require, Session-Expires (`x`) and Min-SE from `(name, value)` pairs.
    /// `Err`: a Session-Expires or Min-SE that is not delta-seconds (400).
    pub fn from_headers<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, &'static str> {
        let mut r = TimerRequest::default();
        let has_timer = |v: &str| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("timer"));
        for (name, value) in headers {
            let name = name.trim();
            if name.eq_ignore_ascii_case("Supported") || name.eq_ignore_ascii_case("k") {
                r.supported |= has_timer(value);
            } else if name.eq_ignore_ascii_case("Require") {
                r.required |= has_timer(value);
            } else if name.eq_ignore_ascii_case("Session-Expires") || name.eq_ignore_ascii_case("x")
            {
                let mut parts = value.split(';');
                r.session_expires = Some(
                    delta_seconds(parts.next().unwrap_or("")).ok_or("malformed Session-Expires")?,
                );
                for p in parts {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    if k.trim().eq_ignore_ascii_case("refresher") {
                        r.refresher = match v.trim() {
                            v if v.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
                            v if v.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
                            _ => return Err("malformed Session-Expires refresher"),
                        };
                    }
                }
            } else if name.eq_ignore_ascii_case("Min-SE") {
                r.min_se = Some(
                    delta_seconds(value.split(';').next().unwrap_or(""))
                        .ok_or("malformed Min-SE")?,
                );
            }
        }
        Ok(r)
    }

    /// The same from a parsed request.
    pub fn from_request(req: &rsipstack::sip::Request) -> Result<Self, &'static str> {
        let pairs: Vec<(String, String)> = req
            .headers
            .iter()
            .filter_map(|h| {
                let text = h.to_string();
                let (name, value) = text.split_once(':')?;
                Some((name.trim().to_string(), value.trim().to_string()))
            })
            .collect();
        Self::from_headers(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }
}

/// `delta-seconds`: digits, kept to 32 bits (a longer number is not a sane interval).
fn delta_seconds(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        s.trim_start_matches('0')
            .parse::<u64>()
            .unwrap_or(0)
            .min(u32::MAX as u64) as u32,
    )
}

/// The outcome of [`negotiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// No session timer: none was asked for (or a refresh dropped it, RFC 4028 §9).
    Off,
    On(SessionTimer),
    /// 422 Session Interval Too Small, with `Min-SE: min_se` (RFC 4028 §8.1).
    TooSmall {
        min_se: u32,
    },
}

/// Our side of RFC 4028 §9 for an INVITE or UPDATE (initial or refresh).
pub fn negotiate(req: &TimerRequest) -> Negotiation {
    let floor = MIN_SE.max(req.min_se.unwrap_or(0));
    let cap = MAX_SE.max(floor);
    let interval = match req.session_expires {
        Some(se) if se < MIN_SE => return Negotiation::TooSmall { min_se: MIN_SE },
        // We may shorten a long interval, never below the request's Min-SE.
        Some(se) => se.min(cap),
        // `Require: timer` without an interval: we pick one. `Supported` alone we leave off.
        None if req.required => cap,
        None => return Negotiation::Off,
    };
    // RFC 4028 §9's table: a caller that does not support timers cannot refresh.
    let refresher = match (req.supported || req.required, req.refresher) {
        (false, _) => Refresher::Uas,
        (true, Some(r)) => r,
        (true, None) => Refresher::Uac,
    };
    Negotiation::On(SessionTimer {
        interval,
        refresher,
    })
}

/// The headers of a 2xx that agreed on `timer`: Session-Expires with the refresher, and
/// `Require: timer` when the caller supports timers (RFC 4028 §9).
pub fn response_headers(timer: &SessionTimer, req: &TimerRequest) -> Vec<(&'static str, String)> {
    let mut h = vec![(
        "Session-Expires",
        format!("{};refresher={}", timer.interval, timer.refresher.as_str()),
    )];
    if req.supported || req.required {
        h.push(("Require", "timer".to_string()));
    }
    h
}

/// What the session's clock asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerAction {
    /// We are the refresher: send a refresh (UPDATE, or a re-INVITE with the same SDP).
    Refresh,
    /// No refresh in time: send BYE, the leg ends with `session_expired`.
    Expire,
}

/// One session's timer over time.
#[derive(Debug, Clone)]
pub struct SessionClock {
    timer: Option<SessionTimer>,
    refreshed_at: Instant,
    refresh_sent: bool,
    expired: bool,
}

impl SessionClock {
    pub fn new(timer: Option<SessionTimer>, now: Instant) -> Self {
        Self {
            timer,
            refreshed_at: now,
            refresh_sent: false,
            expired: false,
        }
    }

    pub fn timer(&self) -> Option<SessionTimer> {
        self.timer
    }

    /// A refresh (theirs or ours) was answered 2xx with this timer (`None`: timers off now).
    pub fn refreshed(&mut self, timer: Option<SessionTimer>, now: Instant) {
        self.timer = timer;
        self.refreshed_at = now;
        self.refresh_sent = false;
    }

    /// Our refresh failed with 408 or 481, or got no answer: the session is gone (RFC 4028 §10).
    pub fn refresh_failed(&mut self) -> Option<TimerAction> {
        self.timer?;
        self.expire()
    }

    fn expire(&mut self) -> Option<TimerAction> {
        if self.expired {
            return None;
        }
        self.expired = true;
        Some(TimerAction::Expire)
    }

    /// When to call [`Self::handle_timeout`] next; `None`: no timer running.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.timer.filter(|_| !self.expired)?;
        Some(match t.refresher {
            Refresher::Uac => self.refreshed_at + t.expiry(),
            Refresher::Uas if !self.refresh_sent => {
                self.refreshed_at + Duration::from_secs(t.interval as u64 / 2)
            }
            Refresher::Uas => self.refreshed_at + Duration::from_secs(t.interval as u64),
        })
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<TimerAction> {
        let t = self.timer?;
        if now < self.poll_timeout()? {
            return None;
        }
        match t.refresher {
            Refresher::Uas if !self.refresh_sent => {
                self.refresh_sent = true;
                Some(TimerAction::Refresh)
            }
            _ => self.expire(),
        }
    }
}

/// The clock [`SessionClock`] runs on: tokio's, so a paused test runtime drives it too.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sleeps until the clock's next deadline and sends what it asks for, until `cancel` (the
/// leg ended), the receiver is gone, or the session expired. `wake` after changing the clock.
pub async fn drive(
    clock: Arc<Mutex<SessionClock>>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    actions: mpsc::UnboundedSender<TimerAction>,
) {
    loop {
        let deadline = lock(&clock).poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => continue,
            _ = sleep => {
                let action = lock(&clock).handle_timeout(now());
                if let Some(a) = action {
                    if actions.send(a).is_err() || a == TimerAction::Expire {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> TimerRequest {
        TimerRequest::from_headers(headers.iter().copied()).unwrap()
    }

    #[test]
    fn reads_the_timer_headers_long_and_compact() {
        let r = req(&[
            ("Supported", "replaces, timer"),
            ("x", "1800;refresher=uac"),
            ("Min-SE", "120"),
        ]);
        assert_eq!(
            r,
            TimerRequest {
                supported: true,
                required: false,
                session_expires: Some(1800),
                refresher: Some(Refresher::Uac),
                min_se: Some(120)
            }
        );
        assert!(req(&[("k", "timer"), ("Require", "timer")]).required);
        assert!(TimerRequest::from_headers([("Session-Expires", "soon")]).is_err());
        assert!(TimerRequest::from_headers([("Session-Expires", "90;refresher=me")]).is_err());
        assert!(TimerRequest::from_headers([("Min-SE", "-1")]).is_err());
    }

    #[test]
    fn too_short_an_interval_is_422_with_our_minimum() {
        assert_eq!(
            negotiate(&req(&[("Supported", "timer"), ("Session-Expires", "60")])),
            Negotiation::TooSmall { min_se: 90 }
        );
        assert!(matches!(
            negotiate(&req(&[("Supported", "timer"), ("Session-Expires", "90")])),
            Negotiation::On(_)
        ));
    }

    #[test]
    fn the_callers_interval_and_refresher_are_kept() {
        let n = negotiate(&req(&[
            ("Supported", "timer"),
            ("Session-Expires", "600;refresher=uac"),
        ]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: 600,
                refresher: Refresher::Uac
            })
        );
        let n = negotiate(&req(&[
            ("Supported", "timer"),
            ("Session-Expires", "600;refresher=uas"),
        ]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: 600,
                refresher: Refresher::Uas
            })
        );
    }

    #[test]
    fn without_a_refresher_a_caller_that_supports_timers_refreshes() {
        let n = negotiate(&req(&[("Supported", "timer"), ("Session-Expires", "600")]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: 600,
                refresher: Refresher::Uac
            })
        );
    }

    #[test]
    fn a_caller_without_timer_support_never_refreshes() {
        // A proxy put Session-Expires in (RFC 4028 §9 table, first row).
        let n = negotiate(&req(&[("Session-Expires", "600;refresher=uac")]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: 600,
                refresher: Refresher::Uas
            })
        );
    }

    #[test]
    fn long_intervals_are_shortened_but_never_below_min_se() {
        let n = negotiate(&req(&[("Supported", "timer"), ("Session-Expires", "7200")]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: MAX_SE,
                refresher: Refresher::Uac
            })
        );
        let n = negotiate(&req(&[
            ("Supported", "timer"),
            ("Session-Expires", "7200"),
            ("Min-SE", "3600"),
        ]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: 3600,
                refresher: Refresher::Uac
            })
        );
    }

    #[test]
    fn no_timer_unless_asked_and_one_when_required() {
        assert_eq!(negotiate(&req(&[])), Negotiation::Off);
        assert_eq!(negotiate(&req(&[("Supported", "timer")])), Negotiation::Off);
        let n = negotiate(&req(&[
            ("Supported", "timer"),
            ("Require", "timer"),
            ("Min-SE", "300"),
        ]));
        assert_eq!(
            n,
            Negotiation::On(SessionTimer {
                interval: MAX_SE,
                refresher: Refresher::Uac
            })
        );
    }

    #[test]
    fn the_2xx_names_the_refresher_and_requires_timer_of_a_caller_that_supports_it() {
        let t = SessionTimer {
            interval: 600,
            refresher: Refresher::Uac,
        };
        let h = response_headers(&t, &req(&[("Supported", "timer")]));
        assert_eq!(
            h,
            vec![
                ("Session-Expires", "600;refresher=uac".to_string()),
                ("Require", "timer".to_string())
            ]
        );
        let t = SessionTimer {
            interval: 600,
            refresher: Refresher::Uas,
        };
        assert_eq!(
            response_headers(&t, &req(&[])),
            vec![("Session-Expires", "600;refresher=uas".to_string())]
        );
    }

    #[test]
    fn the_caller_must_refresh_before_the_interval_less_a_third_or_32_s() {
        let t0 = Instant::now();
        let t = SessionTimer {
            interval: 90,
            refresher: Refresher::Uac,
        };
        let mut c = SessionClock::new(Some(t), t0);
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(60)));
        assert_eq!(c.handle_timeout(t0 + Duration::from_secs(59)), None);
        // Refreshed at 50 s: the deadline moves.
        c.refreshed(Some(t), t0 + Duration::from_secs(50));
        assert_eq!(c.handle_timeout(t0 + Duration::from_secs(61)), None);
        assert_eq!(
            c.handle_timeout(t0 + Duration::from_secs(110)),
            Some(TimerAction::Expire)
        );
        assert_eq!(
            c.handle_timeout(t0 + Duration::from_secs(200)),
            None,
            "expires once"
        );
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(
            SessionTimer {
                interval: 1800,
                refresher: Refresher::Uac
            }
            .expiry(),
            Duration::from_secs(1768)
        );
    }

    #[test]
    fn as_refresher_we_refresh_at_half_and_expire_at_the_interval() {
        let t0 = Instant::now();
        let t = SessionTimer {
            interval: 600,
            refresher: Refresher::Uas,
        };
        let mut c = SessionClock::new(Some(t), t0);
        assert_eq!(
            c.handle_timeout(t0 + Duration::from_secs(300)),
            Some(TimerAction::Refresh)
        );
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(600)));
        c.refreshed(Some(t), t0 + Duration::from_secs(301));
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(601)));
        assert_eq!(
            c.handle_timeout(t0 + Duration::from_secs(601)),
            Some(TimerAction::Refresh)
        );
        assert_eq!(
            c.handle_timeout(t0 + Duration::from_secs(901)),
            Some(TimerAction::Expire),
            "that refresh never got its 2xx"
        );
        let mut c = SessionClock::new(Some(t), t0);
        assert_eq!(
            c.refresh_failed(),
            Some(TimerAction::Expire),
            "408 or 481 to our refresh"
        );
        assert_eq!(SessionClock::new(None, t0).refresh_failed(), None);
    }

    #[test]
    fn a_refresh_without_session_expires_turns_the_timer_off() {
        let t0 = Instant::now();
        let mut c = SessionClock::new(
            Some(SessionTimer {
                interval: 90,
                refresher: Refresher::Uac,
            }),
            t0,
        );
        c.refreshed(None, t0 + Duration::from_secs(10));
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.handle_timeout(t0 + Duration::from_secs(1000)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_driver_expires_a_session_nobody_refreshes_on_time() {
        let t = SessionTimer {
            interval: 90,
            refresher: Refresher::Uac,
        };
        let start = tokio::time::Instant::now();
        let clock = Arc::new(Mutex::new(SessionClock::new(Some(t), start.into_std())));
        let wake = Arc::new(Notify::new());
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(drive(
            clock.clone(),
            wake.clone(),
            CancellationToken::new(),
            tx,
        ));
        // A refresh at 50 s moves the end from 60 s to 110 s.
        tokio::time::sleep(Duration::from_secs(50)).await;
        assert!(rx.try_recv().is_err());
        lock(&clock).refreshed(Some(t), tokio::time::Instant::now().into_std());
        wake.notify_one();
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(
            rx.try_recv().is_err(),
            "no expiry at 80 s after the refresh"
        );
        assert_eq!(rx.recv().await, Some(TimerAction::Expire));
        assert_eq!(start.elapsed(), Duration::from_secs(110));
        assert_eq!(rx.recv().await, None, "the driver ends with the session");
    }

    #[tokio::test(start_paused = true)]
    async fn the_driver_asks_us_to_refresh_then_stops_when_the_leg_ends() {
        let t = SessionTimer {
            interval: 120,
            refresher: Refresher::Uas,
        };
        let start = tokio::time::Instant::now();
        let clock = Arc::new(Mutex::new(SessionClock::new(Some(t), start.into_std())));
        let (wake, cancel) = (Arc::new(Notify::new()), CancellationToken::new());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(clock.clone(), wake.clone(), cancel.clone(), tx));
        assert_eq!(rx.recv().await, Some(TimerAction::Refresh));
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        cancel.cancel();
        task.await.unwrap();
        assert_eq!(rx.recv().await, None);
    }
}
