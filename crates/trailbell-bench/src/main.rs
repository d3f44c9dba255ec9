//! `trailbell-bench`: trailbell's matcher against quamina on generated CityLots and CloudTrail
//! events. See `--help` and docs/PERFORMANCE.md.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use trailbell_bench::corpus::{Corpus, CorpusKind};
use trailbell_bench::engines::{Failure, install_quiet_panic_hook};
use trailbell_bench::report::{json_line, notes, table_header, table_row, thousands};
use trailbell_bench::rules::all_sets;
use trailbell_bench::run::{Agreement, Arrival, Options, SetResult, measure_rss, run_set};

const HELP: &str = "\
trailbell-bench: trailbell's compiled matcher and the quamina crate, side by side

Engines: trailbell (Matcher::matches_with, validates every event), trusted
(Matcher::matches_trusted_with, skips what no rule reads without validating it, as
quamina does) and quamina (the quamina crate).

USAGE:
    cargo run --release -p trailbell-bench -- [OPTIONS]

OPTIONS:
    --quick          20,000 events, 3 timed passes, 1 s budget per engine per set
    --json           JSON lines instead of a table
    --only NAMES     only these sets (comma-separated; see --list)
    --list           list the rule sets and exit
    --events N       events per corpus (default 100,000; 20,000 with --quick)
    --passes N       timed passes after the verification pass (default 7; 3 with --quick)
    --budget SECS    matching time allowed per engine per set (default 20; 1 with --quick)
    --seed N         data and rule seed (default 1)
    --no-rss         skip measuring compiled size of the big sets
    --engine NAMES   run only these engines (comma-separated: trailbell, trusted, quamina)
    --arrival WAY    time events in-memory (straight from the corpus), arrived (copied in just
                     before matching) or both (default)
    -h, --help       this text

Exits 1 when the engines disagree on any set, or when trailbell (either mode) fails on any set.
";

const ENGINES: [&str; 3] = ["trailbell", "trusted", "quamina"];

struct Args {
    opts: Options,
    json: bool,
    only: Option<Vec<String>>,
    list: bool,
    measure_rss: Option<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut argv = std::env::args().skip(1);
    let mut quick = false;
    let mut json = false;
    let mut only = None;
    let mut list = false;
    let mut events = None;
    let mut passes = None;
    let mut budget = None;
    let mut seed = 1;
    let mut rss = true;
    let mut measure = None;
    let mut engine = None;
    let mut arrivals = vec![Arrival::InMemory, Arrival::Arrived];
    fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.replace(['_', ','], "")
            .parse()
            .map_err(|_| format!("{flag}: cannot read {v:?}"))
    }
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--json" => json = true,
            "--only" => {
                let v = argv.next().ok_or("--only needs a value")?;
                only = Some(v.split(',').map(str::to_owned).collect());
            }
            "--list" => list = true,
            "--events" => events = Some(value::<usize>("--events", argv.next())?),
            "--passes" => passes = Some(value::<usize>("--passes", argv.next())?),
            "--budget" => budget = Some(value::<f64>("--budget", argv.next())?),
            "--seed" => seed = value("--seed", argv.next())?,
            "--no-rss" => rss = false,
            "--engine" => {
                let list = argv.next().ok_or("--engine needs a value")?;
                let names: Vec<String> = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = names.iter().find(|e| !ENGINES.contains(&e.as_str())) {
                    return Err(format!(
                        "--engine: unknown engine {bad:?}; choose from {ENGINES:?}"
                    ));
                }
                engine = Some(names);
            }
            "--arrival" => {
                arrivals = match argv.next().as_deref() {
                    Some("both") => vec![Arrival::InMemory, Arrival::Arrived],
                    Some("in-memory") => vec![Arrival::InMemory],
                    Some("arrived") => vec![Arrival::Arrived],
                    _ => return Err("--arrival needs in-memory, arrived or both".to_owned()),
                }
            }
            "--measure-rss" => {
                let engine = argv.next().ok_or("--measure-rss needs ENGINE SET")?;
                let set = argv.next().ok_or("--measure-rss needs ENGINE SET")?;
                measure = Some((engine, set));
            }
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    let chosen = |name: &str| engine.as_ref().is_none_or(|e| e.iter().any(|e| e == name));
    let budget = budget.unwrap_or(if quick { 1.0 } else { 20.0 });
    if !(budget.is_finite() && budget > 0.0) {
        return Err("--budget must be a positive number of seconds".to_owned());
    }
    Ok(Args {
        opts: Options {
            events: events.unwrap_or(if quick { 20_000 } else { 100_000 }),
            passes: passes.unwrap_or(if quick { 3 } else { 7 }),
            budget: Duration::from_secs_f64(budget),
            seed,
            rss,
            trailbell: chosen("trailbell"),
            trusted: chosen("trusted"),
            quamina: chosen("quamina"),
            arrivals,
        },
        json,
        only,
        list,
        measure_rss: measure,
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() -> ExitCode {
    install_quiet_panic_hook();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("trailbell-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut sets = all_sets(args.opts.seed);

    if let Some((engine, set)) = &args.measure_rss {
        let Some(set) = sets.iter().find(|s| &s.name == set) else {
            println!("failed unknown set {set}");
            return ExitCode::from(2);
        };
        println!("{}", measure_rss(engine, set));
        return ExitCode::SUCCESS;
    }

    if args.list {
        for s in &sets {
            println!(
                "{:<26} {:<11} {:>6} rules  {}",
                s.name,
                s.corpus.name(),
                s.rules.len(),
                s.description
            );
        }
        return ExitCode::SUCCESS;
    }
    if let Some(only) = &args.only {
        let unknown: Vec<&String> = only
            .iter()
            .filter(|n| !sets.iter().any(|s| &&s.name == n))
            .collect();
        if !unknown.is_empty() {
            eprintln!("trailbell-bench: unknown set(s) {unknown:?}; see --list");
            return ExitCode::from(2);
        }
        sets.retain(|s| only.contains(&s.name));
    }

    let opts = &args.opts;
    let mut out = std::io::stdout().lock();
    let header = format!(
        "cpu: {} ({} threads available); events per corpus: {}; timed passes: {}; budget: {:.0?} per engine per set; seed: {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        thousands(opts.events as u64),
        opts.passes,
        opts.budget,
        opts.seed
    );
    if args.json {
        let meta = serde_json::json!({
            "type": "meta",
            "cpu": cpu_model(),
            "events": opts.events,
            "passes": opts.passes,
            "budget_secs": opts.budget.as_secs_f64(),
            "seed": opts.seed,
        });
        let _ = writeln!(out, "{meta}");
    } else {
        let _ = writeln!(out, "{header}");
    }

    let mut corpora: HashMap<CorpusKind, Corpus> = HashMap::new();
    let mut results: Vec<SetResult> = Vec::new();
    let mut printed_header = false;
    for set in &sets {
        let corpus = corpora.entry(set.corpus).or_insert_with(|| {
            let t = Instant::now();
            let c = Corpus::generate(set.corpus, opts.seed, opts.events);
            let line = format!(
                "generated {} {} events, {} bytes on average ({:.0} MB), in {:.1} s",
                thousands(c.len() as u64),
                set.corpus.name(),
                c.avg_bytes(),
                c.bytes() as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
            if args.json {
                let v = serde_json::json!({
                    "type": "corpus", "corpus": set.corpus.name(), "events": c.len(),
                    "avg_event_bytes": c.avg_bytes(), "bytes": c.bytes(),
                });
                let _ = writeln!(std::io::stdout(), "{v}");
            } else {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            c
        });
        let result = run_set(set, corpus, opts);
        if args.json {
            let _ = writeln!(out, "{}", json_line(&result));
        } else {
            if !printed_header {
                let _ = writeln!(out, "\n{}", table_header());
                printed_header = true;
            }
            let _ = writeln!(out, "{}", table_row(&result));
        }
        let _ = out.flush();
        results.push(result);
    }

    let mismatches: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.agreement(), Agreement::Mismatch { .. }))
        .map(|r| r.name.as_str())
        .collect();
    let trailbell_failures: Vec<&str> = results
        .iter()
        .filter(|r| {
            r.trailbell
                .failure
                .as_ref()
                .is_some_and(|f| *f != Failure::Skipped)
        })
        .map(|r| r.name.as_str())
        .collect();
    let quamina_failures: Vec<(&str, &Failure)> = results
        .iter()
        .filter_map(|r| {
            r.quamina
                .failure
                .as_ref()
                .filter(|f| **f != Failure::Skipped)
                .map(|f| (r.name.as_str(), f))
        })
        .collect();

    if !args.json {
        let n = notes(&results);
        if !n.is_empty() {
            let _ = writeln!(out, "\nnotes:\n{n}");
        }
        let agreed = results
            .iter()
            .filter(|r| matches!(r.vs_quamina, Agreement::Agree { .. }))
            .count();
        let _ = writeln!(
            out,
            "summary: {} sets; trailbell and quamina compared and agree on {agreed}; {} MISMATCH; quamina could not run {}; trailbell failed on {}",
            results.len(),
            mismatches.len(),
            quamina_failures.len(),
            trailbell_failures.len()
        );
    } else {
        let v = serde_json::json!({
            "type": "summary",
            "sets": results.len(),
            "mismatches": mismatches,
            "trailbell_failures": trailbell_failures,
            "quamina_failures": quamina_failures.iter().map(|(n, f)| serde_json::json!({"set": n, "failure": f.to_string()})).collect::<Vec<_>>(),
        });
        let _ = writeln!(out, "{v}");
    }

    if !mismatches.is_empty() {
        eprintln!(
            "\n!!! MISMATCH: trailbell and quamina disagree on {}: {} !!!",
            if mismatches.len() == 1 {
                "one set"
            } else {
                "several sets"
            },
            mismatches.join(", ")
        );
    }
    if !trailbell_failures.is_empty() {
        eprintln!(
            "\n!!! trailbell failed on: {} !!!",
            trailbell_failures.join(", ")
        );
    }
    if mismatches.is_empty() && trailbell_failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
