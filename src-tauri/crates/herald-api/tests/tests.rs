//! The owner API between two real processes' worth of parts: see each module.
