//! What the checker engine tells the world about real servers and virtual servers: keepalived's
//! log lines, `notify_up` / `notify_down` scripts, e-mail alerts, and the `omega` scripts at
//! stop; and keepalived's names for services.

use std::net::SocketAddr;
use std::time::Duration;

use keepalived_checker::logic::{RsEvent, RsEventKind};
use keepalived_config::Config;
use keepalived_config::model::lvs::VsAddress;
use tracing::{debug, info, warn};

use super::balancer::{Balancer, QuorumChange};
use crate::services::mail::{Mail, Mailer, checker_alert};
use crate::services::script::ScriptEnv;

/// `[192.0.2.10]:tcp:80`, keepalived's way of naming a service.
pub(super) fn service(addr: SocketAddr) -> String {
    format!("[{}]:tcp:{}", addr.ip(), addr.port())
}

pub(super) fn vs_name(config: &Config, vs: usize) -> String {
    match config.lvs.virtual_servers.get(vs).map(|v| &v.address) {
        Some(VsAddress::Ip(a)) => service(*a),
        Some(VsAddress::Fwmark(m)) => format!("FWM {m}"),
        Some(VsAddress::Group(g)) => format!("group {g}"),
        None => format!("#{vs}"),
    }
}

/// Queues the e-mail alert of a real server going up or down, when its `smtp_alert` (or its
/// virtual server's, or the global defaults) asks for one.
pub(super) fn mail(config: &Config, mailer: Option<&Mailer>, ev: &RsEvent) {
    let Some(mailer) = mailer else { return };
    let up = match ev.kind {
        RsEventKind::Up => true,
        RsEventKind::Down => false,
        RsEventKind::Weight(_) => return,
    };
    if ev.initial {
        return;
    }
    let vs = config.lvs.virtual_servers.get(ev.vs);
    let rs_alert = vs
        .and_then(|v| v.real_servers.get(ev.rs))
        .and_then(|r| r.smtp_alert);
    if !checker_alert(&config.global.defs, rs_alert, vs.and_then(|v| v.smtp_alert)) {
        return;
    }
    let body = if up {
        "=> CHECK succeed on service <=".to_owned()
    } else if ev.reason.is_empty() {
        "=> CHECK failed on service <=".to_owned()
    } else {
        format!("=> CHECK failed on service : {} <=", ev.reason)
    };
    mailer.send(Mail::real_server(
        &mailer.config().router_id,
        &service(ev.address),
        &vs_name(config, ev.vs),
        up,
        &body,
    ));
}

/// Queues the e-mail alert of a virtual server gaining or losing its quorum, when its
/// `smtp_alert` (or the global defaults for checkers) asks for one.
pub(super) fn mail_quorum(config: &Config, mailer: Option<&Mailer>, change: QuorumChange) {
    let Some(mailer) = mailer else { return };
    let Some(vs) = config.lvs.virtual_servers.get(change.vs) else {
        return;
    };
    if !checker_alert(&config.global.defs, None, vs.smtp_alert) {
        return;
    }
    mailer.send(Mail::virtual_server(
        &mailer.config().router_id,
        &vs_name(config, change.vs),
        change.held,
        (
            vs.quorum,
            vs.hysteresis,
            change.threshold,
            change.live_weight,
        ),
    ));
}

/// Logs a real server's change as keepalived does and runs its notify script.
pub(super) fn report(config: &Config, env: &ScriptEnv, ev: &RsEvent) {
    let rs = service(ev.address);
    let vs = vs_name(config, ev.vs);
    match ev.kind {
        RsEventKind::Up if ev.initial => debug!("{rs} of VS {vs} starts up"),
        RsEventKind::Down if ev.initial => info!("{rs} of VS {vs} starts down (alpha)"),
        RsEventKind::Up => {
            info!("{}", ev.reason);
            info!("Adding service {rs} to VS {vs} (weight {})", ev.weight);
        }
        RsEventKind::Down => {
            info!("{}", ev.reason);
            info!("Removing service {rs} from VS {vs}");
        }
        RsEventKind::Weight(w) => {
            info!(
                "Changing weight of service {rs} in VS {vs} to {w} ({})",
                ev.reason
            );
        }
    }
    if ev.initial {
        return;
    }
    if let Some(script) = &ev.notify {
        let label = match ev.kind {
            RsEventKind::Up => "notify_up",
            _ => "notify_down",
        };
        match env.prepare(label, script) {
            Ok(prepared) => {
                tokio::spawn(async move {
                    let outcome = prepared.run(&[], None).await;
                    if !outcome.is_success() {
                        debug!("{label}: {outcome}");
                    }
                });
            }
            Err(e) => warn!("{label} for {rs}: {e}"),
        }
    }
}

/// Runs the `omega` scripts of a shutdown and waits for them (at most one second).
pub(super) async fn omega(balancer: &Balancer, env: &ScriptEnv) {
    let mut runs = Vec::new();
    for (label, script) in balancer.omega_scripts() {
        match env.prepare(label.clone(), &script) {
            Ok(s) => runs.push(tokio::spawn(async move {
                let _ = s.run(&[], None).await;
            })),
            Err(e) => warn!("{label}: {e}"),
        }
    }
    if runs.is_empty() {
        return;
    }
    let all = async {
        for r in runs {
            let _ = r.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(1), all)
        .await
        .is_err()
    {
        warn!("omega scripts still running at shutdown");
    }
}
