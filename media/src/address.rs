//! Which addresses wagate may fetch media from. A media URL is chosen by the caller, so a
//! fetch is a request made from inside the deployment: without this check a URL could reach
//! the cloud metadata service (169.254.169.254), the session host or anything on the private
//! network. Operators who keep media on a private host list it in `MEDIA_ALLOW_PRIVATE`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Why an address is not fetched, or `None` for a public unicast address.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refusal_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let o = v6.octets();
                return refusal_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            refusal_v6(v6)
        }
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        (169, 254, _) => "a link-local address (cloud metadata lives here)",
        (0, _, _) => "an unspecified address",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a reserved address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if first & 0xfe00 == 0xfc00 => "a unique-local address",
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if first & 0xff00 == 0xff00 => "a multicast address",
        0x2001 if ip.segments()[1] == 0x0db8 => "a reserved address",
        // Only global unicast (2000::/3) is public.
        _ if first & 0xe000 != 0x2000 => "a reserved address",
        _ => return None,
    })
}

/// Private hosts and networks the operator trusts (`MEDIA_ALLOW_PRIVATE`): entries are
/// CIDRs (`10.0.0.0/8`), addresses (`192.168.1.20`) or host names (`minio.internal`).
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl AllowList {
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut list = Self::default();
        for raw in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(net) = raw.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = raw.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            {
                list.hosts
                    .push(raw.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!(
                    "MEDIA_ALLOW_PRIVATE: '{raw}' is not a CIDR, an address or a host name"
                ));
            }
        }
        Ok(list)
    }

    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Why `ip` (reached through `host`) may not be fetched, if it may not.
    pub fn check(&self, host: Option<&str>, ip: IpAddr) -> Option<&'static str> {
        if host.is_some_and(|h| self.allows_host(h)) || self.allows_ip(ip) {
            return None;
        }
        refusal(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_ranges_are_refused() {
        for bad in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(refusal(ip(bad)).is_some(), "{bad} should be refused");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:2800:220:1::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refusal(ip(good)), None, "{good} should be allowed");
        }
        assert_eq!(
            refusal(ip("169.254.169.254")),
            Some("a link-local address (cloud metadata lives here)")
        );
    }

    #[test]
    fn the_allow_list_opens_only_what_it_names() {
        let list = AllowList::parse(&[
            "10.0.0.0/8".into(),
            "192.168.1.20".into(),
            "MinIO.internal.".into(),
        ])
        .unwrap();
        assert_eq!(list.check(None, ip("10.9.9.9")), None);
        assert_eq!(list.check(None, ip("192.168.1.20")), None);
        assert!(list.check(None, ip("192.168.1.21")).is_some());
        assert!(list.check(None, ip("127.0.0.1")).is_some());
        assert_eq!(list.check(Some("minio.internal"), ip("172.20.0.5")), None);
        assert!(
            list.check(Some("other.internal"), ip("172.20.0.5"))
                .is_some()
        );
        assert_eq!(list.check(None, ip("::ffff:10.1.1.1")), None);
        assert!(AllowList::parse(&["not a host/32".into()]).is_err());
    }
}
