//! The lab's error type: which command failed and what it printed.

/// Everything that can go wrong while building or querying a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command ran but exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for display.
        command: String,
        /// How it exited (e.g. `exit status: 2`).
        status: String,
        /// What it wrote on standard error (trimmed).
        stderr: String,
    },
    /// A command could not be started at all (e.g. `ip` is not installed).
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line, for display.
        command: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An argument given to the lab is unusable (a name with bad characters
    /// or too long, an address that does not parse, ...).
    #[error("invalid argument {value:?}: {reason}")]
    InvalidArgument {
        /// The offending value.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A command succeeded but its output could not be understood.
    #[error("unexpected output from `{command}`: {detail}")]
    Parse {
        /// The command line, for display.
        command: String,
        /// What was wrong with the output.
        detail: String,
    },
}

/// Shorthand for results whose error is [`LabError`].
pub type Result<T, E = LabError> = std::result::Result<T, E>;
