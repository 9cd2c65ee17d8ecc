//! `report.html`: one self-contained page per run (styles, script and SVG inline; nothing
//! fetched), read top to bottom: the verdict, what was run, the faults and whether they met
//! operations, why each key or checker decided as it did, then the timeline and the plots.

use crate::drawn::{drawn, MAX_DRAWN};
use crate::marks::Marks;
use crate::markup::escape;
use crate::plots::{lag_plot, latency_plots, node_throughput_plot, throughput_plot};
use crate::run_files::RunFiles;
use crate::timeline::{timeline_svg, truncate, TimelineSpec};
use checker::Operation;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write;

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// At most this many stale reads or stuck operations are listed per key (results.json has all).
const SHOWN: usize = 8;

/// Records script errors into the page itself, so a headless browser's DOM shows them.
const ON_ERROR: &str = "window.onerror=function(m,s,l){var e=document.getElementById('script-errors');\
if(e){e.hidden=false;e.textContent+=m+' (line '+l+')\\n';}document.documentElement.setAttribute('data-script-error',m);};";

/// How the run ended, as the page states it.
pub fn ending(results: Option<&Value>) -> Option<String> {
    let Some(results) = results else {
        return Some(
            "incomplete: the run left no results.json (it was killed before it concluded); \
             this report shows the history recorded so far"
                .into(),
        );
    };
    match results["ended"].as_str() {
        Some("completed") | None => None,
        Some(how) => Some(format!(
            "incomplete: the run {} — {}",
            match how {
                "interrupted" => "was interrupted",
                other => other,
            },
            results["reason"].as_str().unwrap_or("no reason recorded")
        )),
    }
}

/// The report of one run.
pub fn render(files: &RunFiles) -> String {
    let null = Value::Null;
    let results = files.results.as_ref().unwrap_or(&null);
    let check = &results["check"];
    let marks = Marks::of(check);
    let verdict = results["verdict"].as_str().unwrap_or("unknown");
    let test = results["test"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            files
                .dir
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "run".into());
    let stamp = files
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut p = String::with_capacity(64 * 1024 + files.ops.len() * 260);
    let _ = write!(
        p,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{verdict}: {t} {s}</title><script>{ON_ERROR}</script><style>{CSS}</style></head><body data-verdict="{verdict}">"#,
        t = escape(&test),
        s = escape(&stamp),
    );
    let _ = write!(
        p,
        r#"<header class="verdict {verdict}" id="verdict"><span class="word">{}</span><span class="test">{} · {}</span>"#,
        verdict.to_uppercase(),
        escape(&test),
        escape(&stamp)
    );
    if let Some(reason) = results["reason"].as_str() {
        let _ = write!(p, r#"<div class="reason">{}</div>"#, escape(reason));
    }
    p.push_str("</header><main>");
    p.push_str(r#"<div id="script-errors" hidden></div>"#);
    if let Some(incomplete) = ending(files.results.as_ref()) {
        let _ = write!(
            p,
            r#"<div class="incomplete" id="incomplete">{}</div>"#,
            escape(&incomplete)
        );
    }
    facts(&mut p, files, results);
    keys(&mut p, files, results, &marks);
    timeline(&mut p, files, &marks, results);
    plots(&mut p, files);
    faults(&mut p, files, results);
    options(&mut p, results);
    let _ = write!(
        p,
        r#"<footer>Files of this run: <a href="history.jsonl">history.jsonl</a> · <a href="results.json">results.json</a>{} · written by faultline {}</footer>"#,
        if files.dir.join("replication.jsonl").is_file() {
            r#" · <a href="replication.jsonl">replication.jsonl</a>"#
        } else {
            ""
        },
        env!("CARGO_PKG_VERSION")
    );
    let _ = write!(p, "</main><script>{JS}</script></body></html>");
    p
}

/// The run at a glance.
fn facts(p: &mut String, files: &RunFiles, results: &Value) {
    let counts = &results["check"]["counts"];
    let count = |outcome: &str| {
        files
            .ops
            .iter()
            .filter(|op| outcome_name(op) == outcome)
            .count()
    };
    let mut items: Vec<(&str, String)> = vec![
        ("seed", results["seed"].to_string()),
        (
            "workload ran",
            results["duration_secs"]
                .as_f64()
                .map_or("?".into(), |d| format!("{d:.1} s")),
        ),
        ("operations", files.ops.len().to_string()),
        (
            "ok / fail / info",
            if counts.is_object() {
                format!("{} / {} / {}", counts["ok"], counts["fail"], counts["info"])
            } else {
                format!("{} / {} / {}", count("ok"), count("fail"), count("info"))
            },
        ),
        ("fault windows", files.windows.len().to_string()),
        (
            "operations during faults",
            results["adequacy"]["operations_during_faults"].to_string(),
        ),
        ("exit code", results["exit_code"].to_string()),
    ];
    let opts = &results["options"];
    for (name, field) in [
        ("target", "target"),
        ("workload", "workload"),
        ("nemesis", "nemesis"),
    ] {
        if let Some(v) = find(opts, field) {
            items.insert(0, (name, plain(v)));
        }
    }
    // A multi-primary design states how it settles concurrent writes; the reader of a
    // non-linearizable verdict needs the rule to tell a lost write from a resolved one.
    if let Some(rule) = results["replication"]["conflict_rule"].as_str() {
        items.push(("concurrent writes resolved by", rule.to_string()));
    }
    if let Some(installed) = installed(&results["remote"]["installed"]) {
        items.push(("installed (--install)", installed));
    }
    p.push_str(r#"<section id="summary"><h2>Run</h2><div class="facts">"#);
    for (name, value) in items {
        let _ = write!(
            p,
            "<div><span>{}</span><b>{}</b></div>",
            escape(name),
            escape(&value)
        );
    }
    p.push_str("</div>");
    let adequacy = &results["adequacy"];
    let shortfalls = adequacy["shortfalls"].as_array();
    match shortfalls {
        Some(s) if !s.is_empty() => {
            let _ = write!(
                p,
                r#"<h3>Adequacy: the run fell short of what was asked{}</h3><ul>"#,
                if adequacy["accepted"] == true {
                    " (accepted with --accept-inadequate)"
                } else {
                    ""
                }
            );
            for s in s {
                let _ = write!(p, "<li>{}</li>", escape(&plain(s)));
            }
            p.push_str("</ul>");
        }
        Some(_) => {
            let _ = write!(
                p,
                r#"<p class="note">Adequacy: the run tested what was asked — {} fault windows, {} operations overlapped them.</p>"#,
                adequacy["fault_windows"], adequacy["operations_during_faults"]
            );
        }
        None => p.push_str(r#"<p class="note">Adequacy was not judged (no results.json).</p>"#),
    }
    attached(p, &results["attached"]);
    p.push_str("</section>");
}

/// What `--install` put on the remote hosts (`{HOST: [PACKAGE, …]}`), as one line:
/// `db1: redis-server; db2: redis-server`; `None` where it installed nothing.
fn installed(by_host: &Value) -> Option<String> {
    let by_host = by_host.as_object().filter(|m| !m.is_empty())?;
    let hosts: Vec<String> = by_host
        .iter()
        .map(|(host, packages)| {
            let names: Vec<String> = packages
                .as_array()
                .into_iter()
                .flatten()
                .map(plain)
                .collect();
            format!("{host}: {}", names.join(" "))
        })
        .collect();
    Some(hosts.join("; "))
}

/// A cluster faultline attached to (`--attach`) instead of starting: its nodes as found, the
/// faults faultline could inject into it (none without their pids), and what became of the
/// run's keys; nothing for a cluster faultline started.
fn attached(p: &mut String, attached: &Value) {
    if !attached.is_object() {
        return;
    }
    let _ = write!(
        p,
        r#"<div id="attached"><h3>Attached cluster: faultline started none of these nodes</h3><p class="note">Faults faultline could inject: {}</p><table><tr><th>node</th><th>address</th><th>pid</th></tr>"#,
        escape(&plain(&attached["faults"]))
    );
    for node in attached["nodes"].as_array().into_iter().flatten() {
        let _ = write!(
            p,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&plain(&node["name"])),
            escape(&plain(&node["addr"])),
            match (node["pid"].as_u64(), node["host"].as_str()) {
                // Found on its host over SSH (`--nodes`): the pid is the host's.
                (Some(pid), Some(host)) => format!("{pid} on {}", escape(host)),
                (Some(pid), None) => pid.to_string(),
                (None, _) => "not given".into(),
            }
        );
    }
    p.push_str("</table>");
    if let Some(sentinels) = attached["sentinels"].as_array().filter(|s| !s.is_empty()) {
        let _ = write!(
            p,
            r#"<p class="note">The nodes were found through sentinel {}.</p>"#,
            escape(&plain(&Value::Array(sentinels.clone())))
        );
    }
    let prefix = escape(&plain(&attached["key_prefix"]));
    let keys = &attached["keys"];
    let end = match keys["outcome"].as_str() {
        Some("removed") => format!("removed at the end ({} keys)", keys["count"]),
        Some("kept") => "kept (--keep-data)".into(),
        Some(_) => format!("not removed: {}", escape(&plain(&keys["error"]))),
        None => "not yet removed (the run ended before its cleanup)".into(),
    };
    let _ = write!(
        p,
        r#"<p class="note">The run's keys, under <code>{prefix}</code>: {end}.</p></div>"#
    );
}

/// The verdict per key, or the weak checker's, with the explanation of every key not valid.
fn keys(p: &mut String, files: &RunFiles, results: &Value, marks: &Marks) {
    let check = &results["check"];
    p.push_str(match check["weak"].is_object() {
        true => r#"<section id="keys"><h2>Verdict</h2>"#,
        false => r#"<section id="keys"><h2>Verdict per key</h2>"#,
    });
    if check.is_null() {
        p.push_str(
            r#"<p class="note">The history was not checked (see the reason above).</p></section>"#,
        );
        return;
    }
    let weak = &check["weak"];
    if weak.is_object() {
        let validity = weak["validity"].as_str().unwrap_or("unknown");
        let _ = write!(
            p,
            r#"<p>Checker <b>{}</b>: <span class="badge {validity}">{validity}</span>{}</p>"#,
            escape(weak["checker"].as_str().unwrap_or("?")),
            weak["reason"]
                .as_str()
                .map(|r| format!(" — {}", escape(r)))
                .unwrap_or_default()
        );
        if let Some(words) = results["explanation"].as_str() {
            let _ = write!(p, r#"<pre class="explanation">{}</pre>"#, escape(words));
        }
        // The numbers, and how many of each kind of finding; every detail stays one click away.
        let mut facts = Vec::new();
        for (name, v) in weak.as_object().into_iter().flatten() {
            match v {
                Value::Number(_) => facts.push((name.clone(), v.to_string())),
                Value::Array(a) => facts.push((name.replace('_', " "), a.len().to_string())),
                _ => {}
            }
        }
        p.push_str(r#"<div class="facts">"#);
        for (name, value) in facts {
            let _ = write!(
                p,
                "<div><span>{}</span><b>{}</b></div>",
                escape(&name.replace('_', " ")),
                escape(&value)
            );
        }
        p.push_str("</div>");
        let _ = write!(
            p,
            r#"<details><summary>everything the checker found (JSON)</summary><pre class="mono">{}</pre></details>"#,
            escape(&truncate(
                &serde_json::to_string_pretty(weak).unwrap_or_default(),
                200_000
            ))
        );
    }
    let keys = check["keys"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if !keys.is_empty() {
        p.push_str(r#"<table><tr><th>key</th><th>verdict</th><th class="num">operations</th><th>why</th></tr>"#);
        for key in keys {
            let validity = key["validity"].as_str().unwrap_or("unknown");
            let anomaly = &key["anomaly"];
            // A key's message repeats every stale read: the first, and how many, say it.
            let why = match (key["reason"].as_str(), anomaly["stale_reads"].as_array()) {
                (Some(reason), _) => reason.to_string(),
                (None, Some(stale)) if !stale.is_empty() => format!(
                    "{} stale reads, the first: {}",
                    stale.len(),
                    stale[0]["message"].as_str().unwrap_or("")
                ),
                (None, _) => anomaly["message"].as_str().unwrap_or("").to_string(),
            };
            let _ = write!(
                p,
                r#"<tr><td class="mono">{}</td><td><span class="badge {validity}">{validity}</span></td><td class="num">{}</td><td>{}</td></tr>"#,
                escape(&key["key"].to_string()),
                key["operations"],
                escape(&truncate(&why, 240))
            );
        }
        p.push_str("</table>");
    }
    for (i, key) in keys.iter().enumerate() {
        let anomaly = &key["anomaly"];
        if anomaly.is_null() {
            continue;
        }
        explain(p, files, i, key, anomaly, marks);
    }
    p.push_str("</section>");
}

/// Why one key is invalid: the message, stale reads or the operations that could not come next,
/// and the minimal witness with its own small timeline and cycle.
fn explain(
    p: &mut String,
    files: &RunFiles,
    i: usize,
    key: &Value,
    anomaly: &Value,
    marks: &Marks,
) {
    let _ = write!(
        p,
        r#"<div class="explain" id="key-{i}"><h3>Key {} is not linearizable</h3>"#,
        escape(&key["key"].to_string()),
    );
    let stale = anomaly["stale_reads"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if stale.is_empty() {
        // Without stale reads the message is the explanation; with them it repeats them all.
        let _ = write!(
            p,
            "<p>{}</p>",
            escape(&truncate(anomaly["message"].as_str().unwrap_or(""), 1000))
        );
    } else {
        let _ = write!(
            p,
            "<p><b>{} stale reads</b>, the first of them:</p><ul>",
            stale.len()
        );
        for s in stale.iter().take(SHOWN) {
            let _ = write!(
                p,
                "<li>{}</li>",
                escape(s["message"].as_str().unwrap_or(""))
            );
        }
        if stale.len() > SHOWN {
            let _ = write!(
                p,
                "<li>… and {} more (all of them in results.json)</li>",
                stale.len() - SHOWN
            );
        }
        p.push_str("</ul>");
    }
    let stuck = anomaly["unlinearizable"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !stuck.is_empty() {
        let _ = write!(
            p,
            "<p>The longest linearizable prefix covers <b>{}</b> operations{}; after it none of these can take effect (outlined in orange on the timeline):</p><ul>",
            anomaly["longest_prefix"],
            match anomaly["left_out"].as_u64() {
                Some(n) if n > 0 => format!(" ({n} unobserved indeterminate updates left out)"),
                _ => String::new(),
            }
        );
        for op in stuck.iter().take(SHOWN) {
            let _ = write!(p, "<li class=\"mono\">{}</li>", escape(&describe(op)));
        }
        if stuck.len() > SHOWN {
            let _ = write!(p, "<li>… and {} more</li>", stuck.len() - SHOWN);
        }
        p.push_str("</ul>");
    }
    let witness = &anomaly["witness"];
    if witness.is_object() {
        let n = witness["operations"].as_array().map_or(0, Vec::len);
        let _ = write!(
            p,
            "<p><b>{} witness: {n} operations</b> (shrunk from {}), already not linearizable on their own:</p><ol>",
            if witness["minimal"] == true { "Minimal" } else { "Small" },
            witness["shrunk_from"]
        );
        for line in witness["timeline"].as_array().into_iter().flatten() {
            let _ = write!(p, "<li class=\"mono\">{}</li>", escape(&plain(line)));
        }
        p.push_str("</ol>");
        for because in witness["because"].as_array().into_iter().flatten() {
            let _ = write!(p, "<p>because {}</p>", escape(&plain(because)));
        }
        if let Some(cycle) = witness["cycle"]["message"].as_str() {
            let _ = write!(p, r#"<p class="cycle">Cycle: {}</p>"#, escape(cycle));
        }
        let ids: BTreeSet<u64> = witness["operations"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(witness["context"].as_array().into_iter().flatten())
            .filter_map(|op| op["invoke_index"].as_u64())
            .collect();
        let ops: Vec<&Operation> = files
            .ops
            .iter()
            .filter(|op| ids.contains(&op.span.invoke_index))
            .collect();
        if let (Some(from), Some(to)) = (
            ops.iter().map(|op| op.span.invoke_time).min(),
            ops.iter()
                .map(|op| op.span.complete_time.unwrap_or(op.span.invoke_time))
                .max(),
        ) {
            let pad = (to - from) / 10 + 1_000;
            let id = format!("witness-{i}");
            let _ = write!(
                p,
                r##"<div class="controls"><b>The witness on its own</b> <button data-timeline="{id}" data-action="reset">whole witness</button><a href="#timeline" data-timeline="timeline" data-action="show" data-from="{}" data-to="{}">show it on the run's timeline</a><span class="hint">each bar from invocation to completion; hover for details</span></div>"##,
                from as f64 / 1e9,
                to as f64 / 1e9
            );
            p.push_str(&timeline_svg(&TimelineSpec {
                id: &id,
                ops,
                from: from.saturating_sub(pad),
                to: to + pad,
                concurrency: None,
                windows: &files.windows,
                marks,
                labels: true,
            }));
        }
    }
    p.push_str("</div>");
}

/// The whole run's timeline with its controls and legend.
fn timeline(p: &mut String, files: &RunFiles, marks: &Marks, results: &Value) {
    p.push_str(r#"<section id="timeline-section"><h2>Timeline</h2>"#);
    p.push_str(r#"<div class="controls"><button data-timeline="timeline" data-action="in">zoom in</button><button data-timeline="timeline" data-action="out">zoom out</button><button data-timeline="timeline" data-action="reset">whole run</button><span class="hint">wheel to zoom, drag to pan, hover a bar for the operation</span></div>"#);
    p.push_str(r#"<div class="key-legend"><span><i class="ok"></i>ok</span><span><i class="fail"></i>fail</span><span><i class="info"></i>info (indeterminate)</span><span><i class="fault"></i>fault in force</span>"#);
    // Only what this run's timeline shows.
    if !marks.witness.is_empty() {
        p.push_str(r#"<span><i class="witness"></i>witness</span>"#);
    }
    if !marks.stuck.is_empty() {
        p.push_str(r#"<span><i class="stuck"></i>cannot follow the longest prefix</span>"#);
    }
    if !marks.prefixes.is_empty() {
        p.push_str(r#"<span><i class="prefix"></i>longest linearizable prefix (certainly up to the line)</span>"#);
    }
    p.push_str("</div>");
    let to = ((files.span_secs * 1e9) as u64).max(1);
    let shown = drawn(&files.ops, MAX_DRAWN, |op| marks.singles_out(op));
    if let Some(note) = shown.note() {
        let _ = write!(
            p,
            r#"<p class="hint" id="timeline-drawn">{}</p>"#,
            escape(&note)
        );
    }
    p.push_str(&timeline_svg(&TimelineSpec {
        id: "timeline",
        ops: shown.ops,
        from: 0,
        to,
        concurrency: find(&results["options"], "concurrency").and_then(Value::as_u64),
        windows: &files.windows,
        marks,
        labels: false,
    }));
    p.push_str("</section>");
}

/// Latency per kind with its quantiles, throughput, and replication lag.
fn plots(p: &mut String, files: &RunFiles) {
    let span = files.span_secs;
    p.push_str(r#"<section id="latency"><h2>Latency</h2>"#);
    let q = &files.figures.latency_ms;
    if !q.is_empty() {
        p.push_str(r#"<table class="quantiles"><tr><th>operation</th><th class="num">ok operations</th><th class="num">p50 ms</th><th class="num">p95 ms</th><th class="num">p99 ms</th><th class="num">max ms</th></tr>"#);
        for (kind, q) in q {
            let _ = write!(
                p,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{:.2}</td><td class="num">{:.2}</td><td class="num">{:.2}</td><td class="num">{:.2}</td></tr>"#,
                escape(kind),
                q.count,
                q.p50,
                q.p95,
                q.p99,
                q.max
            );
        }
        p.push_str("</table>");
    }
    p.push_str(r#"<div class="plots">"#);
    let shown = drawn(&files.ops, MAX_DRAWN, |_| false);
    if let Some(note) = shown.note() {
        let _ = write!(p, r#"<p class="hint">{}</p>"#, escape(&note));
    }
    for (kind, svg) in latency_plots(&shown.ops, span, &files.windows) {
        let _ = write!(
            p,
            r#"<figure data-plot="latency-{k}"><figcaption>{k}: latency of each completed operation, by invocation time</figcaption>{svg}</figure>"#,
            k = escape(&kind)
        );
    }
    p.push_str("</div></section>");
    p.push_str(r#"<section id="throughput-lag"><h2>Throughput and replication lag</h2><div class="plots">"#);
    let _ = write!(
        p,
        r#"<figure data-plot="throughput"><figcaption>completions per second ({} s buckets): {:.1} ok/s on average, {:.1} at the peak</figcaption>{}</figure>"#,
        files.figures.throughput.bucket_secs,
        files.figures.throughput.mean_ok,
        files.figures.throughput.peak_ok,
        throughput_plot(&files.figures.throughput, span, &files.windows)
    );
    if !files.figures.throughput.ok_by_node.is_empty() {
        let each: Vec<String> = files
            .figures
            .latency_by_node_ms
            .iter()
            .map(|(n, q)| {
                format!(
                    "{n} {} ok, p50 {:.2} ms, p99 {:.2} ms",
                    q.count, q.p50, q.p99
                )
            })
            .collect();
        let _ = write!(
            p,
            r#"<figure data-plot="throughput-per-node"><figcaption>ok completions per second by the node that answered them ({})</figcaption>{}</figure>"#,
            escape(&each.join("; ")),
            node_throughput_plot(&files.figures.throughput, span, &files.windows)
        );
    }
    if files.lag.is_empty() {
        p.push_str(r#"<p class="note">No replication lag to show: the run recorded no replica positions (no replication.jsonl, or no replica reported one).</p>"#);
    } else {
        let max: Vec<String> = files
            .figures
            .max_lag
            .iter()
            .map(|(n, l)| format!("{n} {l}"))
            .collect();
        let _ = write!(
            p,
            r#"<figure data-plot="lag"><figcaption>replication lag: each replica's position behind the primary's (largest: {})</figcaption>{}</figure>"#,
            escape(&max.join(", ")),
            lag_plot(&files.lag, span, &files.windows)
        );
    }
    p.push_str("</div>");
    p.push_str("</section>");
}

/// Every fault window, with the kinds applied and what the nemesis could not do.
fn faults(p: &mut String, files: &RunFiles, results: &Value) {
    p.push_str(r#"<section id="faults"><h2>Faults</h2>"#);
    if let Some(applied) = results["faults"]["applied"].as_object() {
        let list: Vec<String> = applied.iter().map(|(k, n)| format!("{k} × {n}")).collect();
        let _ = write!(
            p,
            "<p>Applied per requested kind: {}</p>",
            escape(&if list.is_empty() {
                "none requested".into()
            } else {
                list.join(", ")
            })
        );
    }
    if files.windows.is_empty() {
        p.push_str(r#"<p class="note">No fault was in force during this run.</p>"#);
    } else {
        p.push_str(r#"<table><tr><th>#</th><th>fault</th><th class="num">from (s)</th><th class="num">to (s)</th><th class="num">operations overlapping</th><th></th></tr>"#);
        for (i, w) in files.windows.iter().enumerate() {
            let overlapping = files
                .ops
                .iter()
                .filter(|op| {
                    w.overlaps(
                        op.span.invoke_time,
                        op.span.complete_time.unwrap_or(u64::MAX),
                    )
                })
                .count();
            let end = if w.healed() {
                format!("{:.3}", w.end as f64 / 1e9)
            } else {
                "never healed".into()
            };
            let _ = write!(
                p,
                r##"<tr><td>{}</td><td>{}</td><td class="num">{:.3}</td><td class="num">{end}</td><td class="num">{overlapping}</td><td><a href="#timeline" data-timeline="timeline" data-action="show" data-from="{}" data-to="{}">show on the timeline</a></td></tr>"##,
                i + 1,
                escape(&w.label),
                w.start as f64 / 1e9,
                w.start as f64 / 1e9,
                w.end.min((files.span_secs * 1e9) as u64) as f64 / 1e9
            );
        }
        p.push_str("</table>");
    }
    for u in results["faults"]["unhealthy"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = write!(p, r#"<p class="note">unhealthy: {}</p>"#, escape(&plain(u)));
    }
    p.push_str("</section>");
}

/// The run's resolved options, one per row.
fn options(p: &mut String, results: &Value) {
    let Some(opts) = results["options"].as_object() else {
        return;
    };
    p.push_str(r#"<section id="options"><h2>Options</h2><table>"#);
    let mut rows = Vec::new();
    flatten("", &Value::Object(opts.clone()), &mut rows);
    for (k, v) in rows {
        let _ = write!(
            p,
            r#"<tr><td class="mono">{}</td><td class="mono">{}</td></tr>"#,
            escape(&k),
            escape(&truncate(&v, 300))
        );
    }
    p.push_str("</table></section>");
}

/// Nested objects as dotted names.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, v) in o {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        v => out.push((prefix.to_string(), plain(v))),
    }
}

/// The first value named `field` in `v` or its nested objects (options nest by concern).
fn find<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(field)
        .or_else(|| o.values().find_map(|inner| find(inner, field)))
}

/// A JSON value as people read it: strings without quotes, lists of them joined by commas.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            a.iter().map(plain).collect::<Vec<_>>().join(", ")
        }
        v => v.to_string(),
    }
}

/// An operation summary of the verdict in one line.
fn describe(op: &Value) -> String {
    let value = plain(&op["value"]);
    format!(
        "process {} {} {} ({}) invoked {:.3} s{}",
        plain(&op["process"]),
        plain(&op["f"]),
        value,
        plain(&op["type"]),
        op["invoke_time"].as_f64().unwrap_or(0.0) / 1e9,
        op["complete_time"]
            .as_f64()
            .map(|t| format!(", completed {:.3} s", t / 1e9))
            .unwrap_or_default()
    )
}

fn outcome_name(op: &Operation) -> &'static str {
    match op.outcome {
        checker::Outcome::Ok => "ok",
        checker::Outcome::Fail { .. } => "fail",
        checker::Outcome::Info => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_install_installed_is_one_line_by_host() {
        let by_host =
            json!({"10.0.0.2": ["redis-server", "redis-sentinel"], "10.0.0.3": ["etcd-server"]});
        assert_eq!(
            installed(&by_host).as_deref(),
            Some("10.0.0.2: redis-server redis-sentinel; 10.0.0.3: etcd-server")
        );
        assert_eq!(installed(&json!({})), None);
        assert_eq!(installed(&Value::Null), None);
    }

    #[test]
    fn an_attached_cluster_is_shown_with_its_faults_and_keys() {
        let mut p = String::new();
        attached(
            &mut p,
            &json!({
                "nodes": [
                    {"name": "n1", "addr": "127.0.0.1:7001", "pid": 42},
                    {"name": "n2", "addr": "127.0.0.1:7002", "pid": null}
                ],
                "key_prefix": "fl-<1>:",
                "sentinels": ["127.0.0.1:26379"],
                "faults": "none: faultline controls no process of the attached nodes",
                "keys": {"outcome": "removed", "count": 3}
            }),
        );
        assert!(p.contains("faultline started none of these nodes"), "{p}");
        assert!(p.contains("Faults faultline could inject: none: faultline controls"));
        assert!(
            p.contains("<td>n1</td><td>127.0.0.1:7001</td><td>42</td>"),
            "{p}"
        );
        assert!(p.contains("<td>n2</td><td>127.0.0.1:7002</td><td>not given</td>"));
        assert!(p.contains("found through sentinel 127.0.0.1:26379."), "{p}");
        assert!(
            p.contains("<code>fl-&lt;1&gt;:</code>: removed at the end (3 keys)"),
            "{p}"
        );
        let mut none = String::new();
        attached(&mut none, &Value::Null);
        assert!(
            none.is_empty(),
            "a cluster faultline started has no such section"
        );
    }
}
