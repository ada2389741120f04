//! What a node says about its host when it registers, for the results' metadata: the CPU model,
//! the kernel, and the network interface its data plane uses with the link speed the kernel
//! reports for it (none for loopback; a veth reports its nominal 10 Gbit/s). Each is `None`
//! where it cannot be read.

use std::net::IpAddr;

use wire::control::{HostFacts, MAX_FACT_BYTES};

pub fn facts(bind: IpAddr) -> HostFacts {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let interface = interface_of(bind);
    let link_speed_mbps = interface
        .as_deref()
        .and_then(|i| read(&format!("/sys/class/net/{i}/speed")).and_then(|s| speed_mbps(&s)));
    HostFacts {
        cpu_model: read("/proc/cpuinfo").and_then(|t| cpu_model(&t)),
        kernel: read("/proc/sys/kernel/osrelease").and_then(|t| fact(t.trim())),
        interface,
        link_speed_mbps,
    }
}

fn fact(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= MAX_FACT_BYTES).then(|| s.to_string())
}

/// The first "model name" of /proc/cpuinfo (x86), else its "Model" line (Arm boards).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == *key).then(|| fact(v.trim())).flatten()
        })
    })
}

/// /sys/class/net/IF/speed: megabits per second; -1 or garbage when unknown.
fn speed_mbps(text: &str) -> Option<u64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|&s| s > 0)
        .map(|s| s as u64)
}

/// The interface that holds `addr`; for an unspecified address, none.
fn interface_of(addr: IpAddr) -> Option<String> {
    if addr.is_unspecified() {
        return None;
    }
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        let a = ifa.address?;
        let ip = match (a.as_sockaddr_in(), a.as_sockaddr_in6()) {
            (Some(v4), _) => IpAddr::V4(v4.ip()),
            (_, Some(v6)) => IpAddr::V6(v6.ip()),
            _ => return None,
        };
        (ip == addr).then(|| fact(&ifa.interface_name)).flatten()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cpu_model_and_the_link_speed_are_read_from_the_kernel_texts() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(
            cpu_model("Model\t\t: Raspberry Pi 5\n").as_deref(),
            Some("Raspberry Pi 5")
        );
        assert_eq!(cpu_model("processor: 0\n"), None);
        assert_eq!(speed_mbps("10000\n"), Some(10_000));
        assert_eq!(speed_mbps("-1\n"), None);
        assert_eq!(speed_mbps("x"), None);
    }

    #[test]
    fn loopback_is_an_interface_of_its_own_and_the_unspecified_address_none() {
        assert_eq!(
            interface_of("127.0.0.1".parse().unwrap()).as_deref(),
            Some("lo")
        );
        assert_eq!(interface_of("0.0.0.0".parse().unwrap()), None);
    }
}
