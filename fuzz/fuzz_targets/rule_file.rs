//! Arbitrary text as a rule file (TOML, `trailbell rules`) and as a JSON rules file
//! (`trailbell match --rules`): loading answers rules or located problems, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &[u8]| {
    let dir = std::env::temp_dir().join(format!("trailbell-fuzz-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("rule.toml");
    std::fs::write(&path, text).expect("temporary file");
    match trailbell::rules::RulePack::load(&path) {
        Ok(pack) => {
            let _ = pack.compile();
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
    if let Ok(text) = std::str::from_utf8(text)
        && let Ok(rules) = trailbell::rules::RuleSet::from_json(text)
    {
        let _ = rules.matching_rules(br#"{"source": "aws.signin", "detail": {}}"#);
    }
});
