//! Address ranges as the systems write them.

use std::net::IpAddr;

/// `a.b.c.d/n` or `x:y::/n` (a bare address is a /32 or /128); `None` when it
/// is not one.
pub fn parse_cidr(cidr: &str) -> Option<(IpAddr, u8)> {
    let cidr = cidr.trim();
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (cidr, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8").map(|c| c.1), Some(8));
        assert_eq!(parse_cidr("2001:db8::/32").map(|c| c.1), Some(32));
        assert_eq!(parse_cidr("192.0.2.7").map(|c| c.1), Some(32));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("corp"), None);
        assert_eq!(parse_cidr("10.0.0/8"), None);
    }
}
