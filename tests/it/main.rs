//! Integration tests: the CLI and the shell against the local AWS emulator (moto, corrected by
//! emulator/launch.py with emulator/keeper_emulator/). One binary; one emulator for the whole
//! run; each test isolates itself with its own environment name (and so its own buckets and SSM
//! paths).

mod alarm;
mod backup;
mod bench_latency;
mod bench_quota;
mod cli;
mod common;
mod config;
mod copies;
mod dashboard;
mod doc_commands;
mod docs;
mod drill;
mod emulator;
mod faults;
mod hold;
mod iam;
mod integrity;
mod journal;
mod kms;
mod lock;
mod makefile;
mod network;
mod object_lock;
mod plan_apply;
mod plan_schema;
mod proxy;
mod quotas;
mod restore;
mod roundtrip;
mod secrets;
mod trust;
mod verify;
mod workflows;
