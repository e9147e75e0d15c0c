//! keepalived's D-Bus interface (`enable_dbus`), served by the VRRP engine process with zbus on
//! its runtime: the service `org.keepalived.Vrrp1` (or `dbus_service_name`) on the system bus,
//! the object `…/Vrrp` (PrintData, PrintStats, PrintStatsClear, ReloadConfig; VrrpStarted,
//! VrrpReloaded, VrrpStopped) and one object per instance `…/Instance/IFNAME/VRID/IPv4|IPv6`
//! (properties Name and State, method SendGarp, signal VrrpStatusChange), as keepalived's
//! introspection files describe them.
//!
//! The driver hands transitions to [`Bus::state`]; they are queued until the bus is connected
//! (a transition before that still gets its signal, in order). Method calls that need the engine
//! (SendGarp) come back to the driver over [`Bus::requests`]; the dumps are written by the
//! process's [`Dumper`] before the call returns, as keepalived's are.

use std::collections::BTreeMap;
use std::time::Duration;

use keepalived_config::Config;
use keepalived_vrrp::Family;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};
use zbus::object_server::SignalEmitter;

use super::snapshot;
use crate::plan::convert::InstancePlan;
use crate::services::dump::{DumpKind, Dumper};

/// How long to wait before trying the system bus again.
const RETRY: Duration = Duration::from_secs(5);

/// What a D-Bus caller asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// SendGarp on the instance of this name.
    SendGarp(String),
}

/// An instance as the bus shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceId {
    /// `vrrp_instance NAME`.
    pub name: String,
    /// Its object path.
    pub path: String,
}

#[derive(Debug)]
enum Event {
    State(String, u32),
    Reloaded(Vec<InstanceId>),
    Stop(oneshot::Sender<()>),
}

/// The driver's handle on the D-Bus task.
#[derive(Debug)]
pub struct Bus {
    events: mpsc::UnboundedSender<Event>,
    /// The method calls that need the engine.
    pub requests: mpsc::UnboundedReceiver<Request>,
    /// The object path prefix (`/org/keepalived/Vrrp1[/NETNS][/INSTANCE]`).
    root: String,
    no_interface: String,
}

impl Bus {
    /// Starts serving `config`'s D-Bus interface for the instances of `plans` (on the current
    /// tokio runtime), or `None` without `enable_dbus`.
    pub fn start<'a>(
        config: &Config,
        plans: impl IntoIterator<Item = &'a InstancePlan>,
        dumper: Option<Dumper<snapshot::Source>>,
    ) -> Option<Bus> {
        let settings = &config.global.defs.dbus;
        if !settings.enabled {
            return None;
        }
        let mut root = String::from("/org/keepalived/Vrrp1");
        for part in [&config.global.net_namespace, &config.global.instance]
            .into_iter()
            .flatten()
        {
            root.push('/');
            root.push_str(part);
        }
        let (events, events_rx) = mpsc::unbounded_channel();
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let bus = Bus {
            events,
            requests,
            root,
            no_interface: settings.no_interface_name.clone(),
        };
        let instances = bus.instances(plans);
        tokio::spawn(serve(
            settings.service_name.clone(),
            bus.root.clone(),
            instances,
            events_rx,
            Calls {
                requests: requests_tx,
                dumper,
            },
        ));
        Some(bus)
    }

    /// The bus's view of `plans`.
    pub fn instances<'a>(
        &self,
        plans: impl IntoIterator<Item = &'a InstancePlan>,
    ) -> Vec<InstanceId> {
        plans
            .into_iter()
            .map(|p| {
                // keepalived names the configured interface (a VMAC's parent).
                let ifname = p.vmac.as_ref().map_or(p.ifname.as_str(), |v| &v.parent);
                let ifname = if ifname.is_empty() {
                    self.no_interface.as_str()
                } else {
                    ifname
                };
                let family = match p.cfg.family() {
                    Family::V4 => "IPv4",
                    Family::V6 => "IPv6",
                };
                InstanceId {
                    name: p.cfg.name.clone(),
                    path: format!(
                        "{}/Instance/{}/{}/{family}",
                        self.root,
                        path_element(ifname),
                        p.cfg.vrid
                    ),
                }
            })
            .collect()
    }

    /// Instance `name` changed to keepalived's state number `state`.
    pub fn state(&self, name: &str, state: u32) {
        let _ = self.events.send(Event::State(name.to_owned(), state));
    }

    /// A reload left these instances.
    pub fn reloaded(&self, instances: Vec<InstanceId>) {
        let _ = self.events.send(Event::Reloaded(instances));
    }

    /// Sends VrrpStopped and leaves the bus (waits a second at most).
    pub async fn stop(&self) {
        let (done, wait) = oneshot::channel();
        if self.events.send(Event::Stop(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), wait).await;
        }
    }
}

/// The only characters a D-Bus path element takes are letters, digits and `_`: keepalived
/// replaces every other byte by `_`.
fn path_element(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect()
}

/// keepalived's words for its state numbers (the second half of State).
fn state_word(state: u32) -> &'static str {
    match state {
        0 => "Init",
        1 => "Backup",
        2 => "Master",
        3 => "Fault",
        97 => "Deleted",
        98 => "Stop",
        _ => "Unknown",
    }
}

/// What the objects need to answer calls.
#[derive(Debug, Clone)]
struct Calls {
    requests: mpsc::UnboundedSender<Request>,
    dumper: Option<Dumper<snapshot::Source>>,
}

struct VrrpObject(Calls);

impl VrrpObject {
    async fn dump(&self, kind: DumpKind, what: &str) {
        info!("Printing VRRP {what} on DBus request");
        if let Some(d) = &self.0.dumper {
            d.dump(kind).await;
        }
    }
}

#[zbus::interface(name = "org.keepalived.Vrrp1.Vrrp")]
impl VrrpObject {
    async fn print_data(&self) {
        self.dump(DumpKind::Data, "data").await;
    }

    async fn print_stats(&self) {
        self.dump(DumpKind::Stats, "stats").await;
    }

    /// keepalived prints the statistics and clears them; keepalived-rs's statistics are not
    /// cleared (nor by the STATS_CLEAR signal).
    async fn print_stats_clear(&self) {
        self.dump(DumpKind::Stats, "stats").await;
    }

    /// As keepalived: the parent is sent SIGHUP.
    async fn reload_config(&self) {
        info!("Reloading the configuration on DBus request");
        let parent = nix::unistd::getppid();
        if let Err(e) = nix::sys::signal::kill(parent, nix::sys::signal::Signal::SIGHUP) {
            warn!("DBus: cannot ask the parent ({parent}) to reload: {e}");
        }
    }

    #[zbus(signal)]
    async fn vrrp_started(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn vrrp_reloaded(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn vrrp_stopped(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

struct InstanceObject {
    name: String,
    state: u32,
    requests: mpsc::UnboundedSender<Request>,
}

#[zbus::interface(name = "org.keepalived.Vrrp1.Instance")]
impl InstanceObject {
    async fn send_garp(&self) {
        let _ = self.requests.send(Request::SendGarp(self.name.clone()));
    }

    #[zbus(signal)]
    async fn vrrp_status_change(emitter: &SignalEmitter<'_>, status: u32) -> zbus::Result<()>;

    #[zbus(property)]
    async fn name(&self) -> String {
        self.name.clone()
    }

    #[zbus(property)]
    async fn state(&self) -> (u32, String) {
        (self.state, state_word(self.state).to_owned())
    }
}

/// The D-Bus task: connects (again every [`RETRY`] until it can), then follows the events;
/// those that come while it is not connected are kept and told once it is.
async fn serve(
    service: String,
    root: String,
    instances: Vec<InstanceId>,
    mut events: mpsc::UnboundedReceiver<Event>,
    calls: Calls,
) {
    let vrrp_path = format!("{root}/Vrrp");
    let mut queued = Vec::new();
    let conn = loop {
        match connect(&service, &vrrp_path, &instances, &calls).await {
            Ok(conn) => break conn,
            Err(e) => {
                warn!("DBus: cannot serve {service} on the system bus: {e}; trying again in 5 s");
                tokio::select! {
                    () = tokio::time::sleep(RETRY) => {}
                    event = events.recv() => match event {
                        Some(Event::Stop(done)) => {
                            let _ = done.send(());
                            return;
                        }
                        Some(event) => queued.push(event),
                        None => return,
                    },
                }
            }
        }
    };
    info!("Acquired DBus bus {service}");
    let mut live = Live {
        conn,
        service,
        vrrp_path,
        paths: instances.into_iter().map(|i| (i.name, i.path)).collect(),
        calls,
    };
    live.signal_vrrp(Vrrp::Started).await;
    for event in queued {
        live.handle(event).await;
    }
    // `handle` answers false once the stop is told.
    while let Some(event) = events.recv().await {
        if !live.handle(event).await {
            return;
        }
    }
}

/// The signals of the `…/Vrrp` object.
enum Vrrp {
    Started,
    Reloaded,
    Stopped,
}

/// A connected bus and the instances' objects on it, by instance name.
struct Live {
    conn: zbus::Connection,
    service: String,
    vrrp_path: String,
    paths: BTreeMap<String, String>,
    calls: Calls,
}

impl Live {
    async fn signal_vrrp(&self, which: Vrrp) {
        let Ok(emitter) = SignalEmitter::new(&self.conn, self.vrrp_path.as_str()) else {
            return;
        };
        let sent = match which {
            Vrrp::Started => VrrpObject::vrrp_started(&emitter).await,
            Vrrp::Reloaded => VrrpObject::vrrp_reloaded(&emitter).await,
            Vrrp::Stopped => VrrpObject::vrrp_stopped(&emitter).await,
        };
        if let Err(e) = sent {
            warn!("DBus: cannot send a signal: {e}");
        }
    }

    /// Tells `event`; false once it was the stop.
    async fn handle(&mut self, event: Event) -> bool {
        let server = self.conn.object_server();
        match event {
            Event::State(name, state) => {
                let Some(path) = self.paths.get(&name) else {
                    return true;
                };
                let Ok(iface) = server.interface::<_, InstanceObject>(path.as_str()).await else {
                    return true;
                };
                iface.get_mut().await.state = state;
                let _ = InstanceObject::vrrp_status_change(iface.signal_emitter(), state).await;
            }
            Event::Reloaded(now) => {
                let now: BTreeMap<String, String> =
                    now.into_iter().map(|i| (i.name, i.path)).collect();
                for (name, path) in &self.paths {
                    if now.get(name) != Some(path) {
                        let _ = server.remove::<InstanceObject, _>(path.as_str()).await;
                        info!("Deleted DBus object for instance {name}");
                    }
                }
                for (name, path) in &now {
                    if self.paths.get(name) != Some(path) {
                        let object = instance_object(name, &self.calls);
                        let _ = server.at(path.as_str(), object).await;
                    }
                }
                self.paths = now;
                self.signal_vrrp(Vrrp::Reloaded).await;
            }
            Event::Stop(done) => {
                self.signal_vrrp(Vrrp::Stopped).await;
                let _ = self.conn.release_name(self.service.as_str()).await;
                info!("Released DBus");
                let _ = done.send(());
                return false;
            }
        }
        true
    }
}

fn instance_object(name: &str, calls: &Calls) -> InstanceObject {
    InstanceObject {
        name: name.to_owned(),
        state: 0,
        requests: calls.requests.clone(),
    }
}

/// The system bus connection with the service's name and every object in place.
async fn connect(
    service: &str,
    vrrp_path: &str,
    instances: &[InstanceId],
    calls: &Calls,
) -> zbus::Result<zbus::Connection> {
    let mut builder = zbus::connection::Builder::system()?
        .name(service.to_owned())?
        .serve_at(vrrp_path.to_owned(), VrrpObject(calls.clone()))?;
    for i in instances {
        builder = builder.serve_at(i.path.clone(), instance_object(&i.name, calls))?;
    }
    builder.build().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_elements_as_keepalived_writes_them() {
        assert_eq!(path_element("eth0"), "eth0");
        assert_eq!(path_element("br-lan.10"), "br_lan_10");
        assert_eq!(path_element("vrrp.51"), "vrrp_51");
    }

    #[test]
    fn state_words() {
        assert_eq!(state_word(2), "Master");
        assert_eq!(state_word(1), "Backup");
        assert_eq!(state_word(42), "Unknown");
    }
}
