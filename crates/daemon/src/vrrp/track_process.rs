//! `vrrp_track_process`.
