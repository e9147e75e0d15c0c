//! E-mail alerts (`global_defs`: `notification_email`, `notification_email_from`,
//! `smtp_server`, `smtp_helo_name`, `smtp_connect_timeout`, `router_id`), shaped as keepalived
//! sends them: subject `[router_id] VRRP Instance VI_1 - Entering MASTER state` (or `VRRP Group`,
//! `Realserver [ip]:tcp:port of virtual server [ip]:tcp:port - DOWN`, or `Virtualserver
//! [ip]:tcp:port - UP` when its quorum is gained or lost), headers `Date`, `From`,
//! `Subject`, `X-Mailer: Keepalived`, `To`, and a one-line body.
//!
//! Never blocks an engine: [`Mailer::send`] only queues (a bounded queue; when it is full the
//! alert is dropped and logged). One task on the caller's tokio runtime drains the queue, one
//! message at a time, through lettre's SMTP transport; each message is bounded by
//! `smtp_connect_timeout` per step and four times that in all, so a server that is down or hangs
//! delays later alerts at most, never adverts or checks. Also the rules that decide which
//! instances, groups and real servers send alerts (`smtp_alert`, `smtp_alert_vrrp`,
//! `smtp_alert_checker`).

use std::time::{Duration, SystemTime};

use keepalived_config::model::global::GlobalDefs;
use lettre::address::Envelope;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Alerts that may wait to be sent before new ones are dropped.
pub const QUEUE_LEN: usize = 64;

/// Where and how alerts are sent, from `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// `smtp_server` host.
    pub host: String,
    /// `smtp_server` port.
    pub port: u16,
    /// `notification_email_from` (default `keepalived@HOSTNAME`), as written in `From:`.
    pub from: String,
    /// `notification_email`, as written in `To:`.
    pub to: Vec<String>,
    /// `smtp_helo_name` (default: the host name).
    pub helo: String,
    /// `smtp_connect_timeout`.
    pub timeout: Duration,
    /// `router_id` (default: the host name).
    pub router_id: String,
}

/// The host name (`/proc/sys/kernel/hostname`), or `localhost`: keepalived's default router_id
/// and the domain of its default sender.
pub fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name.to_owned()
    }
}

impl MailConfig {
    /// The mail settings of `defs`; `None` when no alert can be sent (no `smtp_server` or no
    /// `notification_email`), as keepalived.
    pub fn from_defs(defs: &GlobalDefs) -> Option<MailConfig> {
        let server = defs.smtp_server.as_ref()?;
        if defs.notification_email.is_empty() {
            return None;
        }
        let host = host_name();
        Some(MailConfig {
            host: server.host.clone(),
            port: server.port,
            from: defs
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{host}")),
            to: defs.notification_email.clone(),
            helo: defs.smtp_helo_name.clone().unwrap_or_else(|| host.clone()),
            timeout: defs.smtp_connect_timeout,
            router_id: defs.router_id.clone().unwrap_or(host),
        })
    }
}

#[cfg(feature = "vrrp")]
/// Whether a VRRP instance or sync group sends alerts: its own `smtp_alert`, else
/// `smtp_alert_vrrp`, else `smtp_alert`, else no.
pub fn vrrp_alert(defs: &GlobalDefs, own: Option<bool>) -> bool {
    own.or(defs.smtp_alert_vrrp)
        .or(defs.smtp_alert)
        .unwrap_or(false)
}

/// Whether a real server sends alerts: its own `smtp_alert`, else its virtual server's, else
/// `smtp_alert_checker`, else `smtp_alert`, else no.
#[cfg_attr(not(feature = "lvs"), allow(dead_code))]
pub fn checker_alert(defs: &GlobalDefs, rs: Option<bool>, vs: Option<bool>) -> bool {
    rs.or(vs)
        .or(defs.smtp_alert_checker)
        .or(defs.smtp_alert)
        .unwrap_or(false)
}

/// The address inside `Name <addr>` (or the whole string).
fn bare_address(s: &str) -> &str {
    match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].trim(),
        _ => s.trim().trim_matches('"'),
    }
}

/// An RFC 5322 date in UTC: `Thu, 26 Nov 2026 03:53:54 +0000`.
pub fn rfc5322_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let c = super::log::civil(secs);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        c.weekday, c.day, c.month, c.year, c.hour, c.minute, c.second
    )
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The whole subject line (router id included).
    pub subject: String,
    /// The body (one line).
    pub body: String,
}

impl Mail {
    #[cfg(feature = "vrrp")]
    /// A VRRP instance's alert: `[router_id] VRRP Instance NAME - WHAT`.
    pub fn vrrp_instance(router_id: &str, name: &str, what: &str, body: &str) -> Mail {
        Mail {
            subject: format!("[{router_id}] VRRP Instance {name} - {what}"),
            body: body.to_owned(),
        }
    }

    #[cfg(feature = "vrrp")]
    /// A sync group's alert: `[router_id] VRRP Group NAME - WHAT`.
    pub fn vrrp_group(router_id: &str, name: &str, what: &str, body: &str) -> Mail {
        Mail {
            subject: format!("[{router_id}] VRRP Group {name} - {what}"),
            body: body.to_owned(),
        }
    }

    /// A real server's alert: `[router_id] Realserver RS of virtual server VS - UP|DOWN`.
    #[cfg_attr(not(feature = "lvs"), allow(dead_code))]
    pub fn real_server(router_id: &str, rs: &str, vs: &str, up: bool, body: &str) -> Mail {
        Mail {
            subject: format!(
                "[{router_id}] Realserver {rs} of virtual server {vs} - {}",
                if up { "UP" } else { "DOWN" }
            ),
            body: body.to_owned(),
        }
    }

    /// A virtual server's quorum alert: `[router_id] Virtualserver VS - UP|DOWN`, with the
    /// body `=> Gained quorum Q+H=T <= W <=` or `=> Lost quorum Q-H=T > W <=` (T the threshold
    /// crossed, W the live weight).
    #[cfg_attr(not(feature = "lvs"), allow(dead_code))]
    pub fn virtual_server(
        router_id: &str,
        vs: &str,
        up: bool,
        (quorum, hysteresis, threshold, weight): (u32, u32, u64, u64),
    ) -> Mail {
        let body = if up {
            format!("=> Gained quorum {quorum}+{hysteresis}={threshold} <= {weight} <=")
        } else {
            format!("=> Lost quorum {quorum}-{hysteresis}={threshold} > {weight} <=")
        };
        Mail {
            subject: format!(
                "[{router_id}] Virtualserver {vs} - {}",
                if up { "UP" } else { "DOWN" }
            ),
            body,
        }
    }

    /// The message as sent after DATA (CRLF line ends; lettre does the dot-stuffing).
    pub fn render(&self, cfg: &MailConfig, date: SystemTime) -> String {
        format!(
            "Date: {}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n",
            rfc5322_date(date),
            cfg.from,
            one_line(&self.subject),
            cfg.to.join(", "),
            self.body.replace('\n', "\r\n")
        )
    }
}

/// `s` without line breaks (a subject must stay one header line).
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

#[cfg(feature = "vrrp")]
/// The words keepalived uses for a VRRP state in an alert: subject part and body.
pub fn vrrp_words(state: &str, group: bool) -> Option<(&'static str, &'static str)> {
    Some(match (state, group) {
        ("MASTER", false) => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        ("BACKUP", false) => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        ("FAULT", false) => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        ("STOP", false) => ("Stopping", "=> VRRP Instance stopping <="),
        ("MASTER", true) => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        ("BACKUP", true) => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        ("FAULT", true) => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        _ => return None,
    })
}

/// Queues alerts for the sending task. Cheap to share by reference; every method returns at
/// once.
#[derive(Debug)]
pub struct Mailer {
    cfg: MailConfig,
    tx: std::sync::Mutex<Option<mpsc::Sender<Mail>>>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Mailer {
    /// Starts the sending task on the current tokio runtime. Call inside a runtime.
    pub fn start(cfg: MailConfig) -> Mailer {
        let (tx, rx) = mpsc::channel(QUEUE_LEN);
        let task = tokio::spawn(drain(cfg.clone(), rx));
        Mailer {
            cfg,
            tx: std::sync::Mutex::new(Some(tx)),
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    /// The settings.
    pub fn config(&self) -> &MailConfig {
        &self.cfg
    }

    /// Queues `mail`; when the queue is full it is dropped (logged).
    pub fn send(&self, mail: Mail) {
        let Ok(tx) = self.tx.lock() else { return };
        let Some(tx) = tx.as_ref() else { return };
        if let Err(e) = tx.try_send(mail) {
            let subject = match &e {
                mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => {
                    m.subject.clone()
                }
            };
            warn!("SMTP alert queue full; dropping \"{subject}\"");
        }
    }

    /// Stops taking alerts; those queued get until `deadline` to be sent, then are dropped.
    pub async fn shutdown(&self, deadline: tokio::time::Instant) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(mut task) = task
            && tokio::time::timeout_at(deadline, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

/// The sending task: one message at a time.
async fn drain(cfg: MailConfig, mut rx: mpsc::Receiver<Mail>) {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
        .port(cfg.port)
        .timeout(Some(cfg.timeout))
        .hello_name(ClientId::Domain(cfg.helo.clone()))
        .build();
    let server = format!("[{}]:{}", cfg.host, cfg.port);
    let from = bare_address(&cfg.from).parse::<Address>();
    let to: Vec<Address> = cfg
        .to
        .iter()
        .filter_map(|t| match bare_address(t).parse::<Address>() {
            Ok(a) => Some(a),
            Err(e) => {
                warn!("notification_email {t}: {e}; not used");
                None
            }
        })
        .collect();
    let envelope = match from {
        Ok(from) => Envelope::new(Some(from), to),
        Err(e) => {
            warn!(
                "notification_email_from {}: {e}; no e-mail is sent",
                cfg.from
            );
            return;
        }
    };
    let envelope = match envelope {
        Ok(e) => e,
        Err(e) => {
            warn!("no usable notification_email ({e}); no e-mail is sent");
            return;
        }
    };
    let bound = cfg.timeout.saturating_mul(4);
    while let Some(mail) = rx.recv().await {
        let text = mail.render(&cfg, SystemTime::now());
        debug!("SMTP alert to {server}: {}", mail.subject);
        match tokio::time::timeout(bound, transport.send_raw(&envelope, text.as_bytes())).await {
            Ok(Ok(_)) => info!("SMTP alert successfully sent."),
            Ok(Err(e)) => warn!("SMTP alert to {server} failed: {e}"),
            Err(_) => warn!("Timeout sending SMTP alert to {server} (after {bound:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "vrrp")]
    fn cfg() -> MailConfig {
        MailConfig {
            host: "127.0.0.1".into(),
            port: 25,
            from: "ka@example.com".into(),
            to: vec!["a@example.com".into(), "\"B\" <b@example.com>".into()],
            helo: "lb1".into(),
            timeout: Duration::from_secs(3),
            router_id: "LB1".into(),
        }
    }

    #[test]
    #[cfg(feature = "vrrp")]
    fn message_has_keepalived_headers_and_body() {
        let (what, body) = vrrp_words("MASTER", false).unwrap();
        let m = Mail::vrrp_instance("LB1", "VI_1", what, body);
        let t = m.render(&cfg(), SystemTime::UNIX_EPOCH);
        assert_eq!(
            t,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: ka@example.com\r\n\
             Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\nX-Mailer: Keepalived\r\n\
             To: a@example.com, \"B\" <b@example.com>\r\n\r\n\
             => VRRP Instance is now owning VRRP VIPs <=\r\n"
        );
        let rs = Mail::real_server(
            "LB1",
            "[192.0.2.20]:tcp:80",
            "[192.0.2.10]:tcp:80",
            false,
            "x",
        );
        assert_eq!(
            rs.subject,
            "[LB1] Realserver [192.0.2.20]:tcp:80 of virtual server [192.0.2.10]:tcp:80 - DOWN"
        );
        let lost = Mail::virtual_server("LB1", "[192.0.2.10]:tcp:80", false, (3, 1, 2, 1));
        assert_eq!(
            lost.subject,
            "[LB1] Virtualserver [192.0.2.10]:tcp:80 - DOWN"
        );
        assert_eq!(lost.body, "=> Lost quorum 3-1=2 > 1 <=");
        let gained = Mail::virtual_server("LB1", "[192.0.2.10]:tcp:80", true, (3, 1, 4, 5));
        assert_eq!(
            gained.subject,
            "[LB1] Virtualserver [192.0.2.10]:tcp:80 - UP"
        );
        assert_eq!(gained.body, "=> Gained quorum 3+1=4 <= 5 <=");
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_665_234);
        assert_eq!(rfc5322_date(t), "Thu, 26 Nov 2026 03:53:54 +0000");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc5322_date(leap), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    #[cfg(feature = "vrrp")]
    fn addresses_and_gates() {
        assert_eq!(
            bare_address("My admin <admin@example2.com>"),
            "admin@example2.com"
        );
        assert_eq!(bare_address(" a@b.c "), "a@b.c");
        let mut d = keepalived_config::Config::default().global.defs;
        assert!(!vrrp_alert(&d, None));
        assert!(vrrp_alert(&d, Some(true)));
        d.smtp_alert = Some(true);
        assert!(vrrp_alert(&d, None));
        assert!(checker_alert(&d, None, None));
        d.smtp_alert_vrrp = Some(false);
        assert!(!vrrp_alert(&d, None));
        assert!(checker_alert(&d, None, None));
        assert!(!checker_alert(&d, None, Some(false)));
        assert!(checker_alert(&d, Some(true), Some(false)));
        assert!(MailConfig::from_defs(&d).is_none());
    }
}
