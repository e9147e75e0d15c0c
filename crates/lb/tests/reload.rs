//! A reload at the reconciler level: the desired table of the new configuration against what
//! the old one programmed. Unchanged services and real servers are not touched; one changed
//! weight is exactly one destination edit.

use keepalived_lb::diff::{Change, Owned, apply, diff};
use keepalived_lb::table::{Table, desired};

fn conf(w: u32, extra: &str) -> String {
    let mut s = String::new();
    for v in 1..=3 {
        s.push_str(&format!(
            "virtual_server 192.0.2.{v} 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
        ));
        for r in 1..=3 {
            let weight = if v == 2 && r == 2 { w } else { 1 };
            s.push_str(&format!(
                " real_server 198.51.100.{r} 80 {{\n weight {weight}\n }}\n"
            ));
        }
        s.push_str("}\n");
    }
    s.push_str(extra);
    s
}

fn table_of(text: &str) -> Table {
    let c = keepalived_config::read_str("t.conf", text, &Default::default()).config;
    desired(&c, &|_, _| None, &mut Vec::new())
}

/// Programs `old` from scratch, then returns the changes the reload to `new` makes.
fn reload(old: &str, new: &str) -> Vec<Change> {
    let mut kernel = Table::new();
    let mut owned = Owned::default();
    let first = diff(&kernel, &table_of(old), &owned);
    apply(&mut kernel, &first);
    owned.apply(&first);
    let changes = diff(&kernel, &table_of(new), &owned);
    apply(&mut kernel, &changes);
    assert_eq!(kernel, table_of(new), "the reload reaches the new table");
    changes
}

#[test]
fn one_changed_weight_is_one_destination_edit() {
    let changes = reload(&conf(1, ""), &conf(5, ""));
    assert_eq!(changes.len(), 1, "{changes:?}");
    let Change::EditDest(k, addr, d) = &changes[0] else {
        panic!("{changes:?}");
    };
    assert_eq!(
        format!("{k:?}"),
        format!("{:?}", table_of(&conf(5, "")).keys().nth(1).expect("key"))
    );
    assert_eq!(addr.to_string(), "198.51.100.2:80");
    assert_eq!(d.weight, 5);
}

#[test]
fn an_unchanged_configuration_changes_nothing() {
    assert!(reload(&conf(1, ""), &conf(1, "")).is_empty());
}

#[test]
fn added_and_removed_virtual_servers_touch_only_themselves() {
    let extra = "virtual_server 192.0.2.9 443 {\n lb_algo wlc\n lb_kind DR\n protocol TCP\n \
                 real_server 198.51.100.9 443 {\n weight 2\n }\n}\n";
    let added = reload(&conf(1, ""), &conf(1, extra));
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(matches!(added[0], Change::AddService(..)));
    assert!(matches!(added[1], Change::AddDest(..)));
    let removed = reload(&conf(1, extra), &conf(1, ""));
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(matches!(removed[0], Change::DelService(..)));
}
