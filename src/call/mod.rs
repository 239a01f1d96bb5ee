//! Call control: state machines without IO that take what happened in a call and say what to
//! do. The escalation policy decides when a call goes to a person.

pub mod escalation;

pub use escalation::{EscalationPolicy, Handoff, HandoffContext, PolicyInput, Reason, TurnFacts};
