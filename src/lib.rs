//! ssm-keeper: plan, apply and back up the SSM Parameter Store backup stack against live AWS.
//! Dependencies point inward: cli -> app -> shell -> core.

pub mod core;
