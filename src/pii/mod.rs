//! Personal data shown to people: masked in text (`text`: phones, e-mails, cards, ID numbers,
//! addresses, names, in English and Chinese) and in the JSON the API answers with (`json`:
//! every string but ids, times and codes). What is stored stays whole (the dialog and the
//! order system need it); what is shown to a role that should not see it is masked.

pub mod json;
pub mod text;

pub use json::mask_json;
pub use text::{mask, mask_kinds, Kind};
