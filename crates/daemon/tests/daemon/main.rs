//! The daemon's processes and services in lab namespaces, one test binary: [`supervisor`] (the
//! parent and its engines), [`watchdog`] (engines that stop answering), [`daemon_mode`]
//! (daemon mode, network namespaces, umask), [`capabilities`] (the documented minimal set),
//! [`dumps`] (state dumps on signals), [`alerts`] (SMTP alerts) and [`checkers`] (real servers
//! checked, removed and restored), [`metrics`] (Prometheus metrics, scraped by a real
//! Prometheus). Needs root; documentation addresses only.

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod capabilities;
mod checkers;
mod control;
mod daemon_mode;
mod dumps;
mod metrics;
mod supervisor;
mod watchdog;
