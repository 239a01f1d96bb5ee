//! Call control: state machines without IO that take what happened in a call and say what to
//! do. The escalation policy decides when a call goes to a person; `take_turn` runs a caller
//! turn through the dialog and the policy for calls and chat alike.

pub mod control;
pub mod escalation;
pub mod turn;

pub use escalation::{EscalationPolicy, Handoff, HandoffContext, PolicyInput, Reason, TurnFacts};
pub use turn::{take_turn, CallerTurn, TurnOutcome};
