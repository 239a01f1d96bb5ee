//! Bakes run paths into every binary of this package (the CLI and the test binaries) so they
//! find the sherpa-onnx shared libraries without LD_LIBRARY_PATH.
use std::path::PathBuf;

fn main() {
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
