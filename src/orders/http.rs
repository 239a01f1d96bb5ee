//! A shop's own order API over HTTP: `GET {base}/orders/{id}`, and `POST` to
//! `{base}/orders/{id}/address` (`{"address": ...}`), `/cancel`, `/return` and `/invoice`, each
//! answering the order as JSON. Where the shop's field names differ, `[orders.http.fields]`
//! maps ours to theirs (dotted paths reach into nested objects). A timeout, a refused
//! connection or an answer we cannot read is an `OrderError`, never a panic.

use std::time::Duration;

use serde_json::Value;

use crate::config::OrdersHttpConfig;
use crate::orders::{Order, OrderError, OrderResult, OrderService, OrderStatus};

pub struct HttpOrders {
    cfg: OrdersHttpConfig,
    agent: ureq::Agent,
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

impl HttpOrders {
    pub fn new(cfg: OrdersHttpConfig) -> Self {
        let t = Duration::from_millis(cfg.timeout_ms);
        let agent = ureq::AgentBuilder::new().timeout_connect(t).timeout(t).build();
        Self { cfg, agent }
    }

    fn url(&self, id: &str, action: &str) -> String {
        let base = self.cfg.base_url.trim_end_matches('/');
        let id: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        if action.is_empty() {
            format!("{base}/orders/{id}")
        } else {
            format!("{base}/orders/{id}/{action}")
        }
    }

    fn send(&self, id: &str, req: ureq::Request, body: Option<Value>) -> OrderResult<Value> {
        let req = if self.cfg.token.is_empty() { req } else { req.set("Authorization", &format!("Bearer {}", self.cfg.token)) };
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => {
                let text = r.into_string().map_err(|e| OrderError::Unavailable(e.to_string()))?;
                serde_json::from_str(&text).map_err(|e| OrderError::BadResponse(format!("not JSON ({e})")))
            }
            Err(ureq::Error::Status(404, _)) => Err(OrderError::NotFound(id.to_string())),
            Err(ureq::Error::Status(code, _)) => Err(OrderError::Unavailable(format!("HTTP {code}"))),
            Err(e) => Err(OrderError::Unavailable(e.to_string())),
        }
    }

    /// Reads an order out of the shop's JSON through the field mapping.
    pub fn parse(&self, v: &Value) -> OrderResult<Order> {
        let f = &self.cfg.fields;
        let text = |path: &str| at(v, path).and_then(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let need = |path: &str| text(path).ok_or_else(|| OrderError::BadResponse(format!("missing field `{path}`")));
        let status_text = need(&f.status)?;
        let status = OrderStatus::parse(&status_text)
            .ok_or_else(|| OrderError::BadResponse(format!("unknown status `{status_text}` in `{}`", f.status)))?;
        let amount = at(v, &f.amount)
            .and_then(|x| x.as_f64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
            .ok_or_else(|| OrderError::BadResponse(format!("missing or non-numeric `{}`", f.amount)))?;
        Ok(Order {
            id: need(&f.id)?,
            items: text(&f.items).unwrap_or_default(),
            amount,
            currency: text(&f.currency).unwrap_or_else(|| "USD".into()),
            status,
            placed_on: need(&f.placed_on)?,
            shipped_on: text(&f.shipped_on),
            delivered_on: text(&f.delivered_on),
            eta: text(&f.eta),
            carrier: text(&f.carrier),
            tracking: text(&f.tracking),
            address: text(&f.address).unwrap_or_default(),
            refund_status: text(&f.refund_status),
        })
    }

    fn post(&self, id: &str, action: &str, body: Value) -> OrderResult<Value> {
        self.send(id, self.agent.post(&self.url(id, action)), Some(body))
    }
}

impl OrderService for HttpOrders {
    fn order(&self, id: &str) -> OrderResult<Order> {
        let v = self.send(id, self.agent.get(&self.url(id, "")), None)?;
        self.parse(&v)
    }

    fn change_address(&self, id: &str, address: &str) -> OrderResult<Order> {
        let v = self.post(id, "address", serde_json::json!({ "address": address }))?;
        self.parse(&v)
    }

    fn cancel(&self, id: &str) -> OrderResult<Order> {
        let v = self.post(id, "cancel", serde_json::json!({}))?;
        self.parse(&v)
    }

    fn start_return(&self, id: &str) -> OrderResult<Order> {
        let v = self.post(id, "return", serde_json::json!({}))?;
        self.parse(&v)
    }

    fn request_invoice(&self, id: &str) -> OrderResult<()> {
        self.post(id, "invoice", serde_json::json!({})).map(|_| ())
    }

    fn describe(&self) -> String {
        format!("http {}", self.cfg.base_url)
    }
}
