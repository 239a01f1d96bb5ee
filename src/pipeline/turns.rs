//! Turn-taking as a state machine without IO or clocks: when the caller's turn starts and
//! ends, and what to transcribe when.
//!
//! - While the caller speaks: a partial transcript of the turn so far every `partial_every_ms`.
//! - As soon as the caller pauses (the VAD finishes a stretch of speech): a speculative
//!   transcript of the turn so far, so that the words are usually known before the turn ends.
//! - The turn ends after `hangover_ms` of silence, or after only `complete_hangover_ms` when the
//!   speculative transcript is a complete sentence (a question, or a confident request), unless
//!   there is sound the VAD has not judged yet (it may be the caller going on): then up to
//!   `ONSET_MS` later, when the VAD has.
//! - The final transcript is the speculative one when it covers the whole turn; otherwise the
//!   turn is transcribed again.
//! - Following a recorded call ([`TurnTaker::follow_recorded`], a QA replay), turns end early
//!   where the recorded call's did and nowhere else: whether a speculative transcript comes
//!   before the caller goes on depends on how fast the machine decodes, which is not a decision
//!   a replay should be compared on.
//!
//! One transcription runs at a time per call; a newer partial or speculative request waits, and
//! replaces an older one of less use. Final requests are never replaced: each waits its turn,
//! and turns are handed on in the order they ended, even when one transcription outlasts the
//! next utterance. A partial transcript is only a preview: a speculative or final request
//! cancels it, so that it never delays the end of a turn.

use std::collections::VecDeque;

use crate::pipeline::utterance::{SegmenterConfig, UtteranceEvent, UtteranceSegmenter};
use crate::pipeline::vad::{VadStep, ONSET_MS};

#[derive(Debug, Clone, Copy)]
pub struct TurnConfig {
    pub segmenter: SegmenterConfig,
    /// Silence that ends a turn whose words so far are a complete sentence.
    pub complete_hangover_ms: u64,
    /// How often a partial transcript is made while the caller speaks.
    pub partial_every_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AsrKind {
    Partial,
    Speculative,
    Final,
}

/// Transcribe the caller's audio from `start_ms` to `end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsrRequest {
    pub kind: AsrKind,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// A transcription's result, as the turn taker needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub text: String,
    pub lang: String,
    /// A complete sentence: the turn may end early.
    pub complete: bool,
    /// When it was known, call-relative.
    pub ready_ms: u64,
    /// Time it waited for a worker, and inference time.
    pub queue_ms: u64,
    pub asr_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    SpeechStarted { start_ms: u64 },
    Transcribe(AsrRequest),
    /// Stop this transcription (a partial one) and forget its result.
    Cancel(AsrRequest),
    /// The caller stopped: the turn is over (its transcript follows with `TurnReady`).
    SpeechEnded { start_ms: u64, end_ms: u64, early: bool },
    /// The turn's final transcript.
    TurnReady { start_ms: u64, end_ms: u64, heard: Heard },
}

/// A speculative transcription of the turn up to `end_ms`.
#[derive(Debug, Clone)]
struct Speculation {
    start_ms: u64,
    end_ms: u64,
    heard: Option<Heard>,
}

impl Speculation {
    /// The transcription that makes it.
    fn request(&self) -> AsrRequest {
        AsrRequest { kind: AsrKind::Speculative, start_ms: self.start_ms, end_ms: self.end_ms }
    }
}

/// A turn that ended, with its transcript once known.
#[derive(Debug, Clone)]
struct Ended {
    start_ms: u64,
    end_ms: u64,
    heard: Option<Heard>,
}

impl Ended {
    /// Whether a speculative transcription of this span stands for the turn.
    fn covered_by(&self, req: &AsrRequest) -> bool {
        self.heard.is_none() && self.start_ms == req.start_ms && req.end_ms + COVER_SLACK_MS >= self.end_ms
    }
}

pub struct TurnTaker {
    cfg: TurnConfig,
    seg: UtteranceSegmenter,
    in_flight: Option<AsrRequest>,
    /// Final transcriptions waiting, oldest first.
    finals: VecDeque<AsrRequest>,
    /// A partial or speculative transcription waiting.
    waiting: Option<AsrRequest>,
    last_partial_ms: u64,
    speculation: Option<Speculation>,
    /// Turns that ended, oldest first, until their transcripts are handed on.
    ended: VecDeque<Ended>,
    /// Where a recorded call's turns ended early (their speech ends): only there, then.
    recorded_early_ends: Option<Vec<u64>>,
}

/// How close a speculative transcript must come to the end of the turn to stand for it.
const COVER_SLACK_MS: u64 = 40;
/// How close a pause must come to a recorded early end to be the same one (a live call's VAD
/// ran on frames as they arrived, a replay's on the recording).
const RECORDED_SLACK_MS: u64 = 100;

impl TurnTaker {
    pub fn new(cfg: TurnConfig) -> Self {
        Self {
            seg: UtteranceSegmenter::new(cfg.segmenter),
            cfg,
            in_flight: None,
            finals: VecDeque::new(),
            waiting: None,
            last_partial_ms: 0,
            speculation: None,
            ended: VecDeque::new(),
            recorded_early_ends: None,
        }
    }

    /// Ends turns early where a recorded call did (`ends`: the speech ends of its turns that
    /// ended early), and nowhere else, after the short hangover whether or not the speculative
    /// transcript is ready yet (it is then the turn's transcript when it comes).
    pub fn follow_recorded(&mut self, ends: Vec<u64>) {
        self.recorded_early_ends = Some(ends);
    }

    /// Where the caller's current turn began, if they are in one.
    pub fn current_start(&self) -> Option<u64> {
        self.seg.current().map(|c| c.start_ms)
    }

    /// Whether a transcription is running or waiting, or a turn waits for its transcript.
    pub fn transcribing(&self) -> bool {
        self.in_flight.is_some() || self.waiting.is_some() || !self.finals.is_empty() || !self.ended.is_empty()
    }

    fn request(&mut self, req: AsrRequest, out: &mut Vec<TurnEvent>) {
        if let Some(running) = self.in_flight.filter(|r| r.kind == AsrKind::Partial && req.kind != AsrKind::Partial) {
            out.push(TurnEvent::Cancel(running));
            self.in_flight = None;
        }
        if self.in_flight.is_none() {
            self.in_flight = Some(req);
            out.push(TurnEvent::Transcribe(req));
        } else if req.kind == AsrKind::Final {
            self.finals.push_back(req);
        } else if self.waiting.is_none_or(|w| req.kind >= w.kind) {
            self.waiting = Some(req);
        }
    }

    /// Hands on the transcripts of the oldest ended turns, as far as they are known.
    fn release(&mut self, out: &mut Vec<TurnEvent>) {
        while let Some(heard) = self.ended.front().and_then(|e| e.heard.clone()) {
            if let Some(e) = self.ended.pop_front() {
                out.push(TurnEvent::TurnReady { start_ms: e.start_ms, end_ms: e.end_ms, heard });
            }
        }
    }

    fn covering(&self, end_ms: u64) -> Option<&Speculation> {
        self.speculation.as_ref().filter(|s| s.end_ms + COVER_SLACK_MS >= end_ms)
    }

    /// The turn ended at `end_ms`: its transcript is the speculation if that covers it.
    fn on_ended(&mut self, start_ms: u64, end_ms: u64, early: bool, out: &mut Vec<TurnEvent>) {
        out.push(TurnEvent::SpeechEnded { start_ms, end_ms, early });
        let covering = self.covering(end_ms).cloned();
        self.speculation = None;
        let spec = covering.as_ref().map(Speculation::request);
        match covering.and_then(|s| s.heard) {
            Some(heard) => self.ended.push_back(Ended { start_ms, end_ms, heard: Some(heard) }),
            // The covering transcription is running: its result will be the final one.
            None if spec.is_some() && self.in_flight == spec => self.ended.push_back(Ended { start_ms, end_ms, heard: None }),
            None => {
                // One still waiting gives way to a final one, which is never replaced.
                if spec.is_some() && self.waiting == spec {
                    self.waiting = None;
                }
                self.ended.push_back(Ended { start_ms, end_ms, heard: None });
                self.request(AsrRequest { kind: AsrKind::Final, start_ms, end_ms }, out);
            }
        }
        self.release(out);
    }

    /// Handles the VAD's view after the frame that ends at `now_ms`.
    pub fn on_frame(&mut self, now_ms: u64, vad: &VadStep) -> Vec<TurnEvent> {
        let mut out = Vec::new();
        for ev in self.seg.step(now_ms, vad) {
            match ev {
                UtteranceEvent::Started { start_ms } => {
                    self.last_partial_ms = now_ms;
                    self.speculation = None;
                    out.push(TurnEvent::SpeechStarted { start_ms });
                }
                UtteranceEvent::Ended { start_ms, end_ms } => self.on_ended(start_ms, end_ms, false, &mut out),
            }
        }
        let Some(cur) = self.seg.current() else { return out };
        // The caller paused: transcribe what was said so far.
        if let Some(end) = vad.finished.last().map(|s| s.end_ms).filter(|_| !cur.active) {
            let start = cur.start_ms;
            self.speculation = Some(Speculation { start_ms: start, end_ms: end, heard: None });
            self.request(AsrRequest { kind: AsrKind::Speculative, start_ms: start, end_ms: end }, &mut out);
        }
        // A complete sentence and a short silence end the turn early.
        if !cur.active {
            if let Some(end) = cur.last_end_ms {
                let complete = match &self.recorded_early_ends {
                    Some(ends) => ends.iter().any(|e| e.abs_diff(end) <= RECORDED_SLACK_MS),
                    None => self.covering(end).and_then(|s| s.heard.as_ref()).is_some_and(|h| h.complete && h.ready_ms <= now_ms),
                };
                // Sound the VAD has not judged yet may be the caller going on ("Thank you,
                // goodbye"): wait for its verdict, which comes within ONSET_MS.
                let silence = now_ms.saturating_sub(cur.last_heard_ms);
                let held = vad.sound && silence < self.cfg.complete_hangover_ms + ONSET_MS;
                if complete && silence >= self.cfg.complete_hangover_ms && !held {
                    if let Some(UtteranceEvent::Ended { start_ms, end_ms }) = self.seg.end_now() {
                        self.on_ended(start_ms, end_ms, true, &mut out);
                    }
                    return out;
                }
            }
        }
        // While the caller speaks, a partial transcript now and then.
        let every = self.cfg.partial_every_ms;
        if every > 0 && cur.active && now_ms.saturating_sub(self.last_partial_ms) >= every {
            self.last_partial_ms = now_ms;
            self.request(AsrRequest { kind: AsrKind::Partial, start_ms: cur.start_ms, end_ms: now_ms }, &mut out);
        }
        out
    }

    /// A transcription finished.
    pub fn on_heard(&mut self, req: AsrRequest, heard: Heard) -> Vec<TurnEvent> {
        let mut out = Vec::new();
        self.in_flight = None;
        match req.kind {
            AsrKind::Partial => {}
            AsrKind::Speculative => {
                // The turn already ended while this ran: it is the final transcript.
                if let Some(e) = self.ended.iter_mut().find(|e| e.covered_by(&req)) {
                    e.heard = Some(heard);
                } else if let Some(s) = self.speculation.as_mut().filter(|s| s.request() == req) {
                    s.heard = Some(heard);
                }
            }
            AsrKind::Final => {
                let turn = |e: &&mut Ended| e.heard.is_none() && e.start_ms == req.start_ms && e.end_ms == req.end_ms;
                if let Some(e) = self.ended.iter_mut().find(turn) {
                    e.heard = Some(heard);
                }
            }
        }
        self.release(&mut out);
        self.start_waiting(&mut out);
        out
    }

    /// A transcription was dropped (the recogniser sheds partial and speculative ones under
    /// load): the request waiting behind it goes, the next partial one is made on schedule, and
    /// without its speculation the turn ends after the full hangover and is transcribed then.
    pub fn on_dropped(&mut self, req: AsrRequest) -> Vec<TurnEvent> {
        let mut out = Vec::new();
        if self.in_flight != Some(req) {
            return out;
        }
        self.in_flight = None;
        if req.kind == AsrKind::Speculative {
            if self.speculation.as_ref().is_some_and(|s| s.request() == req) {
                self.speculation = None;
            }
            // The turn ended while it waited: transcribe the whole turn now.
            if let Some(e) = self.ended.iter().find(|e| e.covered_by(&req)) {
                let whole = AsrRequest { kind: AsrKind::Final, start_ms: e.start_ms, end_ms: e.end_ms };
                self.request(whole, &mut out);
                return out;
            }
        }
        self.start_waiting(&mut out);
        out
    }

    fn start_waiting(&mut self, out: &mut Vec<TurnEvent>) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some(next) = self.finals.pop_front() {
            self.in_flight = Some(next);
            out.push(TurnEvent::Transcribe(next));
        } else if let Some(next) = self.waiting.take() {
            // A partial of a turn that has ended meanwhile is of no use.
            if next.kind != AsrKind::Partial || self.current_start() == Some(next.start_ms) {
                self.in_flight = Some(next);
                out.push(TurnEvent::Transcribe(next));
            }
        }
    }

    /// The caller's audio ended: an open turn ends now.
    pub fn finish(&mut self, now_ms: u64, vad_flushed: &[crate::pipeline::vad::SpeechSpan]) -> Vec<TurnEvent> {
        let mut out = Vec::new();
        for ev in self.seg.finish(now_ms, vad_flushed) {
            match ev {
                UtteranceEvent::Started { start_ms } => out.push(TurnEvent::SpeechStarted { start_ms }),
                UtteranceEvent::Ended { start_ms, end_ms } => self.on_ended(start_ms, end_ms, false, &mut out),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::vad::SpeechSpan;

    const CFG: TurnConfig = TurnConfig {
        segmenter: SegmenterConfig { hangover_ms: 500, min_speech_ms: 200, max_utterance_ms: 20_000, onset_ms: 80, trailing_ms: 100 },
        complete_hangover_ms: 250,
        partial_every_ms: 1000,
    };

    fn heard(text: &str, complete: bool, ready_ms: u64) -> Heard {
        Heard { text: text.into(), lang: "en".into(), complete, ready_ms, queue_ms: 0, asr_ms: 0 }
    }

    /// The one transcription `events` ask for, which must be of `kind`.
    fn one_request(events: &[TurnEvent], kind: AsrKind) -> AsrRequest {
        match events {
            [TurnEvent::Transcribe(r)] if r.kind == kind => *r,
            other => panic!("wanted one {kind:?} request: {other:?}"),
        }
    }

    /// A turn taker that heard speech from 1000 to 2000 ms and then a pause, and the
    /// speculative transcription it asked for at the pause.
    fn paused_after_speech() -> (TurnTaker, AsrRequest) {
        let mut t = TurnTaker::new(CFG);
        t.on_frame(1100, &VadStep { active: true, finished: vec![], sound: false });
        t.on_frame(1300, &VadStep { active: true, finished: vec![], sound: false });
        let ev = t.on_frame(2100, &VadStep { active: false, finished: vec![SpeechSpan { start_ms: 1000, end_ms: 2000 }], sound: false });
        let spec = one_request(&ev, AsrKind::Speculative);
        (t, spec)
    }

    /// Drives the turn taker frame by frame over speech from `from` to `to` (VAD reports the
    /// span `min_silence` later), answering transcriptions after `asr_ms` with `reply`.
    fn talk(from: u64, to: u64, until: u64, asr_ms: u64, reply: &dyn Fn(AsrRequest) -> Heard) -> Vec<(u64, TurnEvent)> {
        let mut t = TurnTaker::new(CFG);
        let mut log = Vec::new();
        let mut running: Option<(u64, AsrRequest)> = None;
        let mut now = 0;
        while now < until {
            now += 20;
            if let Some((done, req)) = running {
                if done <= now {
                    running = None;
                    for e in t.on_heard(req, reply(req)) {
                        if let TurnEvent::Transcribe(r) = e {
                            running = Some((now + asr_ms, r));
                        }
                        log.push((now, e));
                    }
                }
            }
            let step = VadStep {
                active: now > from + 80 && now < to + 100,
                finished: if now == to + 100 { vec![SpeechSpan { start_ms: from, end_ms: to }] } else { vec![] },
                sound: false,
            };
            for e in t.on_frame(now, &step) {
                if let TurnEvent::Transcribe(r) = e {
                    running = Some((now + asr_ms, r));
                }
                log.push((now, e));
            }
        }
        log
    }

    fn kinds(log: &[(u64, TurnEvent)]) -> Vec<AsrKind> {
        log.iter().filter_map(|(_, e)| if let TurnEvent::Transcribe(r) = e { Some(r.kind) } else { None }).collect()
    }

    #[test]
    fn a_complete_question_ends_the_turn_early_with_the_speculative_transcript() {
        let log = talk(1000, 2000, 4000, 200, &|r| heard("where is my order?", true, r.end_ms + 300));
        let ended = log.iter().find(|(_, e)| matches!(e, TurnEvent::SpeechEnded { .. })).unwrap();
        assert_eq!(ended.1, TurnEvent::SpeechEnded { start_ms: 1000, end_ms: 2000, early: true });
        // Speech ended at 2000; the VAD knew at 2100, the transcript at 2300, so the turn ends
        // once 250 ms of silence have passed and the words are known.
        assert_eq!(ended.0, 2300);
        let ready: Vec<_> = log.iter().filter(|(_, e)| matches!(e, TurnEvent::TurnReady { .. })).collect();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].0, 2300);
        // No second transcription of the same words.
        assert_eq!(kinds(&log), vec![AsrKind::Speculative]);
    }

    #[test]
    fn following_a_recorded_call_turns_end_early_only_where_its_did() {
        // The recorded call's turn ended early at this pause: so does the replay's, after the
        // short hangover, though its words are not known yet (they come with the speculation).
        let (mut t, spec) = paused_after_speech();
        t.follow_recorded(vec![2030]);
        assert!(t.on_frame(2240, &VadStep::default()).is_empty());
        let ev = t.on_frame(2260, &VadStep::default());
        assert_eq!(ev, vec![TurnEvent::SpeechEnded { start_ms: 1000, end_ms: 2000, early: true }]);
        let ev = t.on_heard(spec, heard("where is my order", false, 2400));
        assert!(matches!(&ev[..], [TurnEvent::TurnReady { heard, .. }] if heard.text == "where is my order"), "{ev:?}");

        // It did not end early there: a complete question waits for the full hangover.
        let (mut t, spec) = paused_after_speech();
        t.follow_recorded(vec![9000]);
        t.on_heard(spec, heard("where is my order?", true, 2150));
        for now in (2120..2500).step_by(20) {
            assert!(t.on_frame(now, &VadStep::default()).is_empty(), "ended at {now}");
        }
        assert!(matches!(&t.on_frame(2500, &VadStep::default())[..], [TurnEvent::SpeechEnded { early: false, .. }, TurnEvent::TurnReady { .. }]));
    }

    #[test]
    fn sound_the_vad_has_not_judged_holds_an_early_end_until_its_verdict() {
        let sound = VadStep { sound: true, ..VadStep::default() };
        // The caller goes on just before the short hangover is over ("Thank you, goodbye"):
        // the turn does not end while the VAD has yet to hear it as speech.
        let (mut t, spec) = paused_after_speech();
        t.on_heard(spec, heard("thank you", true, 2150));
        assert!(t.on_frame(2240, &VadStep::default()).is_empty());
        for now in [2260, 2280, 2300, 2320] {
            assert!(t.on_frame(now, &sound).is_empty(), "ended at {now}");
        }
        let ev = t.on_frame(2340, &VadStep { active: true, ..VadStep::default() });
        assert!(!ev.iter().any(|e| matches!(e, TurnEvent::SpeechEnded { .. })), "{ev:?}");
        assert_eq!(t.current_start(), Some(1000), "the turn goes on");

        // Sound the VAD never takes for speech (a knock) holds it no longer than that.
        let (mut t, spec) = paused_after_speech();
        t.on_heard(spec, heard("thank you", true, 2150));
        for now in [2260, 2280, 2300, 2320] {
            assert!(t.on_frame(now, &sound).is_empty(), "ended at {now}");
        }
        assert_eq!(t.on_frame(2340, &sound)[0], TurnEvent::SpeechEnded { start_ms: 1000, end_ms: 2000, early: true });

        // Without sound it ends after the short hangover, as before.
        let (mut t, spec) = paused_after_speech();
        t.on_heard(spec, heard("thank you", true, 2150));
        assert!(t.on_frame(2240, &VadStep::default()).is_empty());
        assert_eq!(t.on_frame(2260, &VadStep::default())[0], TurnEvent::SpeechEnded { start_ms: 1000, end_ms: 2000, early: true });
    }

    #[test]
    fn an_incomplete_sentence_waits_for_the_full_hangover() {
        let log = talk(1000, 2000, 4000, 200, &|r| heard("i would like to", false, r.end_ms + 300));
        let ended = log.iter().find(|(_, e)| matches!(e, TurnEvent::SpeechEnded { .. })).unwrap();
        assert_eq!(ended.1, TurnEvent::SpeechEnded { start_ms: 1000, end_ms: 2000, early: false });
        assert_eq!(ended.0, 2500);
        assert!(log.iter().any(|(t, e)| *t == 2500 && matches!(e, TurnEvent::TurnReady { .. })));
    }

    #[test]
    fn long_speech_gets_partial_transcripts_every_second() {
        let log = talk(1000, 4500, 6000, 100, &|r| heard("words", false, r.end_ms + 100));
        let partials = kinds(&log).iter().filter(|k| **k == AsrKind::Partial).count();
        assert!(partials >= 3, "{:?}", kinds(&log));
        let ready = log.iter().filter(|(_, e)| matches!(e, TurnEvent::TurnReady { .. })).count();
        assert_eq!(ready, 1);
    }

    #[test]
    fn without_a_speculation_the_turn_is_transcribed_at_its_end() {
        // Transcription so slow that the speculative one is still running at the end of the
        // turn: its result is the final transcript when it arrives.
        let log = talk(1000, 2000, 5000, 1500, &|r| heard("hello", false, r.end_ms));
        let ready: Vec<_> = log.iter().filter(|(_, e)| matches!(e, TurnEvent::TurnReady { .. })).collect();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].0, 3600);
        assert_eq!(kinds(&log), vec![AsrKind::Speculative]);
    }

    #[test]
    fn speech_that_resumes_drops_the_old_speculation() {
        let (mut t, req) = paused_after_speech();
        // The caller goes on before the result arrives.
        t.on_frame(2200, &VadStep { active: true, finished: vec![], sound: false });
        t.on_heard(req, heard("i want", true, 2250));
        // Resumed speech means the turn does not end early; a second of speech earns a partial.
        let ev = t.on_frame(2360, &VadStep { active: true, finished: vec![], sound: false });
        let partial = one_request(&ev, AsrKind::Partial);
        // The caller pauses while the partial runs: it is cancelled for the speculative one.
        let ev = t.on_frame(3100, &VadStep { active: false, finished: vec![SpeechSpan { start_ms: 2150, end_ms: 3000 }], sound: false });
        let spec = AsrRequest { kind: AsrKind::Speculative, start_ms: 1000, end_ms: 3000 };
        assert_eq!(ev, vec![TurnEvent::Cancel(partial), TurnEvent::Transcribe(spec)]);
    }

    #[test]
    fn a_dropped_partial_frees_the_call_for_the_next_one() {
        let mut t = TurnTaker::new(CFG);
        t.on_frame(1100, &VadStep { active: true, finished: vec![], sound: false });
        t.on_frame(1300, &VadStep { active: true, finished: vec![], sound: false });
        let ev = t.on_frame(2320, &VadStep { active: true, finished: vec![], sound: false });
        let first = one_request(&ev, AsrKind::Partial);
        // While it runs, the next partial waits behind it.
        assert!(t.on_frame(3340, &VadStep { active: true, finished: vec![], sound: false }).is_empty());
        // The recogniser drops the first: the waiting one goes at once.
        let ev = t.on_dropped(first);
        let second = one_request(&ev, AsrKind::Partial);
        assert_eq!(second.end_ms, 3340);
        // A result for a request no longer running changes nothing.
        assert!(t.on_dropped(first).is_empty());
        assert!(t.transcribing());
    }

    #[test]
    fn a_dropped_speculation_leaves_the_turn_to_the_hangover_and_a_final_transcript() {
        // Every speculative transcription is dropped: the turn ends after the full 500 ms of
        // silence and is transcribed whole.
        let mut t = TurnTaker::new(CFG);
        let mut finals = Vec::new();
        let mut ended_at = None;
        let mut now = 0;
        while now < 4000 {
            now += 20;
            let step = VadStep {
                active: now > 1080 && now < 2100,
                finished: if now == 2100 { vec![SpeechSpan { start_ms: 1000, end_ms: 2000 }] } else { vec![] },
                sound: false,
            };
            let mut events = t.on_frame(now, &step);
            while let Some(e) = events.pop() {
                match e {
                    TurnEvent::Transcribe(r) if r.kind == AsrKind::Speculative => events.extend(t.on_dropped(r)),
                    TurnEvent::Transcribe(r) if r.kind == AsrKind::Final => finals.push(r),
                    TurnEvent::SpeechEnded { early, .. } => {
                        assert!(!early);
                        ended_at = Some(now);
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(ended_at, Some(2500));
        assert_eq!(finals, vec![AsrRequest { kind: AsrKind::Final, start_ms: 1000, end_ms: 2000 }]);
    }

    #[test]
    fn a_speculation_dropped_after_the_turn_ended_is_replaced_by_a_final_transcript() {
        let (mut t, spec) = paused_after_speech();
        // The turn ends while the speculation still waits for the recogniser...
        let ev = t.on_frame(2500, &VadStep { active: false, finished: vec![], sound: false });
        assert!(matches!(ev.as_slice(), [TurnEvent::SpeechEnded { .. }]), "{ev:?}");
        // ...which then drops it: the turn is transcribed whole.
        assert_eq!(t.on_dropped(spec), vec![TurnEvent::Transcribe(AsrRequest { kind: AsrKind::Final, start_ms: 1000, end_ms: 2000 })]);
    }

    #[test]
    fn a_turn_that_ends_while_the_last_one_is_still_transcribed_keeps_its_own_transcript() {
        let (mut t, first) = paused_after_speech();
        let ev = t.on_frame(2500, &VadStep { active: false, finished: vec![], sound: false });
        assert!(matches!(ev.as_slice(), [TurnEvent::SpeechEnded { .. }]), "{ev:?}");
        // The first turn's transcription outlasts the whole second utterance.
        t.on_frame(3100, &VadStep { active: true, finished: vec![], sound: false });
        t.on_frame(3300, &VadStep { active: true, finished: vec![], sound: false });
        assert!(t.on_frame(4100, &VadStep { active: false, finished: vec![SpeechSpan { start_ms: 3000, end_ms: 4000 }], sound: false }).is_empty());
        let ev = t.on_frame(4500, &VadStep { active: false, finished: vec![], sound: false });
        assert_eq!(ev, vec![TurnEvent::SpeechEnded { start_ms: 3000, end_ms: 4000, early: false }]);
        // The first turn's words come: it is handed on, and the second turn is transcribed whole.
        let ev = t.on_heard(first, heard("where is my order", false, 4600));
        let second = AsrRequest { kind: AsrKind::Final, start_ms: 3000, end_ms: 4000 };
        assert_eq!(
            ev,
            vec![
                TurnEvent::TurnReady { start_ms: 1000, end_ms: 2000, heard: heard("where is my order", false, 4600) },
                TurnEvent::Transcribe(second),
            ]
        );
        let ev = t.on_heard(second, heard("it is late", false, 5000));
        assert_eq!(ev, vec![TurnEvent::TurnReady { start_ms: 3000, end_ms: 4000, heard: heard("it is late", false, 5000) }]);
        assert!(!t.transcribing());
    }
}
