//! The local dev host: timers on their schedule and the admin "run now" door.
