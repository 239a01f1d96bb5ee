//! The calls up right now, whatever their leg: who, since when, and their events as they
//! happen, for whoever watches a call live (the caller's page, later an agent's desktop). A
//! call is listed from the moment its leg is set up until its last event is stored; tests
//! check that the count returns to zero after faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::events::Event;

/// How many events a slow watcher may fall behind before it misses some.
const WATCH_BACKLOG: usize = 256;

struct Entry {
    source: String,
    started: Instant,
    events: broadcast::Sender<Event>,
    /// Who hears whom on the call, once its room is up (supervisors join it).
    room: Option<super::room::Room>,
}

/// A live call as listed by `/health` and `GET /v1/live`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveCallInfo {
    pub id: String,
    pub source: String,
    pub age_ms: u64,
}

#[derive(Default)]
pub struct LiveCalls {
    calls: Mutex<HashMap<String, Entry>>,
    /// The agents' desk handed-off calls queue at (none: nobody to hand them to).
    desk: std::sync::OnceLock<Arc<crate::agents::desk::Desk>>,
}

impl LiveCalls {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lists a call until the returned guard is dropped.
    pub fn register(self: &Arc<Self>, id: &str, source: &str) -> LiveCall {
        let (tx, _) = broadcast::channel(WATCH_BACKLOG);
        self.lock().insert(id.to_owned(), Entry { source: source.to_owned(), started: Instant::now(), events: tx.clone(), room: None });
        LiveCall { id: id.to_owned(), registry: self.clone(), events: tx }
    }

    /// The call's events from now on, while it is up.
    pub fn watch(&self, id: &str) -> Option<broadcast::Receiver<Event>> {
        self.lock().get(id).map(|e| e.events.subscribe())
    }

    pub fn set_desk(&self, desk: Arc<crate::agents::desk::Desk>) {
        let _ = self.desk.set(desk);
    }

    pub fn desk(&self) -> Option<Arc<crate::agents::desk::Desk>> {
        self.desk.get().cloned()
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// The room of a live call.
    pub fn room(&self, id: &str) -> Option<super::room::Room> {
        self.lock().get(id).and_then(|e| e.room.clone())
    }

    /// The supervisors on calls now: (call, supervisor, mode).
    pub fn monitors(&self) -> Vec<(String, String, &'static str)> {
        let mut v: Vec<_> = self.lock().iter().filter_map(|(id, e)| e.room.as_ref()?.monitor().map(|(who, mode)| (id.clone(), who, mode.as_str()))).collect();
        v.sort();
        v
    }

    pub fn list(&self) -> Vec<LiveCallInfo> {
        let mut v: Vec<_> = self
            .lock()
            .iter()
            .map(|(id, e)| LiveCallInfo { id: id.clone(), source: e.source.clone(), age_ms: e.started.elapsed().as_millis() as u64 })
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.age_ms));
        v
    }
}

/// A call's place in the registry; dropping it takes the call off the list.
pub struct LiveCall {
    id: String,
    registry: Arc<LiveCalls>,
    events: broadcast::Sender<Event>,
}

impl LiveCall {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn desk(&self) -> Option<Arc<crate::agents::desk::Desk>> {
        self.registry.desk()
    }

    /// Tells the call's watchers (nobody watching is fine).
    pub fn publish(&self, ev: &Event) {
        let _ = self.events.send(ev.clone());
    }

    pub fn watch(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The call's room, for whoever joins the call from outside (a supervisor).
    pub fn set_room(&self, room: super::room::Room) {
        if let Some(e) = self.registry.lock().get_mut(&self.id) {
            e.room = Some(room);
        }
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    #[test]
    fn a_call_is_listed_while_its_guard_lives_and_its_events_reach_watchers() {
        let reg = Arc::new(LiveCalls::default());
        let call = reg.register("c1", "webrtc:cust-1");
        let mut w = reg.watch("c1").unwrap();
        assert_eq!(reg.count(), 1);
        assert_eq!(reg.list()[0].source, "webrtc:cust-1");
        call.publish(&Event::new("c1", 5, EventKind::Dtmf { digit: "1".into(), out_of_band: true }));
        assert_eq!(w.try_recv().unwrap().t_ms, 5);
        assert!(reg.watch("nope").is_none());
        drop(call);
        assert_eq!(reg.count(), 0);
        assert!(reg.watch("c1").is_none());
    }
}
