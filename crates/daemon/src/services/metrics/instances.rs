//! The VRRP instances' metric families (one series per instance, or per address), written by
//! hand in exactly the text `prometheus-client` writes for them (a test compares the two).
//!
//! Why by hand: `prometheus-client` escapes and writes every label of every series through
//! `fmt::Write`, so 4,000 instances × 20 families (a 6.6 MB page) cost about 25 ms of CPU per
//! scrape. Here each instance's `{iname,intf,vrid}` block is escaped once and copied into each
//! of its series, and numbers are written with `itoa` and `dtoa`, the crates `prometheus-client`
//! itself uses. The families' `# HELP` and `# TYPE` lines still come from `prometheus-client`.

use std::fmt::Write as _;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{INSTANCE_COUNTERS, InstanceMetrics, VrrpMetrics};

/// A family of the instances: its name, help, type and what each instance shows in it.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    value: fn(&InstanceMetrics, usize) -> Option<Value>,
}

/// One series' value.
#[derive(Clone, Copy)]
enum Value {
    Count(u64),
    Int(i64),
    Float(f64),
}

/// The per-instance families after the state and the counters, in page order.
const AFTER_COUNTERS: [Family; 5] = [
    Family {
        name: "keepalived_gratuitous_arp_delay",
        help: "Gratuitous ARP delay",
        kind: MetricType::Counter,
        value: |i, _| Some(Value::Float(i.garp_delay)),
    },
    Family {
        name: "keepalived_vrrp_base_priority",
        help: "The configured priority",
        kind: MetricType::Gauge,
        value: |i, _| Some(Value::Int(i64::from(i.base_priority))),
    },
    Family {
        name: "keepalived_vrrp_effective_priority",
        help: "The priority after tracking",
        kind: MetricType::Gauge,
        value: |i, _| Some(Value::Int(i64::from(i.effective_priority))),
    },
    Family {
        name: "keepalived_vrrp_maintenance",
        help: "Whether the instance is in maintenance (keepalived-ctl)",
        kind: MetricType::Gauge,
        value: |i, _| Some(Value::Int(i64::from(i.maintenance))),
    },
    Family {
        name: "keepalived_vrrp_last_transition_timestamp_seconds",
        help: "When the instance last changed state",
        kind: MetricType::Gauge,
        value: |i, _| i.last_transition.map(Value::Float),
    },
];

/// Appends the instances' families of `v` to `out`, in OpenMetrics (`openmetrics`) or the
/// Prometheus text format, without OpenMetrics' closing `# EOF`.
pub(super) fn write(out: &mut String, v: &VrrpMetrics, openmetrics: bool) {
    // `iname="…",intf="…",vrid="…"` of each instance, escaped once.
    let blocks: Vec<String> = v
        .instances
        .iter()
        .map(|i| {
            let mut b = String::with_capacity(i.name.len() + i.intf.len() + 28);
            b.push_str("iname=\"");
            escape(&mut b, &i.name);
            b.push_str("\",intf=\"");
            escape(&mut b, &i.intf);
            b.push_str("\",vrid=\"");
            b.push_str(itoa::Buffer::new().format(i.vrid));
            b.push('"');
            b
        })
        .collect();
    let per_series: usize = blocks.iter().map(|b| b.len() + 64).sum();
    out.reserve(per_series * (INSTANCE_COUNTERS.len() + AFTER_COUNTERS.len() + 2));
    states(out, v, openmetrics);
    for (c, (name, help)) in INSTANCE_COUNTERS.iter().enumerate() {
        let counters = Family {
            name,
            help,
            kind: MetricType::Counter,
            value: |i, c| Some(Value::Count(i.counters.get(c).copied().unwrap_or(0))),
        };
        family(out, v, &blocks, &counters, c, openmetrics);
    }
    for f in &AFTER_COUNTERS {
        family(out, v, &blocks, f, 0, openmetrics);
    }
}

/// `keepalived_vrrp_state` and `keepalived_vrrp_excluded_state`: one series per address (an
/// instance without addresses has one, with an empty `ip_address`, in the first).
fn states(out: &mut String, v: &VrrpMetrics, openmetrics: bool) {
    let families = [
        ("keepalived_vrrp_state", "State of vrrp"),
        (
            "keepalived_vrrp_excluded_state",
            "State of vrrp with excluded VIP",
        ),
    ];
    for (n, (name, help)) in families.into_iter().enumerate() {
        out.push_str(&header(name, help, MetricType::Gauge, openmetrics));
        for i in &v.instances {
            let list = if n == 0 { &i.vips } else { &i.excluded };
            let mut line = |addr: &str, dev: &str| {
                out.push_str(name);
                out.push_str("{iname=\"");
                escape(out, &i.name);
                out.push_str("\",intf=\"");
                escape(out, dev);
                out.push_str("\",vrid=\"");
                out.push_str(itoa::Buffer::new().format(i.vrid));
                out.push_str("\",ip_address=\"");
                out.push_str(addr);
                out.push_str("\"} ");
                out.push_str(itoa::Buffer::new().format(i.state));
                out.push('\n');
            };
            if n == 0 && list.is_empty() {
                line("", &i.intf);
            }
            for (addr, dev) in list {
                // An address's text needs no escaping.
                let mut text = String::new();
                let _ = write!(text, "{addr}");
                line(&text, dev);
            }
        }
    }
}

/// One family with a series per instance that has a value in it.
fn family(
    out: &mut String,
    v: &VrrpMetrics,
    blocks: &[String],
    f: &Family,
    arg: usize,
    openmetrics: bool,
) {
    out.push_str(&header(f.name, f.help, f.kind, openmetrics));
    let suffix = if matches!(f.kind, MetricType::Counter) {
        "_total"
    } else {
        ""
    };
    for (i, block) in v.instances.iter().zip(blocks) {
        let Some(value) = (f.value)(i, arg) else {
            continue;
        };
        out.push_str(f.name);
        out.push_str(suffix);
        out.push('{');
        out.push_str(block);
        out.push_str("} ");
        match value {
            Value::Count(n) => out.push_str(itoa::Buffer::new().format(n)),
            Value::Int(n) => out.push_str(itoa::Buffer::new().format(n)),
            Value::Float(x) => float(out, x, openmetrics),
        }
        out.push('\n');
    }
}

/// A float as each format writes it.
fn float(out: &mut String, x: f64, openmetrics: bool) {
    if x.is_finite() || openmetrics {
        out.push_str(dtoa::Buffer::new().format(x));
    } else if x.is_nan() {
        out.push_str("NaN");
    } else if x > 0.0 {
        out.push_str("+Inf");
    } else {
        out.push_str("-Inf");
    }
}

/// A label value's escaping in both text formats: backslash, double quote and newline.
fn escape(out: &mut String, s: &str) {
    let mut last = 0;
    for (at, byte) in s.bytes().enumerate() {
        let escaped = match byte {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        out.push_str(&s[last..at]);
        out.push_str(escaped);
        last = at + 1;
    }
    out.push_str(&s[last..]);
}

/// A family's `# HELP` and `# TYPE` lines, written by `prometheus-client`.
fn header(name: &'static str, help: &'static str, kind: MetricType, openmetrics: bool) -> String {
    #[derive(Debug)]
    struct Header(&'static str, &'static str, MetricType);
    impl Collector for Header {
        fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
            enc.encode_descriptor(self.0, self.1, None, self.2)?;
            Ok(())
        }
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Header(name, help, kind)));
    let mut text = String::new();
    let _ = if openmetrics {
        prometheus_client::encoding::text::encode(&mut text, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
    };
    if let Some(cut) = text.strip_suffix("# EOF\n").map(str::len) {
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::{EncodeLabelSet, MetricEncoder, NoLabelSet};
    use prometheus_client::metrics::exemplar::Exemplar;

    use super::*;

    /// The same families through `prometheus-client`'s own label and value encoders.
    #[derive(Debug)]
    struct Reference(VrrpMetrics);

    type NoExemplar = Option<&'static Exemplar<NoLabelSet, f64>>;

    fn series(
        m: &mut MetricEncoder<'_>,
        labels: &impl EncodeLabelSet,
        kind: MetricType,
        v: Value,
    ) -> std::fmt::Result {
        let mut s = m.encode_family(labels)?;
        match (kind, v) {
            (MetricType::Counter, Value::Count(n)) => {
                s.encode_counter::<NoLabelSet, u64, f64>(&n, NoExemplar::None)
            }
            (MetricType::Counter, Value::Float(x)) => {
                s.encode_counter::<NoLabelSet, f64, f64>(&x, NoExemplar::None)
            }
            (_, Value::Int(n)) => s.encode_gauge(&n),
            (_, Value::Float(x)) => s.encode_gauge(&x),
            (_, Value::Count(n)) => s.encode_gauge(&n),
        }
    }

    impl Collector for Reference {
        fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
            let v = &self.0;
            for (n, name) in ["keepalived_vrrp_state", "keepalived_vrrp_excluded_state"]
                .into_iter()
                .enumerate()
            {
                let help = ["State of vrrp", "State of vrrp with excluded VIP"][n];
                let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for i in &v.instances {
                    let vrid = i.vrid.to_string();
                    let list = if n == 0 { &i.vips } else { &i.excluded };
                    let mut pairs: Vec<(String, String)> = list
                        .iter()
                        .map(|(a, d)| (a.to_string(), d.clone()))
                        .collect();
                    if n == 0 && pairs.is_empty() {
                        pairs.push((String::new(), i.intf.clone()));
                    }
                    for (addr, dev) in &pairs {
                        let labels = [
                            ("iname", i.name.as_str()),
                            ("intf", dev.as_str()),
                            ("vrid", vrid.as_str()),
                            ("ip_address", addr.as_str()),
                        ];
                        series(
                            &mut m,
                            &labels,
                            MetricType::Gauge,
                            Value::Int(i64::from(i.state)),
                        )?;
                    }
                }
            }
            let labels = |i: &InstanceMetrics| (i.name.clone(), i.intf.clone(), i.vrid.to_string());
            for (c, (name, help)) in INSTANCE_COUNTERS.iter().enumerate() {
                let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
                for i in &v.instances {
                    let (n, intf, vrid) = labels(i);
                    let labels = [("iname", n.as_str()), ("intf", &intf), ("vrid", &vrid)];
                    let count = Value::Count(i.counters.get(c).copied().unwrap_or(0));
                    series(&mut m, &labels, MetricType::Counter, count)?;
                }
            }
            for f in AFTER_COUNTERS {
                let mut m = enc.encode_descriptor(f.name, f.help, None, f.kind)?;
                for i in &v.instances {
                    let Some(value) = (f.value)(i, 0) else {
                        continue;
                    };
                    let (n, intf, vrid) = labels(i);
                    let labels = [("iname", n.as_str()), ("intf", &intf), ("vrid", &vrid)];
                    series(&mut m, &labels, f.kind, value)?;
                }
            }
            Ok(())
        }
    }

    fn instances() -> VrrpMetrics {
        let mut v = super::super::render::tests::sample().engines[0]
            .answer
            .take()
            .and_then(|a| a.vrrp)
            .unwrap();
        v.instances[0].counters[13] = u64::MAX;
        let odd = InstanceMetrics {
            // Every character a label value escapes, and some that it does not.
            name: "odd \"name\" \\ with\nnewline é".into(),
            intf: "br-\"x\"".into(),
            vrid: 255,
            state: 3,
            garp_delay: 0.001,
            counters: vec![0; 13],
            ..Default::default()
        };
        v.instances.push(odd);
        v
    }

    /// What is written by hand is byte for byte what `prometheus-client` writes, in both
    /// formats.
    #[test]
    fn the_same_text_as_prometheus_client() {
        let v = instances();
        for openmetrics in [false, true] {
            let mut registry = Registry::default();
            registry.register_collector(Box::new(Reference(v.clone())));
            let mut want = String::new();
            if openmetrics {
                prometheus_client::encoding::text::encode(&mut want, &registry).unwrap();
                want.truncate(want.len() - "# EOF\n".len());
            } else {
                prometheus_client::encoding::prometheus_text::encode(&mut want, &registry).unwrap();
            }
            let mut got = String::new();
            write(&mut got, &v, openmetrics);
            assert_eq!(got, want, "openmetrics: {openmetrics}");
            assert!(got.contains("18446744073709551615"), "{got}");
            assert!(
                got.contains(r#"iname="odd \"name\" \\ with\nnewline é""#),
                "{got}"
            );
        }
    }
}
