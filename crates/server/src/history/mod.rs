//! The event history: LookupEvents and exports over the event log (management and insight events
//! of one account and region, newest first), with pagination tokens clients cannot forge.

pub mod export;
pub mod token;

pub use token::TokenSealer;
