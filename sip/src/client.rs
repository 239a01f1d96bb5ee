//! A small SIP caller on rsipstack (the user agent client behind `voicegate dial` and
//! `voicegate bench calls`): INVITE with our offer, digest credentials when challenged, the
//! answer's media started, BYE from either side.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::StatusCode;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::EndpointBuilder;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::media::{self, MediaParams, MediaSession};
use crate::sdp::{self, AudioOffer};

/// One process's SIP caller; many calls can share it.
pub struct SipClient {
    layer: Arc<DialogLayer>,
    local: SocketAddr,
    state_tx: rsipstack::dialog::dialog::DialogStateSender,
    ended: Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>,
    cancel: CancellationToken,
}

/// Why a call we placed was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// A final answer other than 2xx (486 Busy Here, 603 Decline, ...).
    Refused(u16, String),
    /// We withdrew it while it rang.
    Cancelled,
    /// No answer, a transport error, an answer we cannot use.
    Failed(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused(_, m) | CallError::Failed(m) => f.write_str(m),
            CallError::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// A call we placed, answered.
pub struct OutgoingCall {
    pub media: MediaSession,
    pub codec: u8,
    dialog: InviteDialog,
    /// Fires with a reason when the far end hangs up.
    pub ended: oneshot::Receiver<String>,
}

impl OutgoingCall {
    pub async fn hangup(&self) {
        let _ = self.dialog.hangup().await;
        self.media.cancel.cancel();
    }

    /// The media, the codec, what hangs the call up, and the far end's hang-up.
    pub fn into_parts(self) -> (MediaSession, u8, CallHangup, oneshot::Receiver<String>) {
        let hangup = CallHangup { dialog: self.dialog, cancel: self.media.cancel.clone() };
        (self.media, self.codec, hangup, self.ended)
    }
}

/// A call answered, its media not started (`SipClient::signal`).
pub struct AnsweredCall {
    pub codec: u8,
    pub telephone_event: Option<u8>,
    /// Where the far end's RTP goes to (and, symmetric, comes from).
    pub remote: SocketAddr,
    pub hangup: CallHangup,
    /// Fires with a reason when the far end hangs up.
    pub ended: oneshot::Receiver<String>,
}

/// Hangs up a call we placed (a BYE) and stops its media.
pub struct CallHangup {
    dialog: InviteDialog,
    cancel: CancellationToken,
}

impl CallHangup {
    pub async fn hangup(&self) {
        let _ = self.dialog.hangup().await;
        self.cancel.cancel();
    }
}

impl Drop for SipClient {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl SipClient {
    /// A UDP user agent on `bind` (port 0: any).
    pub async fn new(bind: SocketAddr) -> Result<Self, String> {
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let udp = UdpConnection::create_connection(bind, None, Some(cancel.child_token())).await.map_err(|e| format!("cannot bind SIP {bind}: {e}"))?;
        let local = udp.get_addr().get_socketaddr().map_err(|e| e.to_string())?;
        transport.add_transport(udp.into());
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent(concat!("voicegate-dial/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut incoming = endpoint.incoming_transactions().map_err(|e| e.to_string())?;
        let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, mut state_rx) = layer.new_dialog_state_channel();
        let ep = endpoint.inner.clone();
        tokio::spawn(async move {
            let _ = ep.serve().await;
        });
        // In-dialog requests from the far end (its BYE).
        let l2 = layer.clone();
        tokio::spawn(async move {
            while let Some(mut tx) = incoming.recv().await {
                match l2.match_dialog(&tx) {
                    Some(mut d) => {
                        tokio::spawn(async move {
                            let _ = d.handle(&mut tx).await;
                        });
                    }
                    None => {
                        let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                    }
                }
            }
        });
        let ended: Arc<Mutex<HashMap<String, oneshot::Sender<String>>>> = Arc::default();
        let e2 = ended.clone();
        tokio::spawn(async move {
            while let Some(state) = state_rx.recv().await {
                if let DialogState::Terminated(id, reason) = state {
                    let call_id = id.call_id.clone();
                    if let Some(tx) = e2.lock().unwrap_or_else(|p| p.into_inner()).remove(&call_id) {
                        let _ = tx.send(format!("{reason:?}"));
                    }
                }
            }
        });
        Ok(Self { layer, local, state_tx, ended, cancel })
    }

    /// Calls `target` (a `sip:` URI); returns once answered, with its media running.
    pub async fn call(&self, target: &str, credential: Option<(String, String)>, rtp_ports: (u16, u16), jitter_depth: usize) -> Result<OutgoingCall, String> {
        self.call_as("voicegate-dial", target, credential, rtp_ports, jitter_depth, &CancellationToken::new()).await.map_err(|e| e.to_string())
    }

    /// Calls `target` as `user`; returns once answered, with its media running. `cancel`
    /// withdraws the INVITE while it rings (a CANCEL; a 2xx that crosses it is ended with a BYE).
    pub async fn call_as(&self, user: &str, target: &str, credential: Option<(String, String)>, rtp_ports: (u16, u16), jitter_depth: usize, cancel: &CancellationToken) -> Result<OutgoingCall, CallError> {
        let failed = CallError::Failed;
        let ip = self.media_ip();
        let (rtp, rtcp) = media::bind_pair(ip, rtp_ports).await.map_err(|e| failed(e.to_string()))?;
        let port = rtp.local_addr().map_err(|e| failed(e.to_string()))?.port();
        let answered = self.signal(user, target, credential, SocketAddr::new(ip, port), cancel).await?;
        // The far end of a call keeps sending (silence too) while the call is up: ten seconds
        // of nothing means it is gone.
        let params = MediaParams { codec: answered.codec, telephone_event: answered.telephone_event, remote: answered.remote, send: true, jitter_depth, timeout: Some(std::time::Duration::from_secs(10)), srtp: None, deliver_slots: 1 };
        let session = media::start(rtp, rtcp, params, answered.hangup.cancel.clone()).map_err(failed)?;
        let AnsweredCall { codec, hangup, ended, .. } = answered;
        Ok(OutgoingCall { media: session, codec, dialog: hangup.dialog, ended })
    }

    /// Where our media sockets go: the SIP socket's address, or loopback when it listens on
    /// every address.
    pub fn media_ip(&self) -> IpAddr {
        if self.local.ip().is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.local.ip()
        }
    }

    /// Calls `target` as `user`, offering RTP at `rtp` (a socket the caller runs itself, which
    /// may carry other calls too: a load generator's); returns once answered, with where the
    /// far end's RTP comes from and goes to. No media runs.
    pub async fn signal(&self, user: &str, target: &str, credential: Option<(String, String)>, rtp: SocketAddr, cancel: &CancellationToken) -> Result<AnsweredCall, CallError> {
        let failed = CallError::Failed;
        let ip = rtp.ip();
        let offer = sdp::offer(&ip.to_string(), rtp.port(), crate::random_u64() >> 1);
        let callee: rsipstack::sip::Uri = target.try_into().map_err(|e| failed(format!("{target} is not a SIP URI: {e:?}")))?;
        let me = SocketAddr::new(ip, self.local.port());
        let caller: rsipstack::sip::Uri = format!("sip:{user}@{me}").as_str().try_into().map_err(|e| failed(format!("{e:?}")))?;
        let opt = InviteOption {
            caller: caller.clone(),
            callee,
            contact: caller,
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            credential: credential.map(|(username, password)| Credential { username, password, realm: None, auth_username: None }),
            ..Default::default()
        };
        let (dialog, mut pending) = self.layer.do_invite_async(opt, self.state_tx.clone()).map_err(|e| failed(format!("INVITE failed: {e}")))?;
        let outcome = tokio::select! {
            r = &mut pending => r,
            _ = cancel.cancelled() => {
                let _ = dialog.cancel().await;
                // The 487 (or a 2xx that crossed the CANCEL, which is ended with a BYE).
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut pending).await;
                pending.abort();
                return Err(CallError::Cancelled);
            }
        };
        let (_, resp) = outcome.map_err(|e| failed(format!("INVITE failed: {e}")))?.map_err(|e| failed(format!("INVITE failed: {e}")))?;
        let resp = resp.ok_or_else(|| failed("no answer to the INVITE".into()))?;
        if resp.status_code.kind() != rsipstack::sip::StatusCodeKind::Successful {
            let warning = resp.headers.iter().find(|h| h.to_string().starts_with("Warning")).map(|h| format!(" ({h})")).unwrap_or_default();
            return Err(CallError::Refused(u16::from(resp.status_code.clone()), format!("the call was refused: {}{warning}", resp.status_code)));
        }
        let answer = String::from_utf8_lossy(&resp.body).to_string();
        let bad_answer = |e: String| {
            let d = dialog.clone();
            tokio::spawn(async move { d.hangup().await });
            failed(format!("bad SDP answer: {e}"))
        };
        // We offer plain RTP: an answer that turns to SRTP is not one to our offer.
        let n = match AudioOffer::parse(&answer).and_then(|o| sdp::negotiate(&o, [0; crate::sdes::KEY_SALT_LEN])) {
            Ok(n) if n.srtp.is_some() => return Err(bad_answer("RTP/SAVP in the answer to a plain RTP offer".into())),
            Ok(n) => n,
            Err(e) => return Err(bad_answer(e.to_string())),
        };
        let remote_ip: IpAddr = match n.remote.0.parse() {
            Ok(ip) => ip,
            Err(_) => return Err(bad_answer(format!("address {:?}", n.remote.0))),
        };
        let (tx, rx) = oneshot::channel();
        let call_id = resp.call_id_header().map(|h| h.value().to_string()).unwrap_or_default();
        self.ended.lock().unwrap_or_else(|p| p.into_inner()).insert(call_id, tx);
        Ok(AnsweredCall { codec: n.codec, telephone_event: n.telephone_event, remote: SocketAddr::new(remote_ip, n.remote.1), hangup: CallHangup { dialog, cancel: CancellationToken::new() }, ended: rx })
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }
}

