//! Every rule set, a few hundred events, both engines: the matching rules must be the same on
//! every event wherever quamina can build the set, and trailbell's trusted mode must agree with
//! its validating mode on every set (the generated events are valid JSON). Sets quamina cannot run are checked against
//! trailbell's reference matcher instead (the small ones; the reference matcher is slow by
//! design). No timing here.

use trailbell_bench::corpus::{Corpus, CorpusKind};
use trailbell_bench::engines::{
    Engine, Quamina, Trailbell, TrailbellTrusted, install_quiet_panic_hook,
};
use trailbell_bench::rules::{RuleSet, all_sets};
use trailbell_pattern::ReferenceMatcher;

const EVENTS: usize = 300;
const SEED: u64 = 1;

fn reference_names(set: &RuleSet, event: &[u8]) -> Vec<String> {
    let mut reference = ReferenceMatcher::new();
    for rule in &set.rules {
        reference
            .add_rule(&rule.name, &rule.pattern)
            .unwrap_or_else(|e| panic!("reference rejected {}: {e}", rule.name));
    }
    let ids = reference
        .matches(event)
        .unwrap_or_else(|e| panic!("reference could not read the event: {e}"));
    let mut names: Vec<String> = ids
        .iter()
        .map(|&id| reference.rule_name(id).to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn trailbell_and_quamina_agree_on_every_rule_set() {
    install_quiet_panic_hook();
    let corpora: Vec<Corpus> = [
        CorpusKind::CityLots,
        CorpusKind::CityLots2,
        CorpusKind::CloudTrail,
    ]
    .into_iter()
    .map(|kind| Corpus::generate(kind, SEED, EVENTS))
    .collect();
    let mut compared = Vec::new();
    let mut skipped = Vec::new();
    let mut disagreements = Vec::new();

    for set in all_sets(SEED) {
        let corpus = corpora
            .iter()
            .find(|c| c.kind == set.corpus)
            .expect("every corpus kind is generated");
        let mut trailbell = Trailbell::build(&set.rules)
            .unwrap_or_else(|f| panic!("trailbell cannot build {}: {f}", set.name));
        let mut trusted = TrailbellTrusted::build(&set.rules)
            .unwrap_or_else(|f| panic!("trailbell cannot build {}: {f}", set.name));
        for (i, event) in corpus.iter().enumerate() {
            let t = trailbell.names(event).expect("trailbell reads the event");
            let tt = trusted.names(event).expect("trusted mode reads the event");
            if t != tt {
                disagreements.push(format!(
                    "{} event #{i}: trailbell {t:?}, trusted {tt:?}",
                    set.name
                ));
            }
        }
        let mut total = 0;
        match Quamina::build(&set.rules) {
            Ok(mut quamina) => {
                for (i, event) in corpus.iter().enumerate() {
                    let t = trailbell.names(event).expect("trailbell reads the event");
                    let q = match quamina.names(event) {
                        Ok(q) => q,
                        Err(e) => {
                            disagreements
                                .push(format!("{} event #{i}: quamina error {e}", set.name));
                            continue;
                        }
                    };
                    total += t.len();
                    if t != q {
                        disagreements.push(format!(
                            "{} event #{i}: trailbell {t:?}, quamina {q:?}",
                            set.name
                        ));
                    }
                }
                compared.push((set.name.clone(), total));
            }
            Err(failure) => {
                if set.rules.len() <= 100 {
                    for (i, event) in corpus.iter().enumerate() {
                        let t = trailbell.names(event).expect("trailbell reads the event");
                        let r = reference_names(&set, event);
                        if t != r {
                            disagreements.push(format!(
                                "{} event #{i}: trailbell {t:?}, reference {r:?}",
                                set.name
                            ));
                        }
                    }
                }
                skipped.push(format!("{}: {failure}", set.name));
            }
        }
    }

    assert!(
        disagreements.is_empty(),
        "{} disagreements, first ones:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Guard against the comparison silently doing nothing.
    assert!(
        compared.len() >= 15,
        "only {} sets compared; quamina failed on {skipped:?}",
        compared.len()
    );
    assert!(
        compared.iter().filter(|(_, total)| *total > 0).count() >= 15,
        "too few sets matched anything: {compared:?}"
    );
}
