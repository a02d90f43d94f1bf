//! The Herald app: the desktop window (Tauri) and the command line, two thin faces over
//! `herald_core` in one binary.

pub mod cli;
pub mod gui;
