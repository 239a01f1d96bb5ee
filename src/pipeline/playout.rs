//! The bot's side of the call as a state machine without IO or clocks: synthesised sentences
//! queue up and play as 20 ms frames on the call's timeline; an interruption stops the playing
//! sentence at once and drops everything queued. A live call advances it with the wall clock,
//! a replay with the caller's audio.

use std::collections::VecDeque;

use crate::audio::{FRAME_MS, FRAME_SAMPLES};

/// One synthesised sentence of a reply.
struct Segment {
    reply: u64,
    /// When it was ready to play, call-relative.
    ready_ms: u64,
    samples: Vec<f32>,
}

/// What happened on the bot's side while advancing.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayoutEvent {
    /// The first frame of a reply went out.
    Started { reply: u64, t_ms: u64 },
    /// The last frame of a reply went out.
    Finished { reply: u64, t_ms: u64, played_ms: u64 },
}

/// A bot frame and when it goes out.
#[derive(Debug, Clone, PartialEq)]
pub struct BotFrame {
    pub t_ms: u64,
    pub samples: Vec<f32>,
}

#[derive(Default)]
pub struct Playout {
    queue: VecDeque<Segment>,
    /// The reply playing now: its id, start time and samples played of its current segment.
    playing: Option<(u64, u64, usize)>,
    /// Where the next frame goes on the timeline.
    next_frame_ms: u64,
    /// Replies whose last sentence has been queued.
    complete: Vec<u64>,
    /// Milliseconds of each reply played so far.
    played: Vec<(u64, u64)>,
}

fn align_up(ms: u64) -> u64 {
    ms.div_ceil(FRAME_MS) * FRAME_MS
}

impl Playout {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a sentence of `reply`, ready to play from `ready_ms`.
    pub fn push(&mut self, reply: u64, ready_ms: u64, samples: Vec<f32>) {
        if !samples.is_empty() {
            self.queue.push_back(Segment { reply, ready_ms, samples });
        }
    }

    /// No more sentences will come for `reply`.
    pub fn complete(&mut self, reply: u64) {
        self.complete.push(reply);
    }

    /// Whether the bot is audible: a frame of a reply has gone out and the reply has not
    /// finished.
    pub fn speaking(&self) -> bool {
        self.playing.is_some()
    }

    /// Whether anything is playing or waiting to play.
    pub fn busy(&self) -> bool {
        self.playing.is_some() || !self.queue.is_empty()
    }

    fn played_ms(&self, reply: u64) -> u64 {
        self.played.iter().find(|(r, _)| *r == reply).map(|(_, ms)| *ms).unwrap_or(0)
    }

    /// Plays every frame due before `to_ms`.
    pub fn advance(&mut self, to_ms: u64) -> (Vec<BotFrame>, Vec<PlayoutEvent>) {
        let mut frames = Vec::new();
        let mut events = Vec::new();
        loop {
            let Some(seg) = self.queue.front() else { break };
            let reply = seg.reply;
            let start = if self.playing.is_some_and(|(r, _, _)| r == reply) {
                self.next_frame_ms
            } else {
                // A new reply starts on the frame grid, once it is ready and the last one ended.
                self.next_frame_ms.max(align_up(seg.ready_ms))
            };
            let at = start.max(align_up(seg.ready_ms));
            if at >= to_ms {
                break;
            }
            if !self.playing.is_some_and(|(r, _, _)| r == reply) {
                self.playing = Some((reply, at, 0));
                self.played.push((reply, 0));
                events.push(PlayoutEvent::Started { reply, t_ms: at });
            }
            let (_, _, offset) = self.playing.unwrap_or((reply, at, 0));
            let seg = &self.queue[0];
            let end = (offset + FRAME_SAMPLES).min(seg.samples.len());
            let mut samples = seg.samples[offset..end].to_vec();
            samples.resize(FRAME_SAMPLES, 0.0);
            frames.push(BotFrame { t_ms: at, samples });
            self.next_frame_ms = at + FRAME_MS;
            if let Some(p) = self.played.iter_mut().find(|(r, _)| *r == reply) {
                p.1 += FRAME_MS;
            }
            if end >= seg.samples.len() {
                self.queue.pop_front();
                self.playing = Some((reply, at, 0));
                let more_of_this_reply = self.queue.front().is_some_and(|s| s.reply == reply);
                if !more_of_this_reply && self.complete.contains(&reply) {
                    self.playing = None;
                    events.push(PlayoutEvent::Finished { reply, t_ms: at + FRAME_MS, played_ms: self.played_ms(reply) });
                }
            } else {
                self.playing = Some((reply, at, end));
            }
        }
        (frames, events)
    }

    /// Stops the bot: the rest of the playing reply and everything queued are dropped. Returns
    /// the reply that was audible, how much of it played and how much was dropped.
    pub fn interrupt(&mut self) -> Option<(u64, u64, u64)> {
        let audible = self.playing.take().map(|(r, _, offset)| (r, offset));
        let dropped_samples: usize = self.queue.iter().map(|s| s.samples.len()).sum::<usize>() - audible.map(|(_, o)| o).unwrap_or(0);
        self.queue.clear();
        audible.map(|(reply, _)| {
            let dropped_ms = dropped_samples as u64 * 1000 / crate::audio::SAMPLE_RATE as u64;
            (reply, self.played_ms(reply), dropped_ms)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u64) -> Vec<f32> {
        vec![0.5; (ms * 16) as usize]
    }

    #[test]
    fn a_reply_plays_on_the_frame_grid_from_when_it_was_ready() {
        let mut p = Playout::new();
        p.push(1, 1005, tone(100));
        p.complete(1);
        let (frames, events) = p.advance(2000);
        assert_eq!(frames.len(), 5);
        assert_eq!(frames[0].t_ms, 1020);
        assert_eq!(frames[4].t_ms, 1100);
        assert_eq!(
            events,
            vec![
                PlayoutEvent::Started { reply: 1, t_ms: 1020 },
                PlayoutEvent::Finished { reply: 1, t_ms: 1120, played_ms: 100 }
            ]
        );
        assert!(!p.busy());
    }

    #[test]
    fn sentences_of_a_reply_follow_each_other_without_gaps() {
        let mut p = Playout::new();
        p.push(1, 0, tone(60));
        p.push(1, 10, tone(40)); // ready long before the first ends
        let (frames, _) = p.advance(1000);
        let times: Vec<u64> = frames.iter().map(|f| f.t_ms).collect();
        assert_eq!(times, vec![0, 20, 40, 60, 80]);
        assert!(p.speaking(), "the reply is not complete yet");
    }

    #[test]
    fn only_frames_before_the_time_are_played() {
        let mut p = Playout::new();
        p.push(1, 0, tone(200));
        p.complete(1);
        assert_eq!(p.advance(50).0.len(), 3);
        assert!(p.speaking());
        assert_eq!(p.advance(50).0.len(), 0);
        assert_eq!(p.advance(120).0.len(), 3);
    }

    #[test]
    fn an_interruption_stops_at_once_and_drops_the_queue() {
        let mut p = Playout::new();
        p.push(1, 0, tone(1000));
        p.push(1, 0, tone(500));
        p.complete(1);
        p.advance(300);
        let (reply, played, dropped) = p.interrupt().unwrap();
        assert_eq!((reply, played), (1, 300));
        assert_eq!(dropped, 1200);
        assert!(!p.busy());
        assert!(p.advance(5000).0.is_empty());
        // Nothing audible: nothing to report.
        assert!(p.interrupt().is_none());
    }
}
