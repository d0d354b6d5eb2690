//! The impure shell: every SDK call, file write and terminal write lives here.

pub mod apply;
pub mod aws;
pub mod backup;
pub mod diagnose;
pub mod drill;
pub mod input;
pub mod interrupt;
pub mod journal;
pub mod lock;
pub mod log;
pub mod metrics;
pub mod observe;
pub mod printer;
pub mod resource;
pub mod restore;
pub mod ssm;
pub mod store;
pub mod tags;
pub mod tls;
pub mod verify;
