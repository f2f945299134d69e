//! IP ranges in CIDR notation (`10.0.0.0/24`, `fd00::/8`): the one parser, shared by the
//! configuration checks (which also require a network address) and the address-overlap check
//! of the Aiven peering. Depends on nothing else in the crate, so any layer may use it.

use std::fmt;
use std::net::IpAddr;

/// A parsed `address/prefix`; host bits may be set (see [`Cidr::is_network_address`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub address: IpAddr,
    pub prefix: u8,
}

/// Why a text is not a CIDR block, worded for users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// Parses `address/prefix`: an IPv4 or IPv6 address, `/`, and a prefix of decimal digits
    /// no longer than the address. Host bits are allowed here.
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let not_cidr = || CidrError(format!("{text:?} is not a CIDR block"));
        let (address, prefix) = text.split_once('/').ok_or_else(not_cidr)?;
        let address: IpAddr = address.parse().map_err(|_| not_cidr())?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_cidr());
        }
        let prefix: u8 = prefix.parse().map_err(|_| not_cidr())?;
        let cidr = Cidr { address, prefix };
        if prefix > cidr.width() {
            return Err(CidrError(format!(
                "{text:?} has a prefix longer than {} bits",
                cidr.width()
            )));
        }
        Ok(cidr)
    }

    /// Parses a range written as its network address (host bits zero), as Azure and Aiven
    /// expect ranges in requests.
    pub fn parse_network(text: &str) -> Result<Cidr, CidrError> {
        let cidr = Cidr::parse(text)?;
        if !cidr.is_network_address() {
            return Err(CidrError(format!(
                "{text:?} has host bits set; use the network address of the range"
            )));
        }
        Ok(cidr)
    }

    /// Whether the host bits (those after the prefix) are all zero.
    pub fn is_network_address(&self) -> bool {
        let host_bits = u32::from(self.width() - self.prefix);
        let host_mask = if host_bits == 0 {
            0
        } else {
            u128::MAX >> (128 - host_bits)
        };
        self.bits() & host_mask == 0
    }

    /// Whether the two ranges share an address (different address families never do).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.address.is_ipv4() != other.address.is_ipv4() {
            return false;
        }
        let common = u32::from(self.prefix.min(other.prefix));
        let network = |bits: u128| {
            if common == 0 {
                0
            } else {
                bits >> (u32::from(self.width()) - common)
            }
        };
        network(self.bits()) == network(other.bits())
    }

    fn width(&self) -> u8 {
        if self.address.is_ipv4() { 32 } else { 128 }
    }

    fn bits(&self) -> u128 {
        match self.address {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        }
    }
}

/// Whether two ranges written as text share an address (different address families never do;
/// a range that does not parse overlaps nothing).
pub fn ranges_overlap(a: &str, b: &str) -> bool {
    match (Cidr::parse(a.trim()), Cidr::parse(b.trim())) {
        (Ok(a), Ok(b)) => a.overlaps(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_addresses_parse_and_host_bits_are_reported() {
        for good in ["10.0.0.0/24", "0.0.0.0/0", "192.168.1.7/32", "fd00::/8"] {
            assert!(Cidr::parse_network(good).is_ok(), "{good}");
        }
        assert!(Cidr::parse("10.0.0.1/24").is_ok());
        let error = Cidr::parse_network("10.0.0.1/24").unwrap_err().to_string();
        assert!(error.contains("host bits set"), "{error}");
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "x/8",
            "10.0.0.0/+8",
            "fd00::/129",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_is_a_shared_address_within_one_family() {
        let range = |text| Cidr::parse(text).unwrap();
        assert!(range("10.0.0.0/16").overlaps(&range("10.0.5.0/24")));
        assert!(range("10.0.5.0/24").overlaps(&range("10.0.0.0/16")));
        assert!(!range("10.0.0.0/24").overlaps(&range("10.0.1.0/24")));
        assert!(range("0.0.0.0/0").overlaps(&range("192.168.0.0/16")));
        assert!(!range("10.0.0.0/8").overlaps(&range("fd00::/8")));
        assert!(range("fd00::/8").overlaps(&range("fd12::/16")));
    }

    #[test]
    fn ranges_as_text_overlap_when_they_parse_and_share_an_address() {
        assert!(ranges_overlap("10.10.0.0/16", "10.10.5.0/24"));
        assert!(ranges_overlap("10.10.5.0/24", "10.10.0.0/16"));
        assert!(ranges_overlap("10.0.0.0/8", "10.255.255.0/24"));
        assert!(ranges_overlap(" 10.0.0.0/8", "10.1.0.0/16 "));
        assert!(!ranges_overlap("10.10.0.0/16", "10.20.0.0/24"));
        assert!(!ranges_overlap("10.10.0.0/16", "fd00::/8"));
        assert!(ranges_overlap("0.0.0.0/0", "192.168.1.0/24"));
        assert!(ranges_overlap("fd00::/8", "fd12::/64"));
        assert!(!ranges_overlap("not a cidr", "10.0.0.0/8"));
    }
}
