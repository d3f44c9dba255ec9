//! cidr: IPv4 and IPv6 networks in `address/length` form.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::PatternError;
use crate::path::JsonPath;

/// A network: the masked address bits and the prefix length, IPv4 and IPv6 kept apart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cidr {
    v4: bool,
    network: u128,
    mask: u128,
}

impl Cidr {
    pub(crate) fn parse(operand: &Value, path: &JsonPath) -> Result<Cidr, PatternError> {
        let Value::String(text) = operand else {
            return Err(PatternError::new(
                path.as_str(),
                "cidr match pattern must be a string",
            ));
        };
        let error = |reason: String| PatternError::new(path.as_str(), reason);
        let (address, length) = text
            .split_once('/')
            .ok_or_else(|| error("Malformed CIDR, one '/' required".to_owned()))?;
        let address: IpAddr = address
            .parse()
            .map_err(|_| error(format!("Invalid IP address: {address}")))?;
        if length.is_empty() || !length.bytes().all(|b| b.is_ascii_digit()) || length.len() > 3 {
            return Err(error(
                "Malformed CIDR, mask bits must be an integer".to_owned(),
            ));
        }
        let length: u32 = length
            .parse()
            .map_err(|_| error("Malformed CIDR, mask bits must be an integer".to_owned()))?;
        let (v4, bits, width) = match address {
            IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (false, u128::from(a), 128),
        };
        // A whole-width mask names one address, which an exact value matches; event-ruler refuses it.
        if length >= width {
            let family = if v4 { "IPv4" } else { "IPv6" };
            return Err(error(format!("{family} mask bits must be < {width}")));
        }
        let mask = prefix_mask(length, width);
        Ok(Cidr {
            v4,
            network: bits & mask,
            mask,
        })
    }

    pub(crate) fn contains_str(&self, text: &str) -> bool {
        match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) if self.v4 => u128::from(u32::from(a)) & self.mask == self.network,
            Ok(IpAddr::V6(a)) if !self.v4 => u128::from(a) & self.mask == self.network,
            _ => false,
        }
    }
}

fn prefix_mask(length: u32, width: u32) -> u128 {
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    if length == 0 {
        0
    } else {
        (all << (width - length)) & all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        Cidr::parse(&Value::String(text.into()), &JsonPath::root()).expect("valid cidr")
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        assert!(cidr("10.0.0.0/24").contains_str("10.0.0.255"));
        assert!(!cidr("10.0.0.0/24").contains_str("10.0.1.0"));
        assert!(cidr("10.0.0.7/24").contains_str("10.0.0.1"));
        assert!(cidr("0.0.0.0/0").contains_str("203.0.113.9"));
        assert!(!cidr("0.0.0.0/0").contains_str("::1"));
        assert!(cidr("2001:db8::/32").contains_str("2001:db8:ffff::1"));
        assert!(cidr("::/0").contains_str("::1"));
        assert!(cidr("::/127").contains_str("0:0:0:0:0:0:0:1"));
        assert!(!cidr("10.0.0.0/8").contains_str("not an address"));
    }

    #[test]
    fn malformed_networks_are_rejected() {
        for text in [
            "10.0.0.0",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x/1",
            "10.0.0.0/-1",
            "10.0.0.0/",
        ] {
            assert!(
                Cidr::parse(&Value::String(text.into()), &JsonPath::root()).is_err(),
                "{text}"
            );
        }
    }
}
