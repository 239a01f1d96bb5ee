//! baresip (Debian's `baresip-core`) as a caller the tests start and stop: its audio from a
//! WAV file (`aufile`), what it sends and hears written to WAV files (`sndfile`), driven over
//! its TCP control socket (`ctrl_tcp`: JSON in netstrings), its events read back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Baresip {
    child: Child,
    control: TcpStream,
    pending: Vec<u8>,
    /// Every event and response read so far.
    pub events: Vec<Value>,
    /// Where `sndfile` writes `dump-*-enc.wav` (sent) and `dump-*-dec.wav` (heard).
    pub dumps: PathBuf,
    pub log: PathBuf,
}

/// One account line's media encryption: `srtp-mand` offers RTP/SAVP with SDES keys.
pub struct Options<'a> {
    pub transport: &'a str,
    pub mediaenc: Option<&'a str>,
}

impl Baresip {
    /// Starts baresip in `dir` speaking `source` (8 kHz mono WAV; it hangs up at the file's end).
    pub fn start(dir: &Path, source: &Path, o: Options<'_>) -> Baresip {
        let conf = dir.join("baresip");
        let dumps = dir.join("baresip-audio");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&dumps).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
        let config = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:0\nsip_trans_def {t}\n\
             audio_source aufile,{src}\naudio_alert aufile,{src}\n\
             audio_srate 8000\naudio_channels 1\nrtp_stats yes\n\
             module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\nmodule sndfile.so\n\
             module srtp.so\nmodule rtcpsummary.so\nmodule_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{port}\nsnd_path {dumps}\n",
            t = o.transport,
            src = source.display(),
            dumps = dumps.display(),
        );
        std::fs::write(conf.join("config"), config).unwrap();
        let enc = o.mediaenc.map(|m| format!(";mediaenc={m}")).unwrap_or_default();
        std::fs::write(conf.join("accounts"), format!("<sip:caller@127.0.0.1;transport={}>;regint=0{enc};audio_codecs=PCMU\n", o.transport)).unwrap();
        let log = dir.join("baresip.log");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("baresip runs (Debian package baresip-core; make setup installs it)");
        let deadline = Instant::now() + Duration::from_secs(15);
        let control = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(Instant::now() < deadline, "baresip's control socket: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        control.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        Baresip { child, control, pending: Vec::new(), events: Vec::new(), dumps, log }
    }

    /// Sends a command (`dial`, `sndcode`, `hangup`, `quit`) and waits for its response.
    pub fn command(&mut self, command: &str, params: &str) -> Value {
        let token = format!("{command}-{}", self.events.len());
        self.send(&serde_json::json!({"command": command, "params": params, "token": token})).unwrap();
        self.wait_for(&format!("the response to {command}"), Duration::from_secs(10), |e| e["token"] == token.as_str())
    }

    /// One netstring (`LEN:JSON,`) to the control socket.
    fn send(&mut self, body: &Value) -> std::io::Result<()> {
        let body = body.to_string();
        self.control.write_all(format!("{}:{body},", body.len()).as_bytes())
    }

    /// The first event so far that satisfies `want`, reading on until one does (or panics
    /// after `within`).
    pub fn wait_for(&mut self, what: &str, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.events.iter().find(|e| want(e)) {
                return e.clone();
            }
            assert!(Instant::now() < deadline, "baresip: no {what}; events: {:?}; log:\n{}", self.events, self.log_text());
            self.read_some();
        }
    }

    fn read_some(&mut self) {
        let mut buf = [0u8; 4096];
        match self.control.read(&mut buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(50)),
            Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        // Netstrings: LEN ':' JSON ','
        while let Some(colon) = self.pending.iter().position(|b| *b == b':') {
            let Ok(len) = std::str::from_utf8(&self.pending[..colon]).unwrap_or("x").parse::<usize>() else {
                panic!("baresip: not a netstring: {:?}", String::from_utf8_lossy(&self.pending));
            };
            if self.pending.len() < colon + 1 + len + 1 {
                break;
            }
            let json = self.pending[colon + 1..colon + 1 + len].to_vec();
            self.pending.drain(..colon + 1 + len + 1);
            self.events.push(serde_json::from_slice(&json).unwrap_or(Value::Null));
        }
    }

    /// The events of a type (`CALL_RTCP`, `CALL_MENC`, ...).
    pub fn of_type(&self, ty: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == ty).collect()
    }

    /// What baresip heard (decoded), as written by `sndfile`.
    pub fn heard(&self) -> PathBuf {
        let mut dec: Vec<PathBuf> = std::fs::read_dir(&self.dumps).unwrap().flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with("-dec.wav")).collect();
        dec.sort();
        dec.pop().unwrap_or_else(|| panic!("baresip wrote no audio it heard in {}", self.dumps.display()))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks baresip to quit and waits for it.
    pub fn quit(mut self) -> String {
        let _ = self.send(&serde_json::json!({"command": "quit", "token": "quit"}));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.log_text()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
