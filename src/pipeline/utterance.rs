//! Turns VAD output into caller utterances: a state machine without IO or clocks. It is fed
//! the media time and what the VAD saw after each frame, and answers with utterance starts and
//! ends.
//!
//! - Speech starts an utterance once it has lasted `min_speech_ms` (a cough or click does not).
//! - An utterance ends when the silence after its last speech reaches `hangover_ms`, or when it
//!   grows past `max_utterance_ms` (Whisper should get it in one piece).
//! - The VAD confirms speech only `onset_ms` after it begins, so new speech inside a pause keeps
//!   the turn open only if it begins at least that long before the hangover runs out.

use crate::pipeline::vad::{SpeechSpan, VadStep};

#[derive(Debug, Clone, Copy)]
pub struct SegmenterConfig {
    pub hangover_ms: u64,
    pub min_speech_ms: u64,
    pub max_utterance_ms: u64,
    /// How long after speech begins the VAD reports it active.
    pub onset_ms: u64,
    /// How long after speech ends the VAD still reports it active (its own min silence).
    pub trailing_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtteranceEvent {
    Started { start_ms: u64 },
    Ended { start_ms: u64, end_ms: u64 },
}

/// The utterance in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub start_ms: u64,
    /// End of the latest finished stretch of speech.
    pub last_end_ms: Option<u64>,
    /// The last moment speech was heard (a finished stretch or the VAD's activity).
    pub last_heard_ms: u64,
    /// The VAD hears speech now.
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// The VAD hears something that is not yet long enough to count as speech.
    Pending { start_ms: u64 },
    Speaking {
        start_ms: u64,
        /// End of the latest finished stretch of speech, if one finished yet.
        last_end_ms: Option<u64>,
        /// The last time the VAD reported speech going on.
        last_active_ms: u64,
        /// The VAD says speech is going on right now.
        active: bool,
        /// Whether a finished span has fixed the start (the onset time is an estimate).
        start_known: bool,
    },
}

pub struct UtteranceSegmenter {
    cfg: SegmenterConfig,
    state: State,
}

impl UtteranceSegmenter {
    pub fn new(cfg: SegmenterConfig) -> Self {
        Self { cfg, state: State::Idle }
    }

    pub fn in_utterance(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// The current utterance as the segmenter sees it, if the caller is in one.
    pub fn current(&self) -> Option<Current> {
        match self.state {
            State::Speaking { start_ms, last_end_ms, last_active_ms, active, .. } => Some(Current {
                start_ms,
                last_end_ms,
                last_heard_ms: last_end_ms.unwrap_or(0).max(last_active_ms),
                active,
            }),
            _ => None,
        }
    }

    /// Ends the current utterance now, before the hangover (the words so far are complete).
    pub fn end_now(&mut self) -> Option<UtteranceEvent> {
        let State::Speaking { start_ms, last_end_ms: Some(end), active: false, .. } = self.state else {
            return None;
        };
        self.state = State::Idle;
        Some(UtteranceEvent::Ended { start_ms, end_ms: end })
    }

    /// Handles the VAD's view after the frame that ends at `now_ms`.
    pub fn step(&mut self, now_ms: u64, vad: &VadStep) -> Vec<UtteranceEvent> {
        let mut out = Vec::new();
        for span in &vad.finished {
            self.on_span(*span, &mut out);
        }
        if vad.active {
            self.on_active(now_ms, &mut out);
        } else if let State::Speaking { active, .. } = &mut self.state {
            *active = false;
        }
        self.check_end(now_ms, &mut out);
        out
    }

    /// Ends the stream: flushed spans are taken in and an open utterance is closed.
    pub fn finish(&mut self, now_ms: u64, flushed: &[SpeechSpan]) -> Vec<UtteranceEvent> {
        let mut out = Vec::new();
        for span in flushed {
            self.on_span(*span, &mut out);
        }
        if let State::Speaking { start_ms, last_end_ms, .. } = self.state {
            out.push(UtteranceEvent::Ended {
                start_ms,
                end_ms: last_end_ms.unwrap_or(now_ms).max(start_ms),
            });
        }
        self.state = State::Idle;
        out
    }

    fn on_span(&mut self, span: SpeechSpan, out: &mut Vec<UtteranceEvent>) {
        let long_enough = span.end_ms.saturating_sub(span.start_ms) >= self.cfg.min_speech_ms;
        match &mut self.state {
            State::Idle | State::Pending { .. } => {
                if long_enough {
                    out.push(UtteranceEvent::Started { start_ms: span.start_ms });
                    self.state = State::Speaking {
                        start_ms: span.start_ms,
                        last_end_ms: Some(span.end_ms),
                        last_active_ms: span.end_ms,
                        active: false,
                        start_known: true,
                    };
                } else {
                    // A blip that ended before it counted as speech.
                    self.state = State::Idle;
                }
            }
            State::Speaking {
                start_ms,
                last_end_ms,
                start_known,
                ..
            } => {
                if !*start_known {
                    *start_ms = span.start_ms;
                    *start_known = true;
                }
                *last_end_ms = Some(last_end_ms.unwrap_or(0).max(span.end_ms));
            }
        }
    }

    fn on_active(&mut self, now_ms: u64, out: &mut Vec<UtteranceEvent>) {
        match &mut self.state {
            State::Idle => {
                let start_ms = now_ms.saturating_sub(self.cfg.onset_ms);
                self.state = State::Pending { start_ms };
                self.promote(now_ms, out);
            }
            State::Pending { .. } => self.promote(now_ms, out),
            State::Speaking {
                active, last_active_ms, ..
            } => {
                *active = true;
                *last_active_ms = now_ms.saturating_sub(self.cfg.trailing_ms);
            }
        }
    }

    /// Pending speech that has lasted long enough starts an utterance.
    fn promote(&mut self, now_ms: u64, out: &mut Vec<UtteranceEvent>) {
        if let State::Pending { start_ms } = self.state {
            if now_ms.saturating_sub(start_ms) >= self.cfg.min_speech_ms {
                out.push(UtteranceEvent::Started { start_ms });
                self.state = State::Speaking {
                    start_ms,
                    last_end_ms: None,
                    last_active_ms: now_ms.saturating_sub(self.cfg.trailing_ms),
                    active: true,
                    start_known: false,
                };
            }
        }
    }

    fn check_end(&mut self, now_ms: u64, out: &mut Vec<UtteranceEvent>) {
        let State::Speaking {
            start_ms,
            last_end_ms,
            last_active_ms,
            active,
            ..
        } = self.state
        else {
            return;
        };
        if !active {
            // The silence is counted from the last speech heard, whether the VAD has finished
            // its span yet or not; the span's end, once known, is the more exact end.
            if let Some(end) = last_end_ms {
                if now_ms.saturating_sub(end.max(last_active_ms)) >= self.cfg.hangover_ms {
                    out.push(UtteranceEvent::Ended { start_ms, end_ms: end });
                    self.state = State::Idle;
                    return;
                }
            }
        }
        if now_ms.saturating_sub(start_ms) >= self.cfg.max_utterance_ms {
            // Too long for one piece: cut at the last pause if there was one (a word cut in two
            // is lost to ASR), else at the limit, and carry on with a new utterance.
            let cut = match last_end_ms {
                Some(end) if end > start_ms => end,
                _ => start_ms + self.cfg.max_utterance_ms,
            };
            out.push(UtteranceEvent::Ended { start_ms, end_ms: cut });
            self.state = if active {
                out.push(UtteranceEvent::Started { start_ms: cut });
                State::Speaking {
                    start_ms: cut,
                    last_end_ms: None,
                    last_active_ms: now_ms.saturating_sub(self.cfg.trailing_ms),
                    active: true,
                    start_known: true,
                }
            } else {
                State::Idle
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: SegmenterConfig = SegmenterConfig {
        hangover_ms: 500,
        min_speech_ms: 250,
        max_utterance_ms: 10_000,
        onset_ms: 130,
        trailing_ms: 100,
    };

    /// Drives the segmenter on a virtual clock: per 20 ms frame, whether the VAD is active and
    /// which spans finish at that frame.
    fn run(frames: u64, active: impl Fn(u64) -> bool, spans: &[(u64, SpeechSpan)]) -> Vec<(u64, UtteranceEvent)> {
        let mut s = UtteranceSegmenter::new(CFG);
        let mut out = Vec::new();
        for i in 1..=frames {
            let now = i * 20;
            let step = VadStep {
                active: active(now),
                finished: spans.iter().filter(|(t, _)| *t == now).map(|(_, s)| *s).collect(),
                sound: false,
            };
            out.extend(s.step(now, &step).into_iter().map(|e| (now, e)));
        }
        out.extend(s.finish(frames * 20, &[]).into_iter().map(|e| (frames * 20, e)));
        out
    }

    fn span(a: u64, b: u64) -> SpeechSpan {
        SpeechSpan { start_ms: a, end_ms: b }
    }

    #[test]
    fn one_utterance_starts_after_min_speech_and_ends_after_the_hangover() {
        // Speech 1000..2000 ms: the VAD reports it from 1140 and finishes the span at 2100.
        let ev = run(200, |t| (1140..2100).contains(&t), &[(2100, span(980, 2000))]);
        assert_eq!(
            ev,
            vec![
                (1260, UtteranceEvent::Started { start_ms: 1010 }),
                (2500, UtteranceEvent::Ended { start_ms: 980, end_ms: 2000 }),
            ]
        );
    }

    #[test]
    fn a_short_pause_does_not_split_the_turn() {
        // A 300 ms pause, shorter than the hangover less the onset delay: one utterance.
        let ev = run(
            300,
            |t| (1140..2100).contains(&t) || (2440..3600).contains(&t),
            &[(2100, span(980, 2000)), (3600, span(2280, 3500))],
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(ev[1], (4000, UtteranceEvent::Ended { start_ms: 980, end_ms: 3500 }));
    }

    #[test]
    fn a_long_pause_makes_two_turns() {
        let ev = run(
            400,
            |t| (1140..2100).contains(&t) || (4140..5100).contains(&t),
            &[(2100, span(980, 2000)), (5100, span(3980, 5000))],
        );
        let ends: Vec<_> = ev.iter().filter(|(_, e)| matches!(e, UtteranceEvent::Ended { .. })).collect();
        assert_eq!(ends.len(), 2);
        assert_eq!(ends[1].1, UtteranceEvent::Ended { start_ms: 3980, end_ms: 5000 });
    }

    #[test]
    fn a_cough_is_not_an_utterance() {
        // 120 ms of noise: the VAD reports it briefly and finishes a short span.
        assert!(run(200, |t| (1140..1260).contains(&t), &[(1300, span(980, 1150))]).is_empty());
    }

    #[test]
    fn endless_speech_is_cut_at_the_limit() {
        let ev = run(1200, |t| t >= 500, &[]);
        let lengths: Vec<_> = ev
            .iter()
            .filter_map(|(_, e)| match e {
                UtteranceEvent::Ended { start_ms, end_ms } => Some(end_ms - start_ms),
                _ => None,
            })
            .collect();
        assert!(lengths.len() >= 2, "{ev:?}");
        assert!(lengths.iter().all(|&d| d <= CFG.max_utterance_ms));
    }

    #[test]
    fn a_long_turn_is_cut_at_its_last_pause() {
        // Talking from 500 ms with short pauses; spans finish at 4, 8 and 12 s.
        let spans = [(4100, span(500, 4000)), (8100, span(4200, 8000)), (12_100, span(8200, 12_000))];
        let ev = run(700, |t| t >= 640 && ![4000..4200, 8000..8200, 12_000..12_200].iter().any(|r| r.contains(&t)), &spans);
        let first_end = ev.iter().find_map(|(_, e)| match e {
            UtteranceEvent::Ended { start_ms, end_ms } => Some((*start_ms, *end_ms)),
            _ => None,
        });
        assert_eq!(first_end, Some((500, 8000)), "{ev:?}");
    }

    #[test]
    fn speech_open_at_the_end_of_the_stream_is_closed() {
        let mut s = UtteranceSegmenter::new(CFG);
        s.step(1000, &VadStep { active: true, finished: vec![], sound: false });
        assert_eq!(s.step(1300, &VadStep { active: true, finished: vec![], sound: false }).len(), 1);
        let ev = s.finish(1500, &[span(850, 1480)]);
        assert_eq!(ev, vec![UtteranceEvent::Ended { start_ms: 850, end_ms: 1480 }]);
        assert!(!s.in_utterance());
    }

    #[test]
    fn silence_yields_nothing() {
        assert!(run(500, |_| false, &[]).is_empty());
    }
}
