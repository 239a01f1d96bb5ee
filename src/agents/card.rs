//! The context card an agent is offered a call with: why it came (reason, summary), what was
//! said (caller and bot, with times), what the caller wants (intents, entities), their order
//! as the order system has it, the anger over the call, the language and the time waited. Read
//! from the call's stored events, so a card is the same whoever builds it.

use serde_json::{json, Value};

use crate::events::{Event, EventKind};
use crate::nlu::entities::EntityType;
use crate::orders::OrderService;
use crate::store::Store;

/// The card of `call` from its events; None while its handoff is not stored yet.
pub fn from_events(events: &[Event], caller: &str, source: &str, waited_ms: u64, orders: &dyn OrderService) -> Option<Value> {
    let (at, reason, ctx) = events.iter().find_map(|e| match &e.kind {
        EventKind::Handoff { reason, context } => Some((e.t_ms, reason.clone(), context.clone())),
        _ => None,
    })?;
    // What was said up to the handoff, then what the caller said while waiting.
    let mut transcript: Vec<Value> = ctx.transcript.iter().map(|l| json!({ "speaker": l.speaker, "text": l.text, "t_ms": l.t_ms })).collect();
    for e in events.iter().filter(|e| e.t_ms > at) {
        if let EventKind::Transcript { is_final: true, text, speaker, start_ms, .. } = &e.kind {
            transcript.push(json!({ "speaker": speaker, "text": text, "t_ms": start_ms }));
        }
    }
    let anger: Vec<Value> = ctx.emotions.iter().map(|e| json!({ "t_ms": e.t_ms, "score": e.anger, "label": e.label })).collect();
    let peak = ctx.emotions.iter().map(|e| e.anger).fold(0.0f32, f32::max);
    let entities: Vec<Value> = ctx.entities.iter().map(|e| json!({ "kind": e.kind, "value": e.value, "text": e.text })).collect();
    let order = ctx.entities.iter().find(|e| e.kind == EntityType::OrderNumber).map(|e| match orders.order(&e.value) {
        Ok(o) => {
            let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
            if let Some(m) = v.as_object_mut() {
                m.insert("number".into(), json!(o.id));
                m.insert("status".into(), json!(o.status.as_str()));
            }
            v
        }
        Err(err) => json!({ "number": e.value, "status": "unknown", "error": err.to_string() }),
    });
    let channel = if source.starts_with("webrtc:") { "app" } else { "phone" };
    Some(json!({
        "reason": reason,
        "summary": ctx.summary,
        "lang": ctx.lang,
        "waited_ms": waited_ms,
        "caller": display_caller(caller),
        "channel": channel,
        "intents": ctx.intents.iter().map(|i| json!({ "intent": i.intent, "confidence": i.confidence })).collect::<Vec<_>>(),
        "entities": entities,
        "order": order,
        "transcript": transcript,
        "anger": anger,
        "peak_anger": peak,
    }))
}

/// A caller as a person reads them: the number or user of a SIP address
/// (`"Ann" <sip:+15550100@host>` -> `+15550100`), anything else as it is.
pub fn display_caller(raw: &str) -> String {
    let inner = match (raw.find('<'), raw.rfind('>')) {
        (Some(a), Some(b)) if a < b => &raw[a + 1..b],
        _ => raw.trim(),
    };
    match inner.strip_prefix("sip:").or_else(|| inner.strip_prefix("sips:")).or_else(|| inner.strip_prefix("tel:")) {
        Some(rest) => rest.split(['@', ';']).next().unwrap_or(rest).to_string(),
        None => inner.to_string(),
    }
}

/// The card of `call` from the store, waiting up to a second for its handoff to be written
/// (the call writes its events on its own thread).
pub async fn build(store: std::sync::Arc<Store>, orders: std::sync::Arc<dyn OrderService>, call: String, waited_ms: u64) -> Value {
    for _ in 0..10 {
        let (store, orders, call) = (store.clone(), orders.clone(), call.clone());
        let card = tokio::task::spawn_blocking(move || {
            let events = store.events(&call).ok()?;
            let row = store.call(&call).ok().flatten();
            let (caller, source) = row.map(|r| (r.caller, r.source)).unwrap_or_default();
            from_events(&events, &caller, &source, waited_ms, orders.as_ref())
        })
        .await
        .ok()
        .flatten();
        if let Some(c) = card {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    json!({ "reason": "unknown", "summary": "", "waited_ms": waited_ms, "transcript": [], "intents": [], "entities": [], "order": null, "anger": [], "peak_anger": 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::escalation::{EmotionAt, HandoffContext, IntentAt, Line};
    use crate::orders::{Order, OrderError, OrderResult, OrderStatus};

    struct OneOrder;

    impl OrderService for OneOrder {
        fn order(&self, id: &str) -> OrderResult<Order> {
            if id != "48152" {
                return Err(OrderError::NotFound(id.into()));
            }
            Ok(Order { id: id.into(), items: "kettle".into(), amount: 25.0, currency: "USD".into(), status: OrderStatus::Shipped, placed_on: "2026-11-01".into(), shipped_on: None, delivered_on: None, eta: None, carrier: Some("UPS".into()), tracking: None, address: "x".into(), refund_status: None })
        }
        fn change_address(&self, id: &str, _: &str) -> OrderResult<Order> {
            self.order(id)
        }
        fn cancel(&self, id: &str) -> OrderResult<Order> {
            self.order(id)
        }
        fn start_return(&self, id: &str) -> OrderResult<Order> {
            self.order(id)
        }
        fn request_invoice(&self, _: &str) -> OrderResult<()> {
            Ok(())
        }
        fn describe(&self) -> String {
            "one order".into()
        }
    }

    #[test]
    fn the_card_carries_reason_order_transcript_and_anger() {
        let entity: crate::nlu::entities::Entity = serde_json::from_value(json!({ "type": "order_number", "value": "48152", "text": "four eight one five two", "start": 0, "end": 5 })).unwrap();
        let ctx = HandoffContext {
            summary: "Angry caller wants a refund".into(),
            transcript: vec![Line { t_ms: 1000, speaker: "caller".into(), text: "My kettle broke.".into() }, Line { t_ms: 3000, speaker: "bot".into(), text: "Sorry to hear that.".into() }],
            intents: vec![IntentAt { t_ms: 1000, intent: "return_refund".into(), confidence: 0.9 }],
            entities: vec![entity],
            emotions: vec![EmotionAt { t_ms: 1000, label: "anger".into(), anger: 0.8 }],
            lang: "en".into(),
        };
        let events = vec![
            Event::new("c1", 5000, EventKind::Handoff { reason: "anger".into(), context: ctx }),
            Event::new("c1", 7000, EventKind::Transcript { is_final: true, text: "Hello?".into(), lang: "en".into(), start_ms: 6500, end_ms: 7000, queue_ms: 0, asr_ms: 0, speaker: "caller".into() }),
        ];
        let card = from_events(&events, "+15550100", "sip:x", 4000, &OneOrder).unwrap();
        assert_eq!(card["reason"], "anger");
        assert_eq!(card["order"]["number"], "48152");
        assert_eq!(card["order"]["status"], "shipped");
        assert_eq!(card["channel"], "phone");
        let lines: Vec<&str> = card["transcript"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
        assert_eq!(lines, ["My kettle broke.", "Sorry to hear that.", "Hello?"]);
        assert!((card["peak_anger"].as_f64().unwrap() - 0.8).abs() < 1e-6);
        assert!(from_events(&events[1..], "", "", 0, &OneOrder).is_none(), "no handoff, no card");
        assert_eq!(card["caller"], "+15550100");
        assert_eq!(display_caller("\"Ann\" <sip:+15550100@10.0.0.1:5060>;tag=x"), "+15550100");
        assert_eq!(display_caller("<sip:voicegate-dial@127.0.0.1:49666>"), "voicegate-dial");
        assert_eq!(display_caller("browser-cust"), "browser-cust");
    }
}
