//! Whether a process is one a `vrrp_track_process` counts: its name, or its command line and
//! parameters (`param_match`).

use keepalived_config::model::vrrp::{ParamMatch, TrackProcess};

/// The longest name the kernel keeps for a process (`TASK_COMM_LEN` - 1).
pub(crate) const COMM_MAX: usize = 15;

/// How parameters are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Params {
    /// No `param_match` and no parameters: any parameters.
    Any,
    /// Exactly the configured parameters, no more.
    Exact,
    /// `partial`: the configured parameters first, others may follow.
    Partial,
    /// `initial`: like partial, and the last configured one may be a prefix.
    Initial,
}

/// Matches `/proc/PID/comm` and `/proc/PID/cmdline` against one `vrrp_track_process`.
///
/// As keepalived: without parameters, `param_match` or `full_command`, the process name
/// (`comm`, at most 15 bytes) must equal `process` exactly (`pgrep '^NAME$'`, not a regular
/// expression). Otherwise the command line is used: its first word (`argv[0]`, as the process
/// was started: a path if it was started by path) must equal `process`, and its other words
/// are compared with the parameters as `param_match` says (exact by default).
#[derive(Clone, Debug)]
pub(crate) struct Matcher {
    process: Vec<u8>,
    params: Vec<Vec<u8>>,
    mode: Params,
    full_command: bool,
}

impl Matcher {
    /// The matcher for `tp`.
    pub(crate) fn new(tp: &TrackProcess) -> Self {
        let mode = match tp.param_match {
            Some(ParamMatch::Exact) => Params::Exact,
            Some(ParamMatch::Partial) => Params::Partial,
            Some(ParamMatch::Initial) => Params::Initial,
            None if tp.params.is_empty() => Params::Any,
            None => Params::Exact,
        };
        Self {
            process: tp.process.as_bytes().to_vec(),
            params: tp.params.iter().map(|p| p.as_bytes().to_vec()).collect(),
            mode,
            full_command: tp.full_command || tp.param_match.is_some() || !tp.params.is_empty(),
        }
    }

    /// Whether the command line is needed (else only the name).
    pub(crate) fn full_command(&self) -> bool {
        self.full_command
    }

    /// Whether the name can ever match (`comm` is at most 15 bytes).
    pub(crate) fn can_match(&self) -> bool {
        self.full_command || self.process.len() <= COMM_MAX
    }

    /// How many bytes of the command line suffice to decide (one more than the longest
    /// command line that can match, so that extra parameters are seen).
    pub(crate) fn cmdline_needed(&self) -> usize {
        let words: usize = self.params.iter().map(|p| p.len() + 1).sum();
        self.process.len() + 1 + words + 1
    }

    /// Whether a process of this name matches (for name-only matchers).
    pub(crate) fn matches_comm(&self, comm: &[u8]) -> bool {
        !self.full_command && comm == self.process.as_slice()
    }

    /// Whether a process with this name and command line (NUL-separated words, possibly
    /// truncated to [`cmdline_needed`](Self::cmdline_needed)) matches.
    pub(crate) fn matches(&self, comm: &[u8], cmdline: &[u8]) -> bool {
        if !self.full_command {
            return self.matches_comm(comm);
        }
        let body = cmdline.strip_suffix(b"\0").unwrap_or(cmdline);
        if body.is_empty() {
            // Kernel threads and zombies have no command line.
            return false;
        }
        let mut words = body.split(|&b| b == 0);
        if words.next() != Some(self.process.as_slice()) {
            return false;
        }
        let args: Vec<&[u8]> = words.collect();
        let want = &self.params;
        match self.mode {
            Params::Any => true,
            Params::Exact => args.len() == want.len() && args.iter().zip(want).all(|(a, w)| a == w),
            Params::Partial => {
                args.len() >= want.len() && args.iter().zip(want).all(|(a, w)| a == w)
            }
            Params::Initial => {
                let Some((last, first)) = want.split_last() else {
                    return true;
                };
                args.len() >= want.len()
                    && args.iter().zip(first).all(|(a, w)| a == w)
                    && args[first.len()].starts_with(last)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tp(process: &str, params: &[&str], pm: Option<ParamMatch>, full: bool) -> Matcher {
        Matcher::new(&TrackProcess {
            name: "t".into(),
            loc: keepalived_config::Loc::default(),
            process: process.into(),
            params: params.iter().map(|s| (*s).to_owned()).collect(),
            param_match: pm,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
            full_command: full,
        })
    }

    #[test]
    fn name_only_is_an_exact_comm_match() {
        let m = tp("sshd", &[], None, false);
        assert!(!m.full_command());
        assert!(m.matches(b"sshd", b""));
        assert!(!m.matches(b"ssh", b"ssh\0"));
        assert!(!m.matches(b"sshd2", b"sshd\0"));
        assert!(!tp("abcdefghijklmnop", &[], None, false).can_match());
        assert!(tp("abcdefghijklmnop", &[], None, true).can_match());
    }

    #[test]
    fn full_command_compares_argv0_and_takes_any_params() {
        let m = tp("/usr/sbin/haproxy", &[], None, true);
        assert!(m.full_command());
        assert!(m.matches(b"haproxy", b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0"));
        assert!(m.matches(b"x", b"/usr/sbin/haproxy\0"));
        assert!(!m.matches(b"haproxy", b"haproxy\0-f\0"));
        assert!(!m.matches(b"haproxy", b""));
    }

    #[test]
    fn param_match_alone_means_no_params() {
        let m = tp("nginx", &[], Some(ParamMatch::Exact), false);
        assert!(m.full_command());
        assert!(m.matches(b"nginx", b"nginx\0"));
        assert!(!m.matches(b"nginx", b"nginx\0-g\0"));
        // partial/initial with no params: anything.
        assert!(tp("nginx", &[], Some(ParamMatch::Partial), false).matches(b"", b"nginx\0-g\0"));
        assert!(tp("nginx", &[], Some(ParamMatch::Initial), false).matches(b"", b"nginx\0"));
    }

    /// A command line as /proc/PID/cmdline shows it.
    fn cl(words: &[&str]) -> Vec<u8> {
        words.iter().flat_map(|w| w.bytes().chain([0])).collect()
    }

    #[test]
    fn exact_partial_initial() {
        let exact = tp("sleep", &["300"], None, false);
        assert!(exact.full_command());
        assert!(exact.matches(b"", &cl(&["sleep", "300"])));
        assert!(!exact.matches(b"", &cl(&["sleep", "300", "1"])));
        assert!(!exact.matches(b"", &cl(&["sleep", "3000"])));
        assert!(!exact.matches(b"", &cl(&["sleep"])));

        let partial = tp("sleep", &["300"], Some(ParamMatch::Partial), false);
        assert!(partial.matches(b"", &cl(&["sleep", "300"])));
        assert!(partial.matches(b"", &cl(&["sleep", "300", "1"])));
        assert!(!partial.matches(b"", &cl(&["sleep", "3000"])));
        assert!(!partial.matches(b"", &cl(&["sleep"])));

        let initial = tp("sleep", &["a", "30"], Some(ParamMatch::Initial), false);
        assert!(initial.matches(b"", &cl(&["sleep", "a", "300"])));
        assert!(initial.matches(b"", &cl(&["sleep", "a", "30"])));
        assert!(initial.matches(b"", &cl(&["sleep", "a", "3000", "x"])));
        assert!(!initial.matches(b"", &cl(&["sleep", "ab", "300"])));
        assert!(!initial.matches(b"", &cl(&["sleep", "a", "3"])));
        assert!(!initial.matches(b"", &cl(&["sleep", "a"])));
    }

    #[test]
    fn truncated_cmdline_still_sees_extra_params() {
        let m = tp("sleep", &["300"], None, false);
        for (words, want) in [
            (&["sleep", "300", "000000000"][..], false),
            (&["sleep", "3000000000"][..], false),
            (&["sleep", "300"][..], true),
        ] {
            let full = cl(words);
            let cut = &full[..m.cmdline_needed().min(full.len())];
            assert_eq!(m.matches(b"", cut), want, "{words:?}");
        }
        let initial = tp("sleep", &["30"], Some(ParamMatch::Initial), false);
        let full = cl(&["sleep", "300000000"]);
        assert!(initial.matches(b"", &full[..initial.cmdline_needed()]));
    }
}
