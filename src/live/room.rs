//! A live call's room: who hears whom, made so. Call control writes the table (`Hearing`);
//! the room carries it out on the call's audio: the caller's ear (the bot, hold audio under
//! the bot's announcements, or the agent) and the agent's ear (the whisper, then the caller).
//! What the caller hears is also what their leg records on the right channel. A supervisor
//! may join a call with an agent (`monitor.rs`): the room mixes them in and writes the events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use tokio_util::sync::CancellationToken;

use super::monitor::{Monitor, MonitorMedia, MonitorMode};
use crate::audio::{AudioFrame, FRAME_MS};
use crate::call::control::{Hearing, Track};
use crate::events::{Event, EventKind};
use crate::pipeline::playout::BotFrame;

/// Samples in one 16 kHz frame.
const FRAME: usize = 320;
/// The agent's voice waits at most this many frames for the caller's ear (a late leg's
/// backlog is dropped rather than heard late).
const MAX_AGENT_BACKLOG: usize = 1;

#[derive(Default)]
struct State {
    hearing: Hearing,
    /// What the agent hears, while an agent is on the call.
    agent_ear: Option<mpsc::Sender<Vec<f32>>>,
    agent_voice: Option<mpsc::Receiver<Vec<f32>>>,
    agent_backlog: std::collections::VecDeque<Vec<f32>>,
    /// Every frame of the agent's voice the caller is played, also for the agent's transcriber.
    agent_tap: Option<mpsc::Sender<Vec<f32>>>,
    /// Every frame of the caller's, also to a voice message being recorded.
    caller_tap: Option<mpsc::Sender<Vec<f32>>>,
    /// The supervisor on the call, if any, and how many have joined it.
    monitor: Option<Monitor>,
    monitors_joined: u64,
    /// Where the room's own events go: the call's record, its id, its start.
    events: Option<(mpsc::UnboundedSender<Event>, String, Instant)>,
}

impl State {
    fn event(&self, kind: EventKind) {
        if let Some((tx, id, started)) = &self.events {
            let _ = tx.send(Event::new(id, started.elapsed().as_millis() as u64, kind));
        }
    }

    /// Lets the supervisor go (their leg hangs up), with the event when they were on the call.
    fn end_monitor(&mut self, reason: &str) {
        if let Some(m) = self.monitor.take() {
            m.gone.cancel();
            if m.connected() {
                self.event(EventKind::MonitorEnded { supervisor: m.supervisor, reason: reason.to_string() });
            }
        }
    }
}

#[derive(Clone, Default)]
pub struct Room {
    state: Arc<Mutex<State>>,
    /// Told when who hears whom changes: the caller's ear, waiting on the bot alone, wakes to
    /// play hold audio or the agent (a call without the bot sends it nothing else).
    hearing_changed: Arc<tokio::sync::Notify>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Room {
    pub fn new() -> Self {
        let r = Self::default();
        r.hear(Hearing::bot());
        r
    }

    pub fn hear(&self, h: Hearing) {
        lock(&self.state).hearing = h;
        // One waiter (the caller's ear); a change before it waits is kept for it.
        self.hearing_changed.notify_one();
    }

    pub fn hears(&self) -> Hearing {
        lock(&self.state).hearing.clone()
    }

    /// An agent joins: their ear and voice.
    pub fn join_agent(&self, ear: mpsc::Sender<Vec<f32>>, voice: mpsc::Receiver<Vec<f32>>) {
        let mut s = lock(&self.state);
        s.agent_ear = Some(ear);
        s.agent_voice = Some(voice);
    }

    /// The agent leaves; a supervisor on the call leaves with them.
    pub fn leave_agent(&self) {
        let mut s = lock(&self.state);
        s.agent_ear = None;
        s.agent_voice = None;
        s.agent_backlog.clear();
        s.agent_tap = None;
        s.end_monitor("agent_left");
    }

    /// From now on the caller's frames also go to `tap` (a voice message).
    pub fn tap_caller(&self, tap: mpsc::Sender<Vec<f32>>) {
        lock(&self.state).caller_tap = Some(tap);
    }

    pub fn untap_caller(&self) {
        lock(&self.state).caller_tap = None;
    }

    /// The room writes its own events (supervisors joining and leaving) to `tx`.
    pub fn write_events(&self, tx: mpsc::UnboundedSender<Event>, call: &str, started: Instant) {
        lock(&self.state).events = Some((tx, call.to_string(), started));
    }

    /// A supervisor asks to join as `mode`: their slot and what tells them to go, unless no
    /// agent has answered or another supervisor is on the call (while the agent hears the
    /// whisper, the supervisor hears nothing yet). The same
    /// supervisor asking again (their page reloaded) replaces their earlier joining.
    pub fn reserve_monitor(&self, supervisor: &str, mode: MonitorMode) -> Result<(u64, CancellationToken), String> {
        let mut s = lock(&self.state);
        if s.agent_ear.is_none() {
            return Err("no agent is on this call yet: a supervisor joins a call once an agent has answered it".into());
        }
        if let Some(m) = &s.monitor {
            if m.supervisor != supervisor {
                return Err(format!("{} is already on this call (one supervisor at a time)", m.supervisor));
            }
            s.end_monitor("replaced");
        }
        s.monitors_joined += 1;
        let m = Monitor::new(s.monitors_joined, supervisor, mode);
        let out = (m.id, m.gone.clone());
        s.monitor = Some(m);
        Ok(out)
    }

    /// The supervisor's media of slot `id` connected: they are on the call. False when the
    /// slot is no longer theirs.
    pub fn monitor_connected(&self, id: u64, media: MonitorMedia) -> bool {
        let mut s = lock(&self.state);
        let Some(m) = s.monitor.as_mut().filter(|m| m.id == id) else { return false };
        m.connect(media);
        let kind = EventKind::MonitorStarted { supervisor: m.supervisor.clone(), mode: m.mode.as_str().to_string() };
        s.event(kind);
        true
    }

    /// The supervisor on the call changes how they are on it.
    pub fn set_monitor_mode(&self, supervisor: &str, mode: MonitorMode) -> Result<(), String> {
        let mut s = lock(&self.state);
        let m = s.monitor.as_mut().filter(|m| m.supervisor == supervisor).ok_or_else(|| format!("{supervisor} is not on this call: join it first (with the page's offer)"))?;
        if m.mode == mode {
            return Ok(());
        }
        m.mode = mode;
        if m.connected() {
            let kind = EventKind::MonitorChanged { supervisor: supervisor.to_string(), mode: mode.as_str().to_string() };
            s.event(kind);
        }
        Ok(())
    }

    /// Slot `id` ends for `reason` (its leg ended, its media never came).
    pub fn end_monitor(&self, id: u64, reason: &str) {
        let mut s = lock(&self.state);
        if s.monitor.as_ref().is_some_and(|m| m.id == id) {
            s.end_monitor(reason);
        }
    }

    /// The supervisor asks to leave: false when they were not on the call.
    pub fn stop_monitor(&self, supervisor: &str) -> bool {
        let mut s = lock(&self.state);
        if s.monitor.as_ref().is_none_or(|m| m.supervisor != supervisor) {
            return false;
        }
        s.end_monitor("stopped");
        true
    }

    /// At the call's end: the supervisor goes.
    pub fn end_monitoring(&self, reason: &str) {
        lock(&self.state).end_monitor(reason);
    }

    /// Who is on the call as supervisor, and how.
    pub fn monitor(&self) -> Option<(String, MonitorMode)> {
        lock(&self.state).monitor.as_ref().map(|m| (m.supervisor.clone(), m.mode))
    }

    /// From now on the agent's voice also goes to `tap` (their transcriber).
    pub fn tap_agent(&self, tap: mpsc::Sender<Vec<f32>>) {
        lock(&self.state).agent_tap = Some(tap);
    }

    /// What the agent hears of the whisper: sent at the pace it plays, unless the agent no
    /// longer hears it. How much played.
    pub async fn whisper(&self, audio: &[f32]) -> u64 {
        let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS));
        let mut played = 0u64;
        for chunk in audio.chunks(FRAME) {
            tick.tick().await;
            let ear = {
                let s = lock(&self.state);
                if !s.hearing.agent.contains(&Track::Whisper) {
                    break;
                }
                s.agent_ear.clone()
            };
            let Some(ear) = ear else { break };
            let mut f = chunk.to_vec();
            f.resize(FRAME, 0.0);
            if ear.send(f).await.is_err() {
                break;
            }
            played += FRAME_MS;
        }
        played
    }

    /// The caller's frames go on to the pipeline, and to the agent while the agent hears the
    /// caller.
    pub fn tee_caller(&self, mut caller: mpsc::Receiver<AudioFrame>) -> mpsc::Receiver<AudioFrame> {
        let (tx, rx) = mpsc::channel(64);
        let room = self.clone();
        tokio::spawn(async move {
            while let Some(f) = caller.recv().await {
                if f.samples.len() == FRAME {
                    let to_agent = {
                        let mut s = lock(&room.state);
                        if let Some(tap) = &s.caller_tap {
                            let _ = tap.try_send(f.samples.clone());
                        }
                        match s.agent_ear.clone().filter(|_| s.hearing.agent.contains(&Track::Caller)) {
                            Some(ear) => {
                                let mut frame = f.samples.clone();
                                // A coaching (or barged-in) supervisor is heard with the caller.
                                if let Some(m) = &mut s.monitor {
                                    m.on_caller_frame(&mut frame);
                                }
                                Some((ear, frame))
                            }
                            None => None,
                        }
                    };
                    if let Some((ear, frame)) = to_agent {
                        let _ = ear.try_send(frame);
                    }
                }
                if tx.send(f).await.is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// The caller's ear: the bot's frames from `bot` as they come, while the caller hears the
    /// bot; hold audio in the slots the bot leaves silent; the agent's voice. Frames go to
    /// `out` (the caller's leg) on the call's 20 ms slots since `started`.
    pub fn caller_ear(&self, mut bot: mpsc::Receiver<BotFrame>, out: mpsc::Sender<BotFrame>, started: Instant, mut hold: HoldAudio) -> tokio::task::JoinHandle<()> {
        let room = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            // The last slot the bot's audio went out on.
            let mut bot_until = 0u64;
            loop {
                let hearing = room.hears();
                let ticking = hearing.caller.iter().any(|t| matches!(t, Track::Hold | Track::Agent));
                tokio::select! {
                    _ = room.hearing_changed.notified() => {}
                    f = bot.recv() => match f {
                        Some(f) => {
                            if hearing.caller.contains(&Track::Bot) {
                                bot_until = bot_until.max(f.t_ms + FRAME_MS);
                                if out.try_send(f).is_err() && out.is_closed() {
                                    break;
                                }
                            }
                        }
                        None => break,
                    },
                    _ = tick.tick(), if ticking => {
                        // The slot after the one playing now: sent a frame ahead, as the bot's.
                        let now_slot = started.elapsed().as_millis() as u64 / FRAME_MS * FRAME_MS;
                        let mut slot = now_slot + FRAME_MS;
                        let frame = if hearing.caller.contains(&Track::Agent) {
                            // The agent's voice has waited in their jitter buffer already: it
                            // goes out on the slot playing now.
                            slot = now_slot;
                            room.agent_frame()
                        } else if hearing.caller.contains(&Track::Hold) && slot >= bot_until + FRAME_MS {
                            Some(hold.next_frame())
                        } else {
                            None
                        };
                        if let Some(samples) = frame {
                            if out.try_send(BotFrame { t_ms: slot, samples }).is_err() && out.is_closed() {
                                break;
                            }
                        }
                    }
                }
            }
        })
    }

    /// The agent's next 20 ms for the caller (silence when none came), its backlog kept short.
    fn agent_frame(&self) -> Option<Vec<f32>> {
        let mut s = lock(&self.state);
        let State { agent_voice, agent_backlog, agent_tap, monitor, .. } = &mut *s;
        let voice = agent_voice.as_mut()?;
        while let Ok(f) = voice.try_recv() {
            if let Some(tap) = agent_tap {
                let _ = tap.try_send(f.clone());
            }
            agent_backlog.push_back(f);
        }
        while agent_backlog.len() > MAX_AGENT_BACKLOG {
            agent_backlog.pop_front();
        }
        let mut frame = agent_backlog.pop_front().unwrap_or_else(|| vec![0.0; FRAME]);
        // The supervisor hears the agent (with the caller); after a barge the caller hears them.
        if let Some(m) = monitor {
            m.on_agent_frame(&mut frame);
        }
        Some(frame)
    }
}

/// What a waiting caller hears: a file looped, or a soft chime.
#[derive(Clone)]
pub struct HoldAudio {
    samples: Arc<Vec<f32>>,
    pos: usize,
}

impl HoldAudio {
    /// The file at `path` (any format the gateway reads) at 16 kHz, or the chime for an empty
    /// path.
    pub fn load(path: &std::path::Path) -> crate::error::Result<Self> {
        if path.as_os_str().is_empty() {
            return Ok(Self::chime());
        }
        let a = crate::audio::load_for_pipeline(path, None)?;
        if a.samples.is_empty() {
            return Err(crate::error::Error::Config(format!("agents.hold_audio {}: no audio in it", path.display())));
        }
        Ok(Self { samples: Arc::new(a.samples), pos: 0 })
    }

    /// Two soft notes (C5, E5) and a rest, every three seconds: a caller on hold knows the
    /// line is alive.
    pub fn chime() -> Self {
        static CHIME: std::sync::OnceLock<Arc<Vec<f32>>> = std::sync::OnceLock::new();
        Self { samples: CHIME.get_or_init(|| Arc::new(Self::chime_samples())).clone(), pos: 0 }
    }

    fn chime_samples() -> Vec<f32> {
        let rate = crate::audio::SAMPLE_RATE as f32;
        let mut s = vec![0.0f32; 3 * crate::audio::SAMPLE_RATE as usize];
        for (start, f) in [(0.0f32, 523.25f32), (0.35, 659.25)] {
            let n = (0.6 * rate) as usize;
            let at = (start * rate) as usize;
            for i in 0..n {
                let t = i as f32 / rate;
                let env = (-(t * 6.0)).exp() * (1.0 - (-(t * 200.0)).exp());
                s[at + i] += 0.12 * env * (2.0 * std::f32::consts::PI * f * t).sin();
            }
        }
        s
    }

    pub fn next_frame(&mut self) -> Vec<f32> {
        let mut f = Vec::with_capacity(FRAME);
        while f.len() < FRAME {
            let take = (FRAME - f.len()).min(self.samples.len() - self.pos);
            f.extend_from_slice(&self.samples[self.pos..self.pos + take]);
            self.pos = (self.pos + take) % self.samples.len();
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chime_is_soft_and_loops_without_a_gap() {
        let mut h = HoldAudio::chime();
        let frames: Vec<Vec<f32>> = (0..300).map(|_| h.next_frame()).collect();
        assert!(frames.iter().all(|f| f.len() == FRAME));
        let peak = frames.iter().flatten().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.05 && peak < 0.3, "peak {peak}");
        // Six seconds: the chime twice.
        let loud: Vec<usize> = frames.iter().enumerate().filter(|(_, f)| crate::audio::frame::rms(f) > 0.02).map(|(i, _)| i).collect();
        assert!(loud.contains(&2) && loud.contains(&152), "{loud:?}");
    }

    #[tokio::test]
    async fn the_agent_hears_the_caller_only_when_the_table_says_so() {
        let room = Room::new();
        let (ear_tx, mut ear) = mpsc::channel(8);
        let (_voice_tx, voice) = mpsc::channel(8);
        room.join_agent(ear_tx, voice);
        let (caller_tx, caller_rx) = mpsc::channel(8);
        let mut to_pipeline = room.tee_caller(caller_rx);
        let frame = |t| AudioFrame { t_ms: t, samples: vec![0.1; FRAME], dtmf: None };
        caller_tx.send(frame(0)).await.unwrap();
        assert_eq!(to_pipeline.recv().await.unwrap().t_ms, 0);
        assert!(ear.try_recv().is_err(), "the bot has the call: the agent hears nothing");
        room.hear(Hearing::bridged());
        caller_tx.send(frame(20)).await.unwrap();
        assert_eq!(to_pipeline.recv().await.unwrap().t_ms, 20, "the pipeline still hears the caller");
        assert_eq!(ear.try_recv().unwrap(), vec![0.1; FRAME]);
    }
}
