//! `control_socket PATH` and `control_socket_group GROUP` (keepalived-rs keywords of
//! `global_defs`): the default, the values taken, and the refused ones named at their place.

use super::{errors, read};

#[test]
fn default_and_given() {
    let r = read("global_defs {\n router_id r1\n}\n");
    assert_eq!(r.config.global.defs.control_socket, None);
    assert_eq!(r.config.global.defs.control_socket_group, None);
    let r = read("global_defs {\n control_socket /run/ka/ctl.sock\n control_socket_group adm\n}\n");
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(
        r.config.global.defs.control_socket.as_deref(),
        Some(std::path::Path::new("/run/ka/ctl.sock"))
    );
    assert_eq!(
        r.config.global.defs.control_socket_group.as_deref(),
        Some("adm")
    );
}

#[test]
fn relative_paths_and_directories_are_errors_at_their_place() {
    let r = read(
        "global_defs {\n control_socket /run/ka.ctl\n control_socket ka.ctl\n \
         control_socket /run/\n control_socket\n}\n",
    );
    let errs = errors(&r);
    for line in 3..=5 {
        assert!(
            errs.iter().any(|(l, _)| *l == line),
            "line {line}: {errs:?}"
        );
    }
    assert!(
        errs.iter()
            .any(|(l, m)| *l == 3 && m.contains("`control_socket` expects an absolute file path")),
        "{errs:?}"
    );
    assert_eq!(
        r.config.global.defs.control_socket.as_deref(),
        Some(std::path::Path::new("/run/ka.ctl"))
    );
}
