//! faultline's checker: the history model and the verdicts drawn from it.

pub mod event;
