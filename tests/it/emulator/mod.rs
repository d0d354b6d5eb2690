//! The emulator behaves as AWS does where moto 5.2.5 does not (see emulator/launch.py and the
//! package emulator/keeper_emulator/): one file per AWS service, as the emulator has one module
//! per service, and one for the server itself. The corrections of IAM enforcement are proven
//! under an enforcing emulator of their own, in iam.rs.

mod cloudwatch;
mod events;
mod iam;
mod s3;
mod server;
mod ssm;

const R: &str = "us-east-1";
