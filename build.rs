//! Bakes run paths into every binary of this package (the CLI and the test binaries) so they
//! find the sherpa-onnx shared libraries without LD_LIBRARY_PATH.
use std::path::PathBuf;

fn main() {
    embed_nlu_models();
    embed_anger_model();
    println!("cargo:rerun-if-env-changed=SHERPA_LIB_PATH");
    let Some(sherpa) = std::env::var_os("SHERPA_LIB_PATH").map(PathBuf::from) else {
        panic!("SHERPA_LIB_PATH is not set: run `make setup` (it unpacks sherpa-onnx-core into .deps/)");
    };
    let lib = sherpa.join("lib");
    if !lib.join("libsherpa-onnx-c-api.so").exists() {
        panic!(
            "sherpa-onnx C API not found in {}: run `make setup`, or point SHERPA_LIB_PATH at an \
             unpacked sherpa-onnx-core==1.12.9 wheel (the folder holding lib/)",
            lib.display()
        );
    }
    // sherpa-rs-sys also copies the .so files next to the binaries; $ORIGIN finds those copies,
    // the absolute path finds the originals for binaries moved elsewhere on this machine.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}

/// The NLU models in models/nlu are built into the binary when they exist, so that it runs
/// anywhere; `voicegate train nlu` (which makes them) builds without them.
fn embed_nlu_models() {
    println!("cargo::rustc-check-cfg=cfg(embedded_nlu)");
    let files = ["models/nlu/intent.vgm", "models/nlu/emotion.vgm"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    if files.iter().all(|f| std::path::Path::new(f).is_file()) {
        println!("cargo:rustc-cfg=embedded_nlu");
    }
}

/// The same for the anger model (models/anger/anger.json, made by `voicegate train anger`).
fn embed_anger_model() {
    println!("cargo::rustc-check-cfg=cfg(embedded_anger)");
    let f = "models/anger/anger.json";
    println!("cargo:rerun-if-changed={f}");
    if std::path::Path::new(f).is_file() {
        println!("cargo:rustc-cfg=embedded_anger");
    }
}
