//! Datagrams with the time the kernel received them (`SO_TIMESTAMPNS`), so that a socket read
//! on the next 20 ms tick still measures the caller's interarrival jitter (RFC 3550) as the
//! packets arrived, not as they were read.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Asks the kernel to stamp each datagram `socket` receives; false where it cannot.
pub fn enable(socket: &UdpSocket) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: a valid descriptor and a c_int option value of the size given.
    let r = unsafe { libc::setsockopt(socket.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &on as *const _ as *const libc::c_void, std::mem::size_of::<libc::c_int>() as libc::socklen_t) };
    r == 0
}

/// Room for the datagrams one `recv_batch` reads: each with its buffer, source and stamp.
pub struct Batch {
    bufs: Vec<[u8; BATCH_BYTES]>,
    addrs: Vec<libc::sockaddr_storage>,
    controls: Vec<[u64; 8]>,
    lens: Vec<usize>,
    /// How long before the read each datagram arrived (None where the kernel gave no stamp).
    ages: [Option<Duration>; BATCH],
}

/// Datagrams one call to `recv_batch` reads at most, and the bytes each may have (RTP from a
/// phone is about 200; more is cut off).
pub const BATCH: usize = 8;
const BATCH_BYTES: usize = 2048;

impl Default for Batch {
    fn default() -> Self {
        // SAFETY: sockaddr_storage is plain data; all zeroes is a valid (empty) value.
        let empty: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        Self { bufs: vec![[0; BATCH_BYTES]; BATCH], addrs: vec![empty; BATCH], controls: vec![[0; 8]; BATCH], lens: vec![0; BATCH], ages: [None; BATCH] }
    }
}

impl Batch {
    /// Datagram `i` of the last read: its bytes, source (None for an unknown family) and age.
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>, Option<Duration>) {
        (&self.bufs[i][..self.lens[i].min(BATCH_BYTES)], to_socket_addr(&self.addrs[i]), self.ages[i])
    }
}

/// Up to `BATCH` datagrams in one system call, without waiting; how many, and how long ago
/// each arrived. `WouldBlock` when none is waiting.
pub fn recv_batch(socket: &UdpSocket, batch: &mut Batch) -> io::Result<usize> {
    // SAFETY: iovec and mmsghdr are plain data (all zeroes is valid); each header points into
    // `batch` and `iovs`, which outlive the call. Arrays, not vectors: no allocation per read.
    let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..BATCH {
        iovs[i] = libc::iovec { iov_base: batch.bufs[i].as_mut_ptr() as *mut libc::c_void, iov_len: BATCH_BYTES };
        let h = &mut msgs[i].msg_hdr;
        h.msg_name = &mut batch.addrs[i] as *mut _ as *mut libc::c_void;
        h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = batch.controls[i].as_mut_ptr() as *mut libc::c_void;
        h.msg_controllen = std::mem::size_of::<[u64; 8]>() as _;
    }
    // SAFETY: as above; MSG_DONTWAIT keeps the call from blocking, and no timeout is given.
    let n = unsafe { libc::recvmmsg(socket.as_raw_fd(), msgs.as_mut_ptr(), BATCH as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    let now = SystemTime::now();
    for i in 0..n {
        batch.lens[i] = msgs[i].msg_len as usize;
        batch.ages[i] = stamp(&msgs[i].msg_hdr).map(|at| now.duration_since(at).unwrap_or_default());
    }
    Ok(n)
}

/// The kernel's receive stamp in a message's control data.
fn stamp(msg: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SO_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                return Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

fn to_socket_addr(a: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match a.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let v4 = unsafe { &*(a as *const _ as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(u32::from_be(v4.sin_addr.s_addr).into(), u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let v6 = unsafe { &*(a as *const _ as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(v6.sin6_addr.s6_addr.into(), u16::from_be(v6.sin6_port), v6.sin6_flowinfo, v6.sin6_scope_id)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_comes_with_its_source_and_age() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable(&a));
        // The kernel turns its receive stamps on a moment after the first socket asks.
        std::thread::sleep(Duration::from_millis(100));
        let mut batch = Batch::default();
        assert_eq!(recv_batch(&a, &mut batch).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        b.send_to(b"hello", a.local_addr().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(recv_batch(&a, &mut batch).unwrap(), 1);
        let (bytes, from, age) = batch.get(0);
        assert_eq!(bytes, b"hello");
        assert_eq!(from, Some(b.local_addr().unwrap()));
        let age = age.expect("a kernel timestamp");
        assert!(age >= Duration::from_millis(25) && age < Duration::from_secs(5), "{age:?}");
    }

    #[test]
    fn a_batch_reads_every_waiting_datagram_in_order() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable(&a));
        let mut batch = Batch::default();
        assert_eq!(recv_batch(&a, &mut batch).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        for i in 0..10u8 {
            b.send_to(&[i; 3], a.local_addr().unwrap()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(recv_batch(&a, &mut batch).unwrap(), BATCH);
        for i in 0..BATCH {
            let (bytes, from, age) = batch.get(i);
            assert_eq!(bytes, &[i as u8; 3]);
            assert_eq!(from, Some(b.local_addr().unwrap()));
            assert!(age.is_some());
        }
        assert_eq!(recv_batch(&a, &mut batch).unwrap(), 2);
        assert_eq!(batch.get(1).0, &[9u8; 3]);
    }
}
