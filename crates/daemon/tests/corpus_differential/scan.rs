//! A small scan of a configuration file (and the files it includes), independent of
//! keepalived-rs's reader: which interfaces, script commands, addresses and paths it names, where
//! its blocks open and close, and which VRRP instances it defines. The "prepared" host is built
//! from it, so both implementations see the same host whatever either one understands.
//!
//! The scan over-approximates on purpose: conditional lines (`@ID`) are read whatever their ID,
//! and tokens holding a `$` parameter are left out, so a prepared host may have an interface or
//! a stub more than the file needs; both implementations see that same host.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Keywords whose arguments form a command line (its first word is the program run).
const COMMAND_KEYWORDS: &[&str] = &[
    "script",
    "misc_path",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "notify_up",
    "notify_down",
    "quorum_up",
    "quorum_down",
    "startup_script",
    "shutdown_script",
    "notify_fifo_script",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo_script",
];

/// Keywords whose first argument is an interface name.
const INTERFACE_KEYWORDS: &[&str] = &[
    "interface",
    "lvs_sync_daemon",
    "lvs_sync_daemon_interface",
    "default_interface",
    "bind_if",
    "dev",
    "oif",
    "iif",
];

/// Blocks whose statements each start with an interface name.
const INTERFACE_BLOCKS: &[&str] = &["track_interface", "interfaces", "linkbeat_interfaces"];

/// Keywords whose argument is one of the instance's own addresses on its interface.
const SOURCE_KEYWORDS: &[&str] = &["unicast_src_ip", "mcast_src_ip"];

/// One file read by the scan.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    /// The path as the includer named it (absolute for the main file).
    pub path: PathBuf,
    /// Every block as (line of its `{`... opening statement, line of its `}`), 1-based.
    pub blocks: Vec<(u32, u32)>,
    /// Lines whose only token is `}` (after the conditional prefix and comments).
    pub closing_lines: BTreeSet<u32>,
}

/// A `vrrp_instance` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceBlock {
    /// The instance's name.
    pub name: String,
    /// Index into [`Scan::files`].
    pub file: usize,
    /// First line of the block.
    pub open: u32,
    /// Line of its closing `}` (the last line of the file when it is never closed).
    pub close: u32,
}

/// What a configuration names.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The main file first, then each included file once.
    pub files: Vec<ScannedFile>,
    /// Interface names (VMAC names excluded: the daemons create those).
    pub interfaces: BTreeSet<String>,
    /// Names given to `use_vmac`.
    pub vmacs: BTreeSet<String>,
    /// The instances' own source addresses, per interface.
    pub addresses: BTreeMap<String, BTreeSet<String>>,
    /// The program (first word) of every command line.
    pub commands: BTreeSet<String>,
    /// Every absolute path among the arguments, but those of command lines and URL paths.
    pub paths: BTreeSet<PathBuf>,
    /// The VRRP instances.
    pub instances: Vec<InstanceBlock>,
    /// Whether the file defines a `virtual_server` (then it is compared by `-t` only).
    pub has_virtual_server: bool,
}

impl Scan {
    /// Scans `path` and what it includes.
    pub fn of(path: &Path) -> Scan {
        let mut scan = Scan::default();
        let mut seen = BTreeSet::new();
        scan.read(path, &mut seen, 0);
        scan.interfaces.retain(|i| !scan.vmacs.contains(i));
        scan
    }

    /// The index of the scanned file named `name` (compared canonically, else by file name).
    pub fn file_index(&self, name: &str) -> Option<usize> {
        let wanted = Path::new(name);
        let canon = std::fs::canonicalize(wanted).ok();
        self.files
            .iter()
            .position(|f| {
                canon.is_some() && std::fs::canonicalize(&f.path).ok() == canon || f.path == wanted
            })
            .or_else(|| {
                let base = wanted.file_name()?;
                self.files
                    .iter()
                    .position(|f| f.path.file_name() == Some(base))
            })
    }

    fn read(&mut self, path: &Path, seen: &mut BTreeSet<PathBuf>, depth: usize) {
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if depth > 8 || !seen.insert(canon) {
            return;
        }
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes);
        let index = self.files.len();
        self.files.push(ScannedFile {
            path: path.to_path_buf(),
            blocks: Vec::new(),
            closing_lines: BTreeSet::new(),
        });
        let mut st = ReadState::default();
        let mut last_line = 0;
        for (n, raw) in text.lines().enumerate() {
            let line_no = u32::try_from(n + 1).unwrap_or(u32::MAX);
            last_line = line_no;
            let tokens = tokens(raw);
            if tokens.len() == 1 && tokens[0] == "}" {
                self.files[index].closing_lines.insert(line_no);
            }
            // Statements end at a line's end and at each brace.
            let mut statement: Vec<String> = Vec::new();
            for token in tokens {
                match token.as_str() {
                    "{" => self.flush(&mut st, std::mem::take(&mut statement), true, line_no),
                    "}" => {
                        self.flush(&mut st, std::mem::take(&mut statement), false, line_no);
                        if let Some((keyword, arg, open)) = st.stack.pop() {
                            self.close_block(index, &keyword, arg, open, line_no);
                            if keyword == "vrrp_instance" {
                                self.attach_sources(&st.interface, &mut st.sources);
                            }
                        }
                    }
                    _ => statement.push(token),
                }
            }
            self.flush(&mut st, statement, false, line_no);
        }
        while let Some((keyword, arg, open)) = st.stack.pop() {
            self.close_block(index, &keyword, arg, open, last_line);
        }
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        for pattern in st.includes {
            for file in glob(&dir, &pattern) {
                self.read(&file, seen, depth + 1);
            }
        }
    }

    /// One statement (the words up to a line end or a brace); `opens` when a `{` ends it.
    fn flush(&mut self, st: &mut ReadState, words: Vec<String>, opens: bool, line_no: u32) {
        let in_block = st.stack.last().map(|(k, _, _)| k.as_str());
        if let Some(first) = words.first() {
            if in_block.is_some_and(|k| INTERFACE_BLOCKS.contains(&k)) && !opens {
                if usable(first) {
                    self.interfaces.insert(first.clone());
                }
            } else {
                self.statement(&words, &mut st.interface, &mut st.sources);
                if first.starts_with("include") && words.len() > 1 {
                    st.includes.extend(words.get(1).cloned());
                }
            }
        }
        if opens {
            let keyword = words.first().cloned().unwrap_or_default();
            if keyword == "vrrp_instance" {
                st.interface = None;
                st.sources.clear();
            }
            st.stack.push((keyword, words.get(1).cloned(), line_no));
        }
    }

    fn statement(
        &mut self,
        words: &[String],
        current_interface: &mut Option<String>,
        pending_sources: &mut Vec<String>,
    ) {
        let first = words[0].as_str();
        // Paths a daemon may write (track files, FIFOs, dumps): the arguments of any keyword
        // but a command line's (its program is a command; its arguments are the script's
        // business) and an HTTP check's `path` (a URL path).
        if !COMMAND_KEYWORDS.contains(&first) && first != "path" {
            for w in words[1..].iter().flat_map(|w| w.split_whitespace()) {
                if w.starts_with('/') && w.len() > 1 && !w.contains('$') {
                    self.paths.insert(PathBuf::from(w));
                }
            }
        }
        if first == "virtual_server" {
            self.has_virtual_server = true;
        }
        if first == "use_vmac" {
            self.vmacs
                .extend(words.get(1).filter(|w| usable(w)).cloned());
        }
        if first == "interface" {
            *current_interface = words.get(1).cloned();
        }
        if SOURCE_KEYWORDS.contains(&first) {
            // Both implementations ignore what follows `/` or `-` (`192.0.2.1/24`), as
            // keepalived's address reader does: the host gets the address itself.
            pending_sources.extend(
                words
                    .get(1)
                    .map(|w| w.split(['/', '-']).next().unwrap_or(w).to_owned()),
            );
        }
        if COMMAND_KEYWORDS.contains(&first) {
            // `script "/path arg"` or `script /path arg`: the program is the first word.
            if let Some(program) = words
                .get(1)
                .and_then(|w| w.split_whitespace().next())
                .filter(|p| !p.contains('$'))
            {
                self.commands.insert(program.to_owned());
            }
        }
        // `dev X`, `oif X` may follow other words (addresses, routes, rules).
        for (i, w) in words.iter().enumerate() {
            let keyword_position = i == 0 || matches!(w.as_str(), "dev" | "oif" | "iif");
            if keyword_position
                && INTERFACE_KEYWORDS.contains(&w.as_str())
                && let Some(name) = words.get(i + 1).filter(|n| usable(n))
            {
                self.interfaces.insert(name.clone());
            }
        }
    }

    fn close_block(
        &mut self,
        file: usize,
        keyword: &str,
        arg: Option<String>,
        open: u32,
        close: u32,
    ) {
        self.files[file].blocks.push((open, close));
        if keyword == "vrrp_instance"
            && let Some(name) = arg
        {
            self.instances.push(InstanceBlock {
                name,
                file,
                open,
                close,
            });
        }
    }

    fn attach_sources(&mut self, interface: &Option<String>, sources: &mut Vec<String>) {
        let Some(ifname) = interface.as_ref().filter(|i| usable(i)) else {
            sources.clear();
            return;
        };
        for s in sources.drain(..) {
            if s.parse::<std::net::IpAddr>().is_ok() {
                self.addresses.entry(ifname.clone()).or_default().insert(s);
            }
        }
    }
}

/// The state of one file's scan.
#[derive(Default)]
struct ReadState {
    /// Open blocks: keyword, its argument, line of the statement that opened it.
    stack: Vec<(String, Option<String>, u32)>,
    /// The `interface` of the VRRP instance being read.
    interface: Option<String>,
    /// Its `unicast_src_ip` / `mcast_src_ip`.
    sources: Vec<String>,
    /// Include patterns met.
    includes: Vec<String>,
}

/// Whether `name` can be an interface we create: a Linux interface name without parameters.
fn usable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "lo"
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
        && !name.contains('@')
        && name.parse::<std::net::IpAddr>().is_err()
}

/// The words of one line: conditional prefix (`@ID`, `@^ID`) dropped, comments (a word starting
/// with `#` or `!`) cut, quoted strings kept as one word without their quotes, braces separate.
pub fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.trim_start().chars().peekable();
    if line.trim_start().starts_with('@') {
        // Skip the condition word.
        for c in chars.by_ref() {
            if c.is_whitespace() {
                break;
            }
        }
    }
    let mut word = String::new();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if !in_word => {
                let mut quoted = String::new();
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    quoted.push(q);
                }
                out.push(quoted);
            }
            '#' | '!' if !in_word => break,
            '{' | '}' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// Files matching an include pattern (`*` and `?` in any component), relative to `dir`.
fn glob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let start = if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        dir.to_path_buf()
    };
    let mut current = vec![start];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            if part.contains(['*', '?']) {
                let Ok(entries) = std::fs::read_dir(base) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') && wildcard(part.as_bytes(), n.as_bytes()))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                next.push(base.join(part));
            }
        }
        current = next;
    }
    current.into_iter().filter(|p| p.is_file()).collect()
}

/// Shell-style match of `*` and `?`.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard(&pattern[1..], name) || (!name.is_empty() && wildcard(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => wildcard(&pattern[1..], &name[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_handle_quotes_comments_braces_and_conditions() {
        assert_eq!(
            tokens(r#"@main script "/bin/check arg" # comment"#),
            ["script", "/bin/check arg"]
        );
        assert_eq!(
            tokens("track_interface {eth0 weight 5}"),
            ["track_interface", "{", "eth0", "weight", "5", "}"]
        );
        assert!(tokens("! whole comment").is_empty());
    }

    #[test]
    fn a_file_names_interfaces_commands_and_instances() {
        let dir = std::env::temp_dir().join(format!("kacorpus-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let main = dir.join("main.conf");
        std::fs::write(
            dir.join("inc.conf"),
            "vrrp_script s {\n  script \"/opt/x/check.sh a\"\n}\n",
        )
        .unwrap();
        std::fs::write(
            &main,
            "global_defs {\n  notify_fifo /run/ka.fifo\n}\n\
             vrrp_instance VI_1 {\n  interface bond0\n  unicast_src_ip 192.0.2.5\n\
             use_vmac vrrp.9\n  track_interface {\n    eth1 weight 5\n  }\n\
             virtual_ipaddress {\n    192.0.2.9/24 dev eth0.100\n  }\n\
             notify_master \"killall -HUP x\"\n}\ninclude inc.conf\n",
        )
        .unwrap();
        let scan = Scan::of(&main);
        std::fs::remove_dir_all(&dir).unwrap();
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(scan.interfaces, set(&["bond0", "eth0.100", "eth1"]));
        assert_eq!(scan.commands, set(&["/opt/x/check.sh", "killall"]));
        assert_eq!(scan.addresses["bond0"], set(&["192.0.2.5"]));
        assert_eq!(scan.paths, [PathBuf::from("/run/ka.fifo")].into());
        assert_eq!(scan.files.len(), 2);
        assert_eq!(scan.instances.len(), 1);
        assert_eq!((scan.instances[0].open, scan.instances[0].close), (4, 15));
        assert!(scan.files[0].closing_lines.contains(&15));
        assert!(!scan.has_virtual_server);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*.conf", b"a.conf"));
        assert!(!wildcard(b"*.conf", b"a.cfg"));
        assert!(wildcard(b"a?c", b"abc"));
    }
}
