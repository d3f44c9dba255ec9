//! Arbitrary text as the configuration file: loading answers a configuration or located
//! problems, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &[u8]| {
    // Config::load reads a file, as the service does; one file per fuzzing process.
    let path = std::env::temp_dir().join(format!("trailbell-fuzz-config-{}.toml", std::process::id()));
    std::fs::write(&path, text).expect("temporary file");
    if let Err(err) = trailbell::config::Config::load(&path) {
        let _ = err.to_string();
    }
});
