//! The e-commerce dialog: scripted conversations in English and Chinese through /v1/chat
//! (the demo SQLite store, and a shop's order API that the test serves), and in English
//! through `voicegate replay` on audio.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

/// A gateway on a fresh demo store of its own.
fn gateway(dir: &Path, extra_toml: &str) -> (Gateway, PathBuf, PathBuf) {
    let db = dir.join("shop.sqlite");
    let config = dir.join("shop.toml");
    std::fs::write(&config, format!("[store]\npath = {:?}\n{extra_toml}", db.to_string_lossy())).expect("config");
    let g = start_with(&["--config", config.to_str().unwrap_or_default()]);
    (g, db, config)
}

fn say(g: &Gateway, session: &str, text: &str) -> Value {
    let body = ureq::post(&format!("{}/v1/chat", g.base)).set("Authorization", &g.bearer())
        .send_json(json!({ "session_id": session, "text": text }))
        .unwrap_or_else(|e| panic!("chat {text:?}: {e}"))
        .into_string()
        .expect("body");
    serde_json::from_str(&body).expect("JSON")
}

fn reply(v: &Value) -> String {
    v["reply"].as_str().unwrap_or_default().to_string()
}

fn actions(v: &Value) -> Vec<(String, bool, String)> {
    v["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| (x["name"].as_str().unwrap_or("").into(), x["ok"] == true, x["detail"].as_str().unwrap_or("").into()))
                .collect()
        })
        .unwrap_or_default()
}

fn column(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).expect("store opens");
    conn.query_row(sql, [], |r| r.get::<_, Option<String>>(0)).expect("query").unwrap_or_default()
}

#[test]
fn english_chat_does_the_shops_business() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (g, db, _) = gateway(dir.path(), "");

    // Order status of a real order in the demo store.
    let v = say(&g, "status", "Where is my order 48152?");
    assert!(reply(&v).contains("4 8 1 5 2") && reply(&v).contains("SF Express"), "{v}");
    assert_eq!(actions(&v), [("lookup_order".into(), true, "shipped".into())]);
    assert_eq!(v["progress"], "resolved");

    // An address change: the order number asked for, the new address read back, confirmed,
    // and kept in SQLite.
    let s = "address";
    assert!(reply(&say(&g, s, "I want to change my shipping address.")).contains("order number"));
    assert!(reply(&say(&g, s, "It's order 10001.")).contains("new address"));
    let v = say(&g, s, "5 Main Street, Springfield");
    assert!(reply(&v).contains("5 Main Street") && reply(&v).ends_with('?'), "{v}");
    assert_eq!(column(&db, "SELECT address FROM orders WHERE id = '10001'"), "8 Lake Road, Springfield", "not before yes");
    let v = say(&g, s, "Yes, please.");
    assert!(reply(&v).starts_with("Done"), "{v}");
    assert_eq!(actions(&v), [("change_address".into(), true, "5 Main Street, Springfield".into())]);
    assert_eq!(column(&db, "SELECT address FROM orders WHERE id = '10001'"), "5 Main Street, Springfield");

    // A cancellation refused for a shipped order.
    let v = say(&g, "cancel", "Please cancel order 48152.");
    assert!(reply(&v).contains("already shipped"), "{v}");
    assert!(actions(&v).contains(&("cancel_order".into(), false, "already_shipped".into())), "{v}");
    assert_eq!(column(&db, "SELECT status FROM orders WHERE id = '48152'"), "shipped");

    // A return started, within seven days of delivery.
    let s = "return";
    let v = say(&g, s, "I want to return order 20002.");
    assert!(reply(&v).contains("Shall I start the return"), "{v}");
    let v = say(&g, s, "Yes.");
    assert!(actions(&v).contains(&("start_return".into(), true, "return_started".into())), "{v}");
    assert!(column(&db, "SELECT refund_status FROM orders WHERE id = '20002'").contains("return started"));
    // ...and refused after it.
    let v = say(&g, "late", "I would like to return order 30003.");
    assert!(actions(&v).contains(&("start_return".into(), false, "return_window_over".into())), "{v}");

    // A topic switch in the middle of a task, and back.
    let s = "switch";
    say(&g, s, "I need to change the delivery address of order 10001.");
    let v = say(&g, s, "Actually, what is your return policy?");
    assert_eq!(v["kb"], "return_policy", "{v}");
    assert!(reply(&v).contains("seven days") && reply(&v).contains("back to the address change"), "{v}");
    let v = say(&g, s, "8 Oak Road");
    assert!(reply(&v).contains("8 Oak Road") && reply(&v).ends_with('?'), "{v}");

    // A question from the knowledge base, and one it cannot answer, recorded as a gap.
    let v = say(&g, "kb", "How long is the warranty?");
    assert_eq!(v["kb"], "warranty", "{v}");
    // Two callers ask it (one caller asking twice would be handed off as not understood).
    for session in ["gap1", "gap2"] {
        let v = say(&g, session, "Can you recommend a good restaurant nearby?");
        assert!(v["kb"].is_null() && reply(&v).contains("don't know"), "{v}");
    }
    let out = run(&["kb", "gaps", "--json", "--config", dir.path().join("shop.toml").to_str().unwrap_or_default()]);
    let first: Value = serde_json::from_str(stdout(&out).lines().next().expect("a gap")).expect("JSON");
    assert_eq!((first["question"].as_str(), first["asked"].as_i64()), (Some("Can you recommend a good restaurant nearby?"), Some(2)));

    // An unknown order number: a spoken answer and the failed lookup, no crash.
    let v = say(&g, "unknown", "Where is order 99999?");
    assert!(reply(&v).contains("couldn't find"), "{v}");
    assert_eq!(actions(&v), [("lookup_order".into(), false, "not_found".into())]);

    // A complaint goes to a person.
    let v = say(&g, "complaint", "I want to file a complaint about your service.");
    assert_eq!(v["handoff"]["reason"], "high_risk", "{v}");
    assert!(v["handoff"]["context"]["summary"].as_str().is_some_and(|s| !s.is_empty()));
}

#[test]
fn chinese_chat_does_the_same_in_chinese() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (g, db, _) = gateway(dir.path(), "");
    let v = say(&g, "zh1", "我的订单48152到哪了？");
    assert_eq!(v["lang"], "zh");
    assert!(reply(&v).contains("订单48152") && reply(&v).contains("发出"), "{v}");

    let s = "zh2";
    let v = say(&g, s, "我要退货，订单号是20002");
    assert!(reply(&v).contains("退货"), "{v}");
    let v = say(&g, s, "好的");
    assert!(actions(&v).contains(&("start_return".into(), true, "return_started".into())), "{v}");
    assert!(column(&db, "SELECT refund_status FROM orders WHERE id = '20002'").contains("return started"));

    let s = "zh3";
    assert!(reply(&say(&g, s, "我想改一下收货地址")).contains("订单号"));
    let v = say(&g, s, "订单号66666");
    assert!(reply(&v).contains("新地址"), "{v}");
    let v = say(&g, s, "北京市朝阳区建国路88号");
    assert!(reply(&v).contains("建国路88号"), "{v}");
    say(&g, s, "确认");
    assert_eq!(column(&db, "SELECT address FROM orders WHERE id = '66666'"), "北京市朝阳区建国路88号");

    // A side question in the middle of an address change is answered, and the change goes on.
    let s = "zh6";
    let v = say(&g, s, "我想改一下订单10001的收货地址");
    assert!(reply(&v).contains("新地址"), "{v}");
    let v = say(&g, s, "对了，退款一般多久到账？");
    assert!(reply(&v).contains("工作日") && reply(&v).contains("新地址"), "answered, then back to the address: {v}");
    let v = say(&g, s, "新地址是北京市海淀区中关村大街1号");
    assert!(reply(&v).contains("中关村大街1号"), "{v}");
    say(&g, s, "确认");
    assert_eq!(column(&db, "SELECT address FROM orders WHERE id = '10001'"), "北京市海淀区中关村大街1号");

    let v = say(&g, "zh4", "退货政策是什么？");
    assert_eq!(v["kb"], "return_policy", "{v}");
    assert!(reply(&v).contains("七天"));
    let v = say(&g, "zh5", "我要投诉你们的服务");
    assert_eq!(v["handoff"]["reason"], "high_risk", "{v}");
}

/// A shop's order API, served by the test: its own field names, a malformed answer and one
/// that never comes in time.
fn shop_api() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                let body = match path.as_str() {
                    "/orders/77777" => json!({"data": {"no": "77777", "state": "in_transit", "total": "59.90", "created": "2026-11-18",
                        "eta_date": "2026-11-24", "courier": "YTO Express", "ship_to": "9 Bay Street"}}).to_string(),
                    "/orders/88888" => "<html>gateway error</html>".to_string(),
                    "/orders/99999" => {
                        std::thread::sleep(std::time::Duration::from_secs(3));
                        "{}".to_string()
                    }
                    _ => {
                        let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                        return;
                    }
                };
                let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_shops_order_api_is_read_through_the_field_mapping_and_its_failures_are_spoken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = format!(
        "[orders]\nbackend = \"http\"\n[orders.http]\nbase_url = {:?}\ntimeout_ms = 800\n[orders.http.fields]\nid = \"data.no\"\nstatus = \"data.state\"\n\
         amount = \"data.total\"\nplaced_on = \"data.created\"\neta = \"data.eta_date\"\ncarrier = \"data.courier\"\naddress = \"data.ship_to\"\n",
        shop_api()
    );
    let (g, _, _) = gateway(dir.path(), &api);
    let v = say(&g, "a", "Where is my order 77777?");
    assert!(reply(&v).contains("YTO Express") && reply(&v).contains("November 24"), "{v}");
    let v = say(&g, "b", "Where is my order 88888?");
    assert!(reply(&v).contains("can't reach our order system"), "{v}");
    assert_eq!(actions(&v), [("lookup_order".into(), false, "bad_response".into())]);
    let v = say(&g, "c", "Where is my order 99999?");
    assert!(reply(&v).contains("can't reach our order system"), "{v}");
    assert_eq!(actions(&v), [("lookup_order".into(), false, "unavailable".into())]);
    let v = say(&g, "d", "Where is my order 12345?");
    assert_eq!(actions(&v), [("lookup_order".into(), false, "not_found".into())]);
    // The gateway is still fine.
    assert!(ureq::get(&format!("{}/health", g.base)).call().is_ok());
}

#[test]
fn bad_chat_requests_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (g, _, _) = gateway(dir.path(), "");
    for (body, why) in [
        ("not json", "JSON"),
        (r#"{"session_id": "", "text": "hi"}"#, "session_id"),
        (r#"{"session_id": "x", "text": "  "}"#, "empty"),
        (r#"{"session_id": "x", "text": "hi", "lang": "fr"}"#, "lang"),
    ] {
        match ureq::post(&format!("{}/v1/chat", g.base)).set("Authorization", &g.bearer()).send_string(body) {
            Err(ureq::Error::Status(400, r)) => {
                let text = r.into_string().unwrap_or_default();
                assert!(text.contains(why), "{body}: {text}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// By voice: the address change of a demo order, spoken, persisted in the store.
#[test]
fn a_spoken_address_change_is_confirmed_and_persisted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shop.sqlite");
    let config = dir.path().join("shop.toml");
    std::fs::write(&config, format!("[store]\npath = {:?}\n", db.to_string_lossy())).expect("config");
    let (out, events) = replay_events(&fixture("conv_en_shop_address.wav"), &["--config", config.to_str().unwrap_or_default()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let replies: Vec<&str> = of_type(&events, "bot_reply").iter().filter_map(|r| r["text"].as_str()).collect();
    let done = of_type(&events, "bot_reply")
        .into_iter()
        .find(|r| r["actions"].as_array().is_some_and(|a| a.iter().any(|x| x["name"] == "change_address" && x["ok"] == true)));
    assert!(done.is_some(), "replies: {replies:#?}\ntranscripts: {}", transcript(&events));
    let address = column(&db, "SELECT address FROM orders WHERE id = '10001'");
    assert!(address.to_lowercase().contains("main street"), "{address}");

    // A QA replay that only listens runs the same dialog but changes nothing in the shop.
    let fresh = dir.path().join("qa.sqlite");
    std::fs::write(&config, format!("[store]\npath = {:?}\n", fresh.to_string_lossy())).expect("config");
    let (out, _) = replay_events(&fixture("conv_en_shop_address.wav"), &["--listen-only", "--config", config.to_str().unwrap_or_default()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(column(&fresh, "SELECT address FROM orders WHERE id = '10001'"), "8 Lake Road, Springfield");
}

/// An order number typed on the keypad (in-band DTMF) while the bot asks for it: the order's
/// status is looked up and spoken; the 0 in it is a digit, not a request for a person.
#[test]
fn an_order_number_typed_on_the_keypad_is_looked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("shop.toml");
    std::fs::write(&config, format!("[store]\npath = {:?}\n", dir.path().join("s.sqlite").to_string_lossy())).expect("config");
    let (out, events) = replay_events(&fixture("en_dtmf_order.wav"), &["--config", config.to_str().unwrap_or_default()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let keys: String = of_type(&events, "dtmf").iter().filter_map(|e| e["digit"].as_str()).collect();
    assert_eq!(keys, "48152#");
    let looked_up = of_type(&events, "bot_reply").into_iter().find(|r| {
        r["actions"].as_array().is_some_and(|a| a.iter().any(|x| x["name"] == "lookup_order" && x["order"] == "48152" && x["ok"] == true))
    });
    let text = looked_up.and_then(|r| r["text"].as_str()).unwrap_or_default();
    assert!(text.contains("SF Express"), "{text:?}");
    assert!(of_type(&events, "handoff").is_empty());
}

fn chat_post(g: &Gateway, body: Value) -> (u16, Value) {
    match ureq::post(&format!("{}/v1/chat", g.base)).set("Authorization", &g.bearer()).send_json(body) {
        Ok(r) => (r.status(), serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => (code, json!({ "error": r.into_string().unwrap_or_default() })),
        Err(e) => panic!("chat: {e}"),
    }
}

#[test]
fn chats_are_kept_beside_calls_with_their_rating_and_count_for_first_contact_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (g, _, _) = gateway(dir.path(), "");
    // A customer asks about an order, rates the chat and closes it.
    let (code, v) = chat_post(&g, json!({ "session_id": "web-1", "customer": "cust-7", "text": "Where is my order 48152?" }));
    assert_eq!(code, 200, "{v}");
    let first = v["call_id"].as_str().expect("the chat's call id").to_string();
    assert!(reply(&v).contains("4 8 1 5 2"), "{v}");
    let (code, v) = chat_post(&g, json!({ "session_id": "web-1", "rating": 5, "end": true }));
    assert_eq!((code, v["rated"].as_bool(), v["ended"].as_bool()), (200, Some(true), Some(true)), "{v}");
    // Its record: the customer's words, the bot's answer, the rating, the end.
    let one = get_json(&format!("{}/v1/calls/{first}", g.base));
    assert_eq!(one["call"]["source"], "chat:web-1", "{one}");
    let events = one["events"].as_array().unwrap();
    assert!(of_type(events, "transcript").iter().any(|e| e["speaker"] == "caller" && e["text"] == "Where is my order 48152?"), "{one}");
    assert!(of_type(events, "bot_reply").iter().any(|e| e["text"].as_str().unwrap_or("").contains("4 8 1 5 2")), "{one}");
    assert_eq!(of_type(events, "intent")[0]["intent"], "track_order", "{one}");
    assert_eq!(of_type(events, "survey")[0]["score"], 5, "{one}");
    assert_eq!(of_type(events, "call_ended")[0]["reason"], "chat_ended", "{one}");
    // In the QA console's list, on the chat channel, found by its words, with its rating.
    let list = get_json(&format!("{}/v1/qa/calls?channel=chat&q=order", g.base));
    let rows = list["calls"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!((rows[0]["id"].as_str(), rows[0]["channel"].as_str(), rows[0]["csat"].as_i64()), (Some(first.as_str()), Some("chat"), Some(5)), "{list}");
    assert_eq!(rows[0]["caller"], "cust-7", "{list}");
    // The same customer asks again a moment later: the first chat did not resolve it.
    let (_, v) = chat_post(&g, json!({ "session_id": "web-2", "customer": "cust-7", "text": "Where is my order 48152?" }));
    let second = v["call_id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    chat_post(&g, json!({ "session_id": "web-2", "end": true }));
    let a = get_json(&format!("{}/v1/analytics?channel=chat", g.base));
    assert_eq!(a["totals"]["calls"], 2, "{a}");
    assert_eq!(a["totals"]["fcr"].as_f64(), Some(0.5), "{a}");
    assert_eq!(a["totals"]["surveys"], 1, "{a}");
    // A rating or an end of no open session, a rating out of range.
    assert_eq!(chat_post(&g, json!({ "session_id": "web-1", "rating": 4 })).0, 404);
    let (code, v) = chat_post(&g, json!({ "session_id": "web-3", "text": "hi", "rating": 9 }));
    assert_eq!(code, 400);
    assert!(v["error"].as_str().unwrap_or("").contains("rating"), "{v}");
    assert_eq!(chat_post(&g, json!({ "session_id": "web-3" })).0, 400);
}
