//! Where a script's program is (a path, or a name looked up in `PATH`) and whether running it
//! as root is safe (every directory entry on its path owned and writable only by root), asked
//! of the host through [`HostLookup`].

use std::path::{Path, PathBuf};

use super::lookup::{FileKind, HostLookup};

/// Where programs are looked up when `PATH` is not set (glibc's `execvp` default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The executable a script's first word names: a path, or a name looked up in `PATH`.
pub fn find_program(host: &dyn HostLookup, program: &str) -> Option<PathBuf> {
    let executable = |p: &Path| host.metadata(p).is_ok_and(|m| m.is_executable_file());
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = host.search_path().unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// The file a script's first word names and whether it is executable: a path as written (any
/// file, executable or not, as keepalived finds it before judging it), or a name looked up in
/// `PATH` (only executables count, as for `execvp`). `None` when there is no such file.
pub fn locate(host: &dyn HostLookup, program: &str) -> Option<(PathBuf, bool)> {
    if program.contains('/') {
        let meta = host.metadata(Path::new(program)).ok()?;
        return Some((PathBuf::from(program), meta.is_executable_file()));
    }
    find_program(host, program).map(|p| (p, true))
}

/// Most symbolic links followed while checking one path (as the kernel's `ELOOP` limit).
const MAX_SYMLINKS: usize = 40;

/// Why running `path` as root would not be safe, or `None` when only root can change what runs.
///
/// Every directory entry met while resolving the path is checked, symbolic links included (the
/// link itself and everything its target names): each must be owned by root, and each
/// directory and the final file must not be writable by anyone but root (group-writable is
/// allowed for group 0; a sticky directory such as `/tmp` may be writable by others, since only
/// the owner of an entry, here root, can replace it). A path that cannot be resolved is unsafe.
pub fn insecure_path(host: &dyn HostLookup, path: &Path) -> Option<String> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match host.current_dir() {
            Ok(cwd) => cwd.join(path),
            Err(e) => return Some(format!("cannot resolve {}: {e}", path.display())),
        }
    };
    let root = Path::new("/");
    if let Some(why) = unsafe_entry(host, root) {
        return Some(why);
    }
    let mut pending: Vec<std::ffi::OsString> = components_reversed(&absolute);
    let mut current = PathBuf::from("/");
    let mut links = 0usize;
    while let Some(name) = pending.pop() {
        if name == "/" {
            current = PathBuf::from("/");
            continue;
        }
        if name == ".." {
            current.pop();
            continue;
        }
        let next = current.join(&name);
        if let Some(why) = unsafe_entry(host, &next) {
            return Some(why);
        }
        let meta = match host.symlink_metadata(&next) {
            Ok(m) => m,
            Err(e) => return Some(format!("cannot examine {}: {e}", next.display())),
        };
        if meta.kind == FileKind::Symlink {
            links += 1;
            if links > MAX_SYMLINKS {
                return Some(format!("too many symbolic links in {}", path.display()));
            }
            let target = match host.read_link(&next) {
                Ok(t) => t,
                Err(e) => return Some(format!("cannot read link {}: {e}", next.display())),
            };
            pending.extend(components_reversed(&target));
        } else {
            current = next;
        }
    }
    None
}

/// The components of `path` as names, last first (`/` for the root, `..` kept, `.` dropped).
fn components_reversed(path: &Path) -> Vec<std::ffi::OsString> {
    use std::path::Component;
    let mut out: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::RootDir | Component::Prefix(_) => Some("/".into()),
            Component::CurDir => None,
            Component::ParentDir => Some("..".into()),
            Component::Normal(n) => Some(n.to_os_string()),
        })
        .collect();
    out.reverse();
    out
}

/// Why the directory entry `p` (not following a final symbolic link) could be changed by
/// someone other than root.
fn unsafe_entry(host: &dyn HostLookup, p: &Path) -> Option<String> {
    let meta = match host.symlink_metadata(p) {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot examine {}: {e}", p.display())),
    };
    if meta.uid != 0 {
        return Some(format!("{} is owned by uid {}", p.display(), meta.uid));
    }
    if meta.kind == FileKind::Symlink {
        // A link's own mode bits mean nothing; its owner (root) and its directory count.
        return None;
    }
    let sticky_dir = meta.kind == FileKind::Dir && meta.mode & 0o1000 != 0;
    let group_writable = meta.mode & 0o020 != 0 && meta.gid != 0 && !sticky_dir;
    let other_writable = meta.mode & 0o002 != 0 && !sticky_dir;
    if group_writable {
        return Some(format!("{} is writable by group {}", p.display(), meta.gid));
    }
    if other_writable {
        return Some(format!("{} is writable by every user", p.display()));
    }
    None
}
