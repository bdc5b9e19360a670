//! Integration tests: the real app on port 0, spoken to over HTTP and with the invocation JSON
//! the Functions host sends, on the embedded backends and on real emulators. One test binary,
//! so the dependencies link once.

mod accounts;
mod conformance;
mod courses;
mod coverage;
mod dashboard;
mod dev_host;
mod email;
mod emulators;
mod forms;
mod health;
mod helpers;
mod invocations;
mod keyvault_fake;
mod packaging;
