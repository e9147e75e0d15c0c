//! Capturing VRRP adverts with `tcpdump -i eth0 -nn -tt -l vrrp` in a lab host, with the kernel's
//! capture timestamps, and the wire gap of a failover computed from them.

use std::io::{BufRead as _, BufReader};
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab::{Host, LabChild};

/// One captured advertisement.
#[derive(Debug, Clone, Copy)]
pub struct Advert {
    /// Capture timestamp, microseconds since the Unix epoch.
    pub ts_us: i64,
    /// Source address.
    pub src: Ipv4Addr,
    /// Advertised priority.
    pub prio: Option<u8>,
    /// Its virtual router id.
    pub vrid: Option<u8>,
}

/// Parses `1764111111.123456 IP 192.0.2.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 150, ...`.
pub fn parse(line: &str) -> Option<(i64, Ipv4Addr, Option<u8>)> {
    let mut w = line.split_whitespace();
    let (secs, frac) = w.next()?.split_once('.')?;
    if frac.len() != 6 || w.next()? != "IP" {
        return None;
    }
    let ts = secs.parse::<i64>().ok()? * 1_000_000 + frac.parse::<i64>().ok()?;
    let src = w.next()?.parse().ok()?;
    let prio = line
        .split(", ")
        .find_map(|p| p.strip_prefix("prio "))
        .and_then(|p| p.parse().ok());
    Some((ts, src, prio))
}

/// A running capture.
pub struct Capture {
    child: LabChild,
    rx: mpsc::Receiver<Advert>,
    /// Every advert read so far.
    pub adverts: Vec<Advert>,
}

impl Capture {
    /// Starts tcpdump on `ifname` of `host`.
    pub fn start(host: &Host, ifname: &str) -> Result<Capture, String> {
        let mut cmd = host.command("tcpdump");
        // A 32 MiB buffer: hundreds of instances send their adverts in one burst, which the
        // default buffer drops in part ("packets dropped by kernel").
        cmd.args([
            "-B",
            "32768",
            "-i",
            ifname,
            "-nn",
            "-tt",
            "-l",
            "--immediate-mode",
        ])
        .arg("vrrp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = LabChild::spawn(&mut cmd).map_err(|e| e.to_string())?;
        let out = child
            .child_mut()
            .stdout
            .take()
            .ok_or("tcpdump: no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some((ts_us, src, prio)) = parse(&line) {
                    let vrid = line
                        .split(", ")
                        .find_map(|p| p.strip_prefix("vrid "))
                        .and_then(|p| p.parse().ok());
                    let ad = Advert {
                        ts_us,
                        src,
                        prio,
                        vrid,
                    };
                    if tx.send(ad).is_err() {
                        break;
                    }
                }
            }
        });
        Ok(Capture {
            child,
            rx,
            adverts: Vec::new(),
        })
    }

    /// Waits up to `timeout` for a new advert from `src`; every advert read is kept.
    pub fn next_from(&mut self, src: Ipv4Addr, timeout: Duration) -> Option<Advert> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let ad = self.rx.recv_timeout(left.min(Duration::from_millis(100)));
            if let Ok(ad) = ad {
                self.adverts.push(ad);
                if ad.src == src {
                    return Some(ad);
                }
            } else if super::interrupted() {
                return None;
            }
        }
    }

    /// Reads what is already queued, without waiting.
    pub fn drain(&mut self) {
        self.adverts.extend(self.rx.try_iter());
    }

    /// Stops tcpdump and returns everything captured.
    pub fn stop(mut self) -> Vec<Advert> {
        std::thread::sleep(Duration::from_millis(20));
        self.drain();
        self.child.kill();
        self.adverts
    }
}

/// The wire gap: the first advert from `backup` after the last one from `master` (with a
/// non-zero priority), minus that last one. Also returns the last master advert's timestamp.
pub fn wire_gap(ads: &[Advert], master: Ipv4Addr, backup: Ipv4Addr) -> Option<(Duration, i64)> {
    let last = ads
        .iter()
        .filter(|a| a.src == master && a.prio != Some(0))
        .map(|a| a.ts_us)
        .max()?;
    let first = ads
        .iter()
        .filter(|a| a.src == backup && a.ts_us > last)
        .map(|a| a.ts_us)
        .min()?;
    let us = u64::try_from(first - last).ok()?;
    Some((Duration::from_micros(us), last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcpdump_lines() {
        let l = "1764111111.012345 IP 192.0.2.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, \
                 prio 150, authtype none, intvl 1s, length 20";
        let (ts, src, prio) = parse(l).unwrap();
        assert_eq!(ts, 1_764_111_111_012_345);
        assert_eq!(src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(prio, Some(150));
        assert!(parse("tcpdump: verbose output suppressed").is_none());
    }

    #[test]
    fn gap_from_adverts() {
        let m = Ipv4Addr::new(192, 0, 2, 1);
        let b = Ipv4Addr::new(192, 0, 2, 2);
        let ad = |ts_us, src| Advert {
            ts_us,
            src,
            prio: Some(100),
            vrid: Some(51),
        };
        let ads = [ad(1_000, m), ad(2_000, m), ad(5_500, b), ad(6_500, b)];
        assert_eq!(
            wire_gap(&ads, m, b),
            Some((Duration::from_micros(3_500), 2_000))
        );
        assert_eq!(wire_gap(&ads[..2], m, b), None);
    }
}
