//! Background jobs: trigger functions run by the Functions host (or the dev host) on timers and
//! queues.

pub mod cleanup;
