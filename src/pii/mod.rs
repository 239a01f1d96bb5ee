//! Personal data shown to people: masked in text (`text`: phones, e-mails, cards, ID numbers,
//! addresses, names, in English and Chinese) and in the JSON the API answers with (`json`:
//! every string but ids, times and codes). What is stored stays whole (the dialog and the
//! order system need it); what is shown to a role that should not see it is masked. Recordings
//! can have their spoken numbers silenced (`redact_audio`, where they are: `spoken_numbers`).

pub mod json;
pub mod redact_audio;
pub mod spoken_numbers;
pub mod text;

pub use json::mask_json;
pub use text::{mask, mask_kinds, number_spans, Kind};
