//! The pure core: stack file -> desired state -> diff -> plan -> rendering, and the backup
//! job's contract. No tokio, no AWS SDK types, no filesystem, no environment, no printing.

pub mod alarm;
pub mod at;
pub mod backup;
pub mod cause;
pub mod changes;
pub mod dashboard;
pub mod desired;
pub mod diff;
pub mod document;
pub mod drill;
#[cfg(test)]
mod fuzz;
pub mod iam;
pub mod journal;
pub mod live;
pub mod lock;
pub mod model;
pub mod newest;
pub mod pacing;
pub mod plan;
pub mod policy;
pub mod region;
pub mod render;
pub mod resource;
pub mod restore;
pub mod selection;
pub mod settings;
pub mod snapshots;
pub mod stack;
pub mod stamp;
pub mod store;
pub mod terminal;
pub mod verify;
