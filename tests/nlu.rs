//! The shared NLU: intents in both languages (the hard cases among them), entities, emotion,
//! the CLI, the held-out benchmark, ASR transcripts of the fixtures, and reproducible training.

mod common;

use std::path::Path;

use common::*;
use voicegate::nlu::entities::EntityType;
use voicegate::nlu::{Nlu, INTENTS};

fn nlu() -> Nlu {
    Nlu::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nlu")).expect("NLU models load")
}

/// Two utterances per intent per language, written for these tests; hard cases marked.
const CASES: &[(&str, &str, &str)] = &[
    ("en", "track_order", "where's my package i ordered on tuesday"),
    ("en", "track_order", "status of order four eight one five two"), // number as words
    ("zh", "track_order", "我买的东西到哪儿了"),
    ("zh", "track_order", "查一下订单幺三五七九的物流"), // 幺 for one
    ("en", "delivery_time", "how long till it gets delivered"),
    ("en", "delivery_time", "when wil my order arive"), // typos
    ("zh", "delivery_time", "这个玩意儿啥时候能寄到我这儿?"), // colloquial
    ("zh", "delivery_time", "几天能到货"),
    ("en", "change_shipping_address", "i need to update the delivery address on my order"),
    ("en", "change_shipping_address", "please ship it to my work address instead"),
    ("zh", "change_shipping_address", "收货地址填错了帮我改一下"),
    ("zh", "change_shipping_address", "我想change一下收货地址"), // mixed
    ("en", "cancel_order", "i want to cancel order 55821"),
    ("en", "cancel_order", "please cancle my order"), // typo
    ("zh", "cancel_order", "帮我cancel这个订单"), // mixed
    ("zh", "cancel_order", "这单不要了取消掉吧"),
    ("en", "change_order", "can i change the size to a large"),
    ("en", "change_order", "i want to add another item to my order"),
    ("zh", "change_order", "帮我把尺码换成大一号"),
    ("zh", "change_order", "订单里再加一双"),
    ("en", "return_refund", "i want to return these shoes they don't fit"),
    ("en", "return_refund", "can i get a refnud for this"), // typo
    ("zh", "return_refund", "我要腿款"), // homophone of 退款
    ("zh", "return_refund", "能refund吗"), // mixed
    ("en", "track_refund", "i still haven't received my refund"),
    ("en", "track_refund", "what's the status of my refund"),
    ("zh", "track_refund", "退款什么时候到账"),
    ("zh", "track_refund", "我的退款怎么还没到"),
    ("en", "refund_policy", "what is your return policy"),
    ("en", "refund_policy", "how many days do i have to send something back"),
    ("zh", "refund_policy", "支持七天无理由退货吗"),
    ("zh", "refund_policy", "退货运费谁来出"),
    ("en", "price_adjustment", "it went on sale right after i bought it can i get the difference back"),
    ("en", "price_adjustment", "do you offer price protection"),
    ("zh", "price_adjustment", "买贵了能退差价不?"), // colloquial
    ("zh", "price_adjustment", "刚买就降价了能保价吗"),
    ("en", "payment_issue", "my card was charged twice"),
    ("en", "payment_issue", "can i pay with paypal"),
    ("zh", "payment_issue", "支付一直失败"),
    ("zh", "payment_issue", "可以用微信付款吗"),
    ("en", "invoice", "can you send me an invoice for my order"),
    ("en", "invoice", "i need a vat invoice for my company"),
    ("zh", "invoice", "帮我开一张发票"),
    ("zh", "invoice", "电子发票发到我邮箱"),
    ("en", "product_availability", "is the iphone 15 in stock"),
    ("en", "product_availability", "do you have aj1 in size nine"), // nickname
    ("zh", "product_availability", "AJ1有货么"), // nickname
    ("zh", "product_availability", "这款什么时候补货"),
    ("en", "product_info", "is the jacket waterproof"),
    ("en", "product_info", "what's the battery life of the airpods"),
    ("zh", "product_info", "这个耳机续航多久"),
    ("zh", "product_info", "这件衣服是什么材质"),
    ("en", "promotion", "are there any discount codes"),
    ("en", "promotion", "is there a black friday sale"),
    ("zh", "promotion", "现在有什么优惠活动"),
    ("zh", "promotion", "有没有优惠券"),
    ("en", "account_issue", "i forgot my password"),
    ("en", "account_issue", "i can't log into my account"),
    ("zh", "account_issue", "账号登录不了"),
    ("zh", "account_issue", "密码忘了怎么办"),
    ("en", "human_agent", "i want to talk to a real person"),
    ("en", "human_agent", "transfer me to an agent please"),
    ("zh", "human_agent", "转人工"),
    ("zh", "human_agent", "我要找人工客服"),
    ("en", "complaint", "i want to file a complaint about your delivery driver"),
    ("en", "complaint", "your customer service is terrible"),
    ("zh", "complaint", "我要投诉你们的快递员"),
    ("zh", "complaint", "你们服务太差了"),
    ("en", "greeting", "hello"),
    ("en", "greeting", "hi there good morning"),
    ("zh", "greeting", "你好"),
    ("zh", "greeting", "喂在吗"),
    ("en", "goodbye", "thanks bye"),
    ("en", "goodbye", "that's all thank you goodbye"),
    ("zh", "goodbye", "好的谢谢再见"),
    ("zh", "goodbye", "拜拜"),
    ("en", "affirm", "yes that's right"),
    ("en", "affirm", "yep"),
    ("zh", "affirm", "对的"),
    ("zh", "affirm", "是的没错"),
    ("en", "deny", "no that's wrong"),
    ("en", "deny", "nope"),
    ("zh", "deny", "不对"),
    ("zh", "deny", "不是这个"),
    ("en", "out_of_scope", "what's the weather going to be like tomorrow"),
    ("en", "out_of_scope", "tell me a joke"),
    ("zh", "out_of_scope", "明天天气怎么样"),
    ("zh", "out_of_scope", "给我讲个笑话"),
];

#[test]
fn every_intent_in_both_languages_with_the_hard_cases() {
    let nlu = nlu();
    for intent in INTENTS {
        for lang in ["en", "zh"] {
            assert!(CASES.iter().any(|(l, i, _)| *l == lang && i == intent), "no {lang} case for {intent}");
        }
    }
    let mut wrong = Vec::new();
    for (lang, intent, text) in CASES {
        let r = nlu.analyze(text, None).unwrap();
        assert_eq!(r.lang, *lang, "{text}");
        if r.intent != *intent {
            wrong.push(format!("[{lang}] {text}: wanted {intent}, got {} ({:.2})", r.intent, r.confidence));
        }
        assert_eq!(r.top.len(), 3);
        assert!(r.top.windows(2).all(|w| w[0].score >= w[1].score));
        assert!((0.0..=1.0).contains(&r.confidence));
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn out_of_scope_gets_low_confidence_in_scope() {
    let nlu = nlu();
    for text in ["how tall is the eiffel tower", "你喜欢什么颜色"] {
        let r = nlu.analyze(text, None).unwrap();
        assert_eq!(r.intent, "out_of_scope", "{text}: {r:?}");
    }
    // In-scope requests are answered with high confidence.
    let r = nlu.analyze("where is my order", None).unwrap();
    assert!(r.confidence > 0.8, "{r:?}");
}

#[test]
fn entities_from_speech_and_text() {
    let nlu = nlu();
    let find = |text: &str, kind: EntityType| {
        let r = nlu.analyze(text, None).unwrap();
        r.entities.into_iter().find(|e| e.kind == kind).map(|e| e.value).unwrap_or_default()
    };
    assert_eq!(find("my order is four eight one five two", EntityType::OrderNumber), "48152");
    assert_eq!(find("订单四八一五二到哪了", EntityType::OrderNumber), "48152");
    assert_eq!(find("单号幺二三四五", EntityType::OrderNumber), "12345");
    assert_eq!(find("call me on 138 1234 5678", EntityType::PhoneNumber), "13812345678");
    assert_eq!(find("i paid forty nine dollars", EntityType::Money), "49.00 USD");
    assert_eq!(find("便宜了两百块", EntityType::Money), "200.00 CNY");
    assert_eq!(find("AJ1有货么", EntityType::Product), "Air Jordan 1");
    assert_eq!(find("is the ps5 back in stock", EntityType::Product), "PlayStation 5");
}

#[test]
fn text_emotion_and_sentiment() {
    let nlu = nlu();
    let angry = nlu.analyze("this is ridiculous i'm so angry where is my refund", None).unwrap();
    assert_eq!(angry.emotion, "angry");
    assert!(angry.sentiment < -0.5, "{angry:?}");
    let happy = nlu.analyze("thank you so much that was really helpful", None).unwrap();
    assert_eq!(happy.emotion, "satisfied");
    assert!(happy.sentiment > 0.5, "{happy:?}");
    let worried = nlu.analyze("我好着急啊明天之前能到吗", None).unwrap();
    assert_eq!(worried.emotion, "anxious", "{worried:?}");
    let calm = nlu.analyze("what is your return policy", None).unwrap();
    assert_eq!(calm.emotion, "neutral");
    assert!(calm.sentiment.abs() < 0.3);
}

#[test]
fn empty_and_oversized_text_are_refused() {
    let nlu = nlu();
    assert!(nlu.analyze("   ", None).unwrap_err().to_string().contains("empty"));
    let big = "a".repeat(100 * 1024);
    assert!(nlu.analyze(&big, None).unwrap_err().to_string().contains("too long"));
}

#[test]
fn cli_prints_the_same_object_as_the_api() {
    let out = run(&["nlu", "帮我查一下订单四八一五二", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["intent"], "track_order");
    assert_eq!(v["lang"], "zh");
    assert_eq!(v["entities"][0]["type"], "order_number");
    assert_eq!(v["entities"][0]["value"], "48152");
    for key in ["confidence", "top", "emotion", "sentiment"] {
        assert!(!v[key].is_null(), "{key} missing: {v}");
    }
    let empty = run(&["nlu", ""]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(stderr(&empty).contains("empty text"));
}

#[test]
fn held_out_test_set_meets_the_accuracy_target() {
    let out = run(&["bench", "nlu", "tests/data/nlu_test.tsv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = bench_summary(&out);
    assert_eq!(s["bench"], "nlu");
    assert_eq!(s["n"], 222);
    assert!(s["intent_acc"].as_f64().unwrap() >= 0.93, "{s}");
    assert!(s["macro_f1"].as_f64().unwrap() >= 0.90, "{s}");
    for key in ["emotion_acc", "p50_ms", "p99_ms"] {
        assert!(s[key].is_number(), "{key}: {s}");
    }
    // The per-intent table lists every intent.
    let table = stdout(&out);
    for intent in INTENTS {
        assert!(table.contains(intent), "{intent} missing from the table");
    }
}

#[test]
fn bench_refuses_a_file_without_the_header() {
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), "where is my order\ttrack_order\n").unwrap();
    let out = run(&["bench", "nlu", t.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("header"), "{}", stderr(&out));
}

/// What Whisper heard on the English fixtures, through the pipeline's NLU stage.
#[test]
fn asr_transcripts_of_the_fixtures_get_their_intents() {
    let fixtures: Vec<_> = manifest()
        .fixture
        .into_iter()
        .filter(|f| f.lang.as_deref() == Some("en") && f.intent.is_some())
        .collect();
    assert!(fixtures.len() >= 8);
    let mut right = 0;
    let mut report = Vec::new();
    for f in &fixtures {
        let (out, events) = replay_events(&fixture(&f.file), &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let intents = of_type(&events, "intent");
        let got = intents.first().map(|e| e["intent"].as_str().unwrap_or_default().to_string()).unwrap_or_default();
        if Some(&got) == f.intent.as_ref() {
            right += 1;
        }
        report.push(format!("{}: {got} (wanted {:?}) <- {}", f.file, f.intent, transcript(&events)));
        // Every final transcript is followed by its intent, its text emotion and the fused one.
        assert_eq!(intents.len(), finals(&events).len(), "{}", f.file);
        let emotions = |source: &str| of_type(&events, "emotion").into_iter().filter(|e| e["source"] == source).count();
        assert_eq!((emotions("text"), emotions("fused")), (intents.len(), intents.len()), "{}", f.file);
    }
    let acc = right as f64 / fixtures.len() as f64;
    assert!(acc >= 0.9, "{acc}\n{}", report.join("\n"));
}

#[test]
fn training_reproduces_the_shipped_models() {
    let t = tempfile::tempdir().unwrap();
    let out = run(&["train", "nlu", "--out", t.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(report["bitext_examples"].as_u64() > Some(3000), "{report}");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nlu");
    let mut total = 0;
    for f in ["intent.vgm", "emotion.vgm"] {
        let a = std::fs::read(t.path().join(f)).unwrap();
        let b = std::fs::read(shipped.join(f)).unwrap();
        total += a.len();
        assert!(a == b, "{f} differs from the shipped model: run `voicegate train nlu`");
    }
    assert!(total < 20 * 1024 * 1024, "models are {total} bytes");
}
