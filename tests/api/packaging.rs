//! The deployable package layout.
