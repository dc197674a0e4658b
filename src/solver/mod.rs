//! The solver: walks the build graph from the requested target, runs ready
//! vertices on rayon, and looks results up in the cache. It never prints; it
//! tells a [`event::Reporter`] what happens, and `progress` renders that.
//!
//! Today this module holds only the event vocabulary; the scheduler lands here.

pub mod event;
