//! The client's address, behind a known number of trusted proxies.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// With `hops == 0` the peer address; otherwise the address the outermost trusted proxy saw, which
/// is the `hops`-th entry from the right of `X-Forwarded-For` (entries a client wrote itself sit
/// further left and are ignored).
pub fn client_ip(req: &HttpRequest, hops: usize) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if hops == 0 {
        return peer;
    }
    let header = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let entries: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    entries
        .len()
        .checked_sub(hops)
        .and_then(|i| entries.get(i))
        .and_then(|s| s.parse().ok())
        .or(peer)
}
