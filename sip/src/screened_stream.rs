//! The screen for SIP over TCP: rsipstack frames and parses stream messages itself (its codec
//! cannot be wrapped), so what a stream request can still be refused for (version, scheme,
//! CSeq, missing headers, Require) is checked on the parsed message, as a transport
//! inspector that answers and swallows it. A message the codec cannot frame closes the
//! connection, which is what RFC 4475 asks of stream transports.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request, Response, SipMessage, StatusCode, Version};
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transport::TransportEvent;
use tracing::debug;

use crate::screen::{self, Policy, Rejection};
use crate::server::ServerStats;

pub struct StreamScreen {
    policy: Policy,
    stats: Arc<Mutex<ServerStats>>,
}

impl StreamScreen {
    pub fn new(policy: Policy, stats: Arc<Mutex<ServerStats>>) -> Self {
        Self { policy, stats }
    }

    async fn inspect(&self, event: TransportEvent) -> Option<TransportEvent> {
        // UDP datagrams were screened whole before the stack parsed them.
        let TransportEvent::Incoming(SipMessage::Request(req), conn, from) = &event else {
            return Some(event);
        };
        if !conn.is_reliable() {
            return Some(event);
        }
        // Nothing to refuse it for: the stack serves it.
        let Some(rejection) = screen::screen_request(req, &self.policy) else {
            return Some(event);
        };
        let ack = req.method == Method::Ack;
        {
            let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
            *(if ack {
                &mut stats.malformed_dropped
            } else {
                &mut stats.malformed_answered
            }) += 1;
        }
        if ack {
            return None;
        }
        if let Err(e) = conn
            .send(response(req, &rejection).into(), Some(from))
            .await
        {
            debug!(error = %e, "answer to a malformed request not sent");
        }
        None
    }
}

/// A stateless response to a parsed request (RFC 3261 §8.2.6): its Via, From, To (tagged),
/// Call-ID and CSeq, the rejection's headers, always `SIP/2.0`.
pub fn response(req: &Request, r: &Rejection) -> Response {
    let mut headers: Vec<Header> = req
        .headers
        .iter()
        .filter(|h| {
            matches!(
                h,
                Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_)
            )
        })
        .cloned()
        .collect();
    if let Ok(to) = req.to_header() {
        let tagged = match to.tag() {
            Ok(None) => to.with_tag(rsipstack::transaction::make_tag()),
            _ => to.clone(),
        };
        headers.push(tagged.into());
    }
    headers.extend(
        r.headers
            .iter()
            .map(|(n, v)| Header::Other(n.to_string(), v.clone())),
    );
    headers.push(Header::ContentLength(0u32.into()));
    Response {
        status_code: StatusCode::from(r.code),
        wire_reason: None,
        version: Version::V2,
        headers: headers.into(),
        body: vec![],
    }
}

// rsipstack declares the trait with `#[async_trait]`; this is its expansion.
impl TransportEventInspector for StreamScreen {
    fn handle<'life0, 'async_trait>(
        &'life0 self,
        event: TransportEvent,
    ) -> Pin<Box<dyn Future<Output = Option<TransportEvent>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.inspect(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_response_copies_the_request_and_tags_the_to() {
        let raw = "OPTIONS sip:bot@example.com SIP/7.0\r\nVia: SIP/2.0/TCP c.example.com;branch=z9hG4bK-1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bot@example.com>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let SipMessage::Request(req) = SipMessage::try_from(raw).unwrap() else {
            unreachable!()
        };
        let r = screen::screen_request(&req, &Policy::standard()).unwrap();
        let text = response(&req, &r).to_string();
        assert!(text.starts_with("SIP/2.0 505 "), "{text}");
        assert!(text.contains("Via: SIP/2.0/TCP c.example.com;branch=z9hG4bK-1\r\n"));
        assert!(text.contains("To: <sip:bot@example.com>;tag="));
        assert!(text.contains("Warning: 399 voicegate"));
    }
}
