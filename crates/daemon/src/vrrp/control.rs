//! The commands of the control socket and D-Bus to the VRRP engine: maintenance of an instance (a FAULT of
//! its own, [`FaultCause::Maintenance`]: a master resigns with a priority-0 advert, and the
//! instance stays out until taken out again; kept by name across reloads) and the dumps' text.

use keepalived_ctl::proto::DumpKind;
use keepalived_vrrp::{Action, Event, FaultCause, Instant, State};
use tracing::info;

use super::driver::Running;
use super::snapshot;
use crate::plan::convert::InstancePlan;
use crate::services::control::{EngineAnswer, EngineCommand};

impl Running {
    /// Carries out `command` at `now`; `json_v2`: the JSON dump's version.
    pub fn command(&mut self, now: Instant, command: EngineCommand, json_v2: bool) -> EngineAnswer {
        match command {
            EngineCommand::Maintenance { instance, on } => self.maintenance(now, &instance, on),
            EngineCommand::Dump { kind } => {
                let cx = snapshot::Context {
                    tracks: &self.tracks,
                    now,
                    last_transition: &|name| self.notifier.last_transition(name),
                    smtp_alert: &|name| self.notifier.smtp_alert(name),
                };
                let snap = snapshot::take(&self.engine, &self.links, &cx);
                EngineAnswer::done(match kind {
                    DumpKind::Data => snap.data_text(),
                    DumpKind::Stats => snap.stats_text(),
                    DumpKind::Json => {
                        let v = snap.json(json_v2);
                        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
                    }
                })
            }
            EngineCommand::Drain { .. } => {
                EngineAnswer::refused("drain is for real servers of the checker engine")
            }
        }
    }

    fn maintenance(&mut self, now: Instant, name: &str, on: bool) -> EngineAnswer {
        let Some(r) = self.live_by_name().get(name).copied() else {
            return EngineAnswer::refused(format!("no vrrp_instance {name:?}"));
        };
        let changed = if on {
            self.maintenance.insert(name.to_owned())
        } else {
            self.maintenance.remove(name)
        };
        let event = if on {
            Event::FaultRaised(FaultCause::Maintenance)
        } else {
            Event::FaultCleared(FaultCause::Maintenance)
        };
        let word = if on { "on" } else { "off" };
        info!("({name}) maintenance {word} (asked on the control socket)");
        self.engine.handle_instance_event(now, r, event);
        let already = if changed { "" } else { " (already)" };
        EngineAnswer::done(format!("{name}: maintenance {word}{already}"))
    }

    /// After a reload: the instances still in maintenance are put in it again (an instance
    /// the reload rebuilt starts without it); those gone are forgotten.
    pub fn reapply_maintenance(&mut self, now: Instant) {
        let live = self.live_by_name();
        self.maintenance.retain(|name| live.contains_key(name));
        for name in &self.maintenance {
            if let Some(r) = live.get(name) {
                let event = Event::FaultRaised(FaultCause::Maintenance);
                self.engine.handle_instance_event(now, *r, event);
            }
        }
    }
}

impl Running {
    /// D-Bus's SendGarp: one round of gratuitous ARPs (unsolicited neighbour adverts) for the
    /// addresses of instance `name`, as keepalived: only while it is master.
    pub fn send_garp(&mut self, name: &str) {
        let Some(r) = self.live_by_name().get(name).copied() else {
            return;
        };
        if self.engine.instance(r).map(|i| i.state()) != Some(State::Master) {
            return;
        }
        info!("Sending garps on {name} on DBus request");
        if let Some(link) = self.links.get_mut(r.link) {
            let garp = Action::SendGratuitous { count: 1 };
            link.execute(r.id, garp, self.engine.router(r.link));
        }
    }

    /// The plans of the instances running.
    pub fn live_plans(&self) -> impl Iterator<Item = &InstancePlan> {
        self.links
            .iter()
            .flat_map(|l| l.live_ids().into_iter().filter_map(|id| l.plans.get(id)))
    }
}
