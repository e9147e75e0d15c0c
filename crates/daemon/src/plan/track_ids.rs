//! Stable tracker identifiers across reloads: a tracked object that is still configured the
//! same way (same kind, same name, same definition) keeps the [`TrackerId`] it had, so the
//! engine keeps its status and its tracker keeps running; a new or redefined object gets an id
//! never used before. Pure; unit-tested.

use std::collections::BTreeMap;

use keepalived_vrrp::{Tracked, TrackerId};

use crate::plan::tracks::TrackPlan;

/// The first id after every id `plan` uses (where fresh ids start).
pub fn next_after(plan: &TrackPlan) -> usize {
    let ids = plan
        .interfaces
        .iter()
        .map(|(id, _)| id.0)
        .chain(plan.scripts.iter().map(|(id, _)| id.0))
        .chain(plan.files.iter().map(|(id, _)| id.0))
        .chain(plan.processes.iter().map(|(id, _)| id.0));
    ids.max().map_or(0, |m| m + 1)
}

/// Renumbers `new` (a freshly planned configuration, ids from 0) against `old` (the running
/// plan): unchanged objects take their old ids, the others fresh ones from `next` (advanced).
pub fn stabilise(old: &TrackPlan, mut new: TrackPlan, next: &mut usize) -> TrackPlan {
    let mut map: BTreeMap<TrackerId, TrackerId> = BTreeMap::new();
    let mut fresh = || {
        let id = TrackerId(*next);
        *next += 1;
        id
    };
    for (id, name) in &mut new.interfaces {
        let to = old
            .interfaces
            .iter()
            .find(|(_, n)| n == name)
            .map_or_else(&mut fresh, |(i, _)| *i);
        map.insert(*id, to);
        *id = to;
    }
    for (id, s) in &mut new.scripts {
        let to = old
            .scripts
            .iter()
            .find(|(_, o)| o == s)
            .map_or_else(&mut fresh, |(i, _)| *i);
        map.insert(*id, to);
        *id = to;
    }
    for (id, f) in &mut new.files {
        let to = old
            .files
            .iter()
            .find(|(_, o)| o == f)
            .map_or_else(&mut fresh, |(i, _)| *i);
        map.insert(*id, to);
        *id = to;
    }
    for (id, p) in &mut new.processes {
        let to = old
            .processes
            .iter()
            .find(|(_, o)| o == p)
            .map_or_else(&mut fresh, |(i, _)| *i);
        map.insert(*id, to);
        *id = to;
    }
    let remap = |list: &mut Vec<Tracked>| {
        for t in list {
            if let Some(to) = map.get(&t.id) {
                t.id = *to;
            }
        }
    };
    for list in new.instances.values_mut() {
        remap(list);
    }
    for g in &mut new.groups {
        remap(&mut g.tracks);
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tracks::plan;

    fn planned(text: &str) -> TrackPlan {
        let read = keepalived_config::read_str("test.conf", text, &Default::default());
        plan(&read.config, |_| None)
    }

    fn conf(script: &str, extra_instance: bool) -> String {
        let mut s = format!(
            "vrrp_script chk {{\n    script \"{script}\"\n}}\nvrrp_script other {{\n    script \"/bin/true\"\n}}\n\
             vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    \
             track_interface {{\n        eth1\n    }}\n    track_script {{\n        chk\n        other\n    }}\n}}\n"
        );
        if extra_instance {
            s.push_str(
                "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    \
                 track_interface {\n        eth2\n    }\n    track_script {\n        other\n    }\n}\n",
            );
        }
        s
    }

    fn ids(plan: &TrackPlan, name: &str) -> Vec<usize> {
        plan.instances[name].iter().map(|t| t.id.0).collect()
    }

    #[test]
    fn same_configuration_keeps_every_id() {
        let old = planned(&conf("/bin/true", false));
        let mut next = next_after(&old);
        let new = stabilise(&old, planned(&conf("/bin/true", false)), &mut next);
        assert_eq!(ids(&new, "VI_1"), ids(&old, "VI_1"));
        assert_eq!(next, next_after(&old));
    }

    #[test]
    fn redefined_script_gets_a_fresh_id_and_others_keep_theirs() {
        let old = planned(&conf("/bin/true", false));
        let mut next = next_after(&old);
        let first = next;
        let new = stabilise(&old, planned(&conf("/bin/false", true)), &mut next);
        let (o, n) = (ids(&old, "VI_1"), ids(&new, "VI_1"));
        // Own interface eth0, eth1 and "other" keep their ids; "chk" changed its script (fresh
        // ids go to interfaces first: eth2, then chk).
        assert_eq!(n[0], o[0]);
        assert_eq!(n[1], o[1]);
        assert_eq!(n[3], o[3]);
        assert_eq!(n[2], first + 1);
        // VI_2's eth2 is new; its eth0 and "other" are the running ones.
        let v2 = ids(&new, "VI_2");
        assert_eq!(v2, vec![o[0], first, o[3]]);
        assert_eq!(next, first + 2);
        // No id is used twice for different objects.
        let mut all: Vec<usize> = new.interfaces.iter().map(|(i, _)| i.0).collect();
        all.extend(new.scripts.iter().map(|(i, _)| i.0));
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
