//! A supervisor on a live call with an agent: listening in (monitor), speaking to the agent
//! only (coach), or joining the call (barge). The room mixes them in: the supervisor hears the
//! caller and the agent; the agent hears the supervisor when coached or barged in on; the
//! caller (and so the recording) hears them only after a barge.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Samples in one 16 kHz frame.
const FRAME: usize = 320;

/// How a supervisor is on the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// Hears caller and agent; nobody hears them.
    Listen,
    /// Also heard by the agent, not by the caller.
    Coach,
    /// Heard by both.
    Barge,
}

impl MonitorMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "listen" | "monitor" => Some(Self::Listen),
            "coach" | "whisper" => Some(Self::Coach),
            "barge" => Some(Self::Barge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Listen => "listen",
            Self::Coach => "coach",
            Self::Barge => "barge",
        }
    }

    fn agent_hears(self) -> bool {
        matches!(self, Self::Coach | Self::Barge)
    }

    fn caller_hears(self) -> bool {
        self == Self::Barge
    }
}

/// The supervisor's media once it is connected: their ear and their voice.
pub struct MonitorMedia {
    pub ear: mpsc::Sender<Vec<f32>>,
    pub voice: mpsc::Receiver<Vec<f32>>,
}

/// One supervisor on the call (at most one at a time).
pub struct Monitor {
    /// Which joining this is (a later one is another supervisor's, or the same one's again).
    pub id: u64,
    pub supervisor: String,
    pub mode: MonitorMode,
    /// Cancelled when the room lets the supervisor go (stopped, the agent left, the call ended).
    pub gone: CancellationToken,
    media: Option<MonitorMedia>,
    /// The caller's frame of this slot, for the supervisor's ear.
    caller_now: Option<Vec<f32>>,
    /// The supervisor's frame of this slot, for the caller's ear after a barge.
    voice_now: Option<Vec<f32>>,
}

/// `a` + `b`, clipped.
fn add_into(a: &mut [f32], b: &[f32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = (*x + y).clamp(-1.0, 1.0);
    }
}

impl Monitor {
    pub fn new(id: u64, supervisor: &str, mode: MonitorMode) -> Self {
        Self { id, supervisor: supervisor.to_string(), mode, gone: CancellationToken::new(), media: None, caller_now: None, voice_now: None }
    }

    pub fn connect(&mut self, media: MonitorMedia) {
        self.media = Some(media);
    }

    pub fn connected(&self) -> bool {
        self.media.is_some()
    }

    /// The caller's frame on its way to the agent (`to_agent`): kept for the supervisor's ear,
    /// and the supervisor's voice of this slot mixed in when the agent hears them.
    pub fn on_caller_frame(&mut self, to_agent: &mut [f32]) {
        let Some(media) = &mut self.media else { return };
        self.caller_now = Some(to_agent.to_vec());
        // The newest frame of the supervisor's voice; an older backlog is dropped.
        let mut newest = None;
        while let Ok(f) = media.voice.try_recv() {
            newest = Some(f);
        }
        if let (Some(v), true) = (&newest, self.mode.agent_hears()) {
            add_into(to_agent, v);
        }
        self.voice_now = newest;
    }

    /// The agent's frame on its way to the caller (`to_caller`): the supervisor hears it with
    /// the caller's, and after a barge the caller hears the supervisor too.
    pub fn on_agent_frame(&mut self, to_caller: &mut [f32]) {
        let Some(media) = &self.media else { return };
        let mut ear = self.caller_now.take().unwrap_or_else(|| vec![0.0; FRAME]);
        add_into(&mut ear, to_caller);
        // A supervisor's page that falls behind loses frames, never the call's time.
        let _ = media.ear.try_send(ear);
        if self.mode.caller_hears() {
            if let Some(v) = self.voice_now.take() {
                add_into(to_caller, &v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(mode: MonitorMode) -> (Monitor, mpsc::Receiver<Vec<f32>>, mpsc::Sender<Vec<f32>>) {
        let (ear_tx, ear) = mpsc::channel(8);
        let (voice, voice_rx) = mpsc::channel(8);
        let mut m = Monitor::new(1, "sue", mode);
        m.connect(MonitorMedia { ear: ear_tx, voice: voice_rx });
        (m, ear, voice)
    }

    /// One slot: the caller says `c`, the supervisor `s`, the agent `a`: what the agent, the
    /// caller and the supervisor hear.
    fn slot(m: &mut Monitor, ear: &mut mpsc::Receiver<Vec<f32>>, voice: &mpsc::Sender<Vec<f32>>, c: f32, s: f32, a: f32) -> (f32, f32, f32) {
        voice.try_send(vec![s; FRAME]).unwrap();
        let mut to_agent = vec![c; FRAME];
        m.on_caller_frame(&mut to_agent);
        let mut to_caller = vec![a; FRAME];
        m.on_agent_frame(&mut to_caller);
        (to_agent[0], to_caller[0], ear.try_recv().map(|f| f[0]).unwrap_or(f32::NAN))
    }

    #[test]
    fn a_listening_supervisor_hears_both_and_is_heard_by_nobody() {
        let (mut m, mut ear, voice) = joined(MonitorMode::Listen);
        let (agent, caller, sup) = slot(&mut m, &mut ear, &voice, 0.1, 0.4, 0.2);
        assert_eq!(agent, 0.1);
        assert_eq!(caller, 0.2);
        assert!((sup - 0.3).abs() < 1e-6, "{sup}");
    }

    #[test]
    fn a_coach_is_heard_by_the_agent_only_and_a_barge_by_both() {
        let (mut m, mut ear, voice) = joined(MonitorMode::Coach);
        let (agent, caller, _) = slot(&mut m, &mut ear, &voice, 0.1, 0.4, 0.2);
        assert!((agent - 0.5).abs() < 1e-6 && caller == 0.2, "{agent} {caller}");
        m.mode = MonitorMode::Barge;
        let (agent, caller, sup) = slot(&mut m, &mut ear, &voice, 0.1, 0.4, 0.2);
        assert!((agent - 0.5).abs() < 1e-6 && (caller - 0.6).abs() < 1e-6, "{agent} {caller}");
        // The supervisor does not hear themself.
        assert!((sup - 0.3).abs() < 1e-6, "{sup}");
    }

    #[test]
    fn before_the_media_connects_nothing_changes_and_sums_are_clipped() {
        let mut m = Monitor::new(1, "sue", MonitorMode::Barge);
        let mut f = vec![0.1; FRAME];
        m.on_caller_frame(&mut f);
        m.on_agent_frame(&mut f);
        assert_eq!(f, vec![0.1; FRAME]);
        let (mut m, mut ear, voice) = joined(MonitorMode::Barge);
        let (agent, caller, _) = slot(&mut m, &mut ear, &voice, 0.9, 0.9, 0.9);
        assert_eq!((agent, caller), (1.0, 1.0));
        assert_eq!(MonitorMode::parse("coach"), Some(MonitorMode::Coach));
        assert_eq!(MonitorMode::parse("shout"), None);
    }
}
