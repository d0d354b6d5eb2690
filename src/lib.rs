//! ssm-keeper: plan, apply and back up the SSM Parameter Store backup stack against live AWS.
//! Dependencies point inward: cli -> app -> shell -> core.

pub mod app;
pub mod cli;
pub mod core;
pub mod shell;
