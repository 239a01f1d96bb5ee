//! Masking the personal data in a JSON document the API is about to answer with: every
//! string value is masked (`text::mask`), except those under keys that hold ids, times, codes
//! and paths, which are never personal data and which masking could garble (a call id's
//! digits read as a phone number).

use serde_json::Value;

/// Keys whose strings are kept as they are (objects and arrays under them are still masked).
const KEPT: &[&str] = &[
    "id", "call", "call_id", "caller_key", "ticket", "type", "recording", "started_at", "ended_at", "at", "created_at", "since", "lang", "speaker", "reason", "end_reason", "intent", "label", "state", "agent", "disposition", "source_kind", "status", "kind", "currency", "placed_on", "shipped_on", "delivered_on", "eta",
];

/// Masks the personal data in `v`, in place.
pub fn mask_json(v: &mut Value) {
    match v {
        Value::String(s) => {
            // A SIP or tel address (a caller): its user part; any other text: all of it.
            let masked = if ["sip:", "sips:", "tel:"].iter().any(|p| s.contains(p)) { mask_uri_users(s) } else { super::mask(s) };
            if masked != *s {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if !(item.is_string() && KEPT.contains(&k.as_str())) {
                    mask_json(item);
                }
            }
        }
        _ => {}
    }
}

/// The user part of each `sip:`, `sips:` or `tel:` address in `s` masked on its own (a caller's
/// number in a From header, which the text rules leave alone next to `@`), the text around the
/// addresses masked as text, and a display name before `<` hidden.
fn mask_uri_users(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((at, scheme)) = ["sip:", "sips:", "tel:"].iter().filter_map(|p| rest.find(p).map(|i| (i, p.len()))).min() {
        let before = &rest[..at];
        match before.rfind('<') {
            // `"Zhang Wei" <sip:...>`: the name is personal data the text rules do not see.
            Some(lt) if !before[..lt].trim().is_empty() => out.push_str("*** <"),
            _ => out.push_str(&super::mask(before)),
        }
        out.push_str(&rest[at..at + scheme]);
        rest = &rest[at + scheme..];
        let end = rest.find(['@', ';', '>', ' ', '"']).unwrap_or(rest.len());
        out.push_str(&super::mask(&rest[..end]));
        rest = &rest[end..];
    }
    out.push_str(&super::mask(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_masked_and_ids_and_order_numbers_are_not() {
        let mut v = json!({
            "call": { "id": "c1796076172-7c0c8", "caller": "<sip:13812345678@10.0.0.1>", "recording": "var/recordings/c1796076172-7c0c8.wav" },
            "events": [
                { "type": "transcript", "speaker": "caller", "text": "my number is 13812345678 and my order is 48152" },
                { "type": "transcript", "speaker": "caller", "text": "我叫张伟，住在北京市朝阳区建国路88号" },
                { "type": "intent", "intent": "track_order", "entities": [{ "type": "order_number", "value": "48152" }] }
            ]
        });
        mask_json(&mut v);
        assert_eq!(v["call"]["id"], "c1796076172-7c0c8");
        assert_eq!(v["call"]["recording"], "var/recordings/c1796076172-7c0c8.wav");
        assert_eq!(v["call"]["caller"], "<sip:138****5678@10.0.0.1>");
        let mut named = json!({ "caller": "\"Zhang Wei\" <sip:13812345678@pbx>", "notes": "rang tel:13812345678, mail ann.lee@example.com" });
        mask_json(&mut named);
        assert_eq!(named["caller"], "*** <sip:138****5678@pbx>");
        assert!(!named["notes"].as_str().unwrap().contains("ann.lee@"), "{named}");
        assert_eq!(v["events"][0]["text"], "my number is 138****5678 and my order is 48152");
        assert_eq!(v["events"][1]["text"], "我叫张*，住在北京市朝阳区****");
        assert_eq!(v["events"][2]["entities"][0]["value"], "48152");
    }
}
