//! The key-value model, in the shape of Porcupine's kv tests: each key holds a string that `get`
//! returns, `put` replaces and `append` extends.
//!
//! ```text
//!   put x "a"       |--|                 x = "a"
//!   append x "b"        |------|         x = "ab"
//!   get x → "a"           |--|           ok: took effect before the append
//!   get x → "ab"                 |--|    ok: must see the append, which completed before
//! ```
//!
//! Keys are independent objects, so the history is checked key by key (P-compositionality):
//! each key is a register whose writes may also append. In faultline's JSONL a get is
//! `{"f":"get","key":K,"value":null}` completed `ok` with the string read; a put or append
//! carries its string as the value. A get that returned null found the key missing, which
//! reads as the empty string (Porcupine's and Redis's convention). Every key starts as the
//! initial value: the empty string unless `--initial` gives another string.
//!
//! Which operations reach the search: `ok` ones, and `info` puts and appends (which may take
//! effect at any time after their invocation, or never). Failed operations and indeterminate
//! gets change nothing and are dropped.

use crate::explain::ties::{ByLabel, Ties};
use crate::history::history_error::HistoryError;
use crate::history::operation::{Operation, Outcome};
use crate::models::history_model::{BadInitial, HistoryModel};
use crate::models::model::Model;
use crate::options::ModelKind;
use crate::search::fx_hash::FxBuildHasher;
use crate::search::wgl::Interval;
use serde_json::Value;
use std::cell::{RefCell, RefMut};
use std::collections::HashMap;

/// A string the key held or a get returned, by its number in the key's table of strings.
pub type StrId = u32;

/// One key-value operation on a single key, its strings numbered in the key's table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// A get that returned this string.
    Get(StrId),
    /// A put of this string.
    Put(StrId),
    /// An append of this string.
    Append(StrId),
}

/// One key of a key-value store, holding a string.
///
/// States are numbers in a table of the strings the key can hold, so that the search hashes,
/// compares and copies a number, not a string that appends keep growing.
#[derive(Debug)]
pub struct Kv {
    initial: StrId,
    // A cell, not a lock: each key's model is used by one search at a time, and a lock taken
    // at every append step cost a tenth of the search.
    strings: RefCell<Strings>,
}

/// The strings of one key, each once, numbered in order of first sight.
#[derive(Debug, Default, Clone)]
struct Strings {
    ids: HashMap<String, StrId>,
    text: Vec<String>,
    /// (held, appended) → the result: the search appends the same suffix to the same state
    /// again and again as it backtracks, and this makes each repeat a lookup.
    appended: HashMap<(StrId, StrId), StrId, FxBuildHasher>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.text.len() as StrId;
        self.text.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
}

impl Kv {
    /// A key that holds `initial` before any put.
    pub fn new(initial: &str) -> Self {
        let mut strings = Strings::default();
        let initial = strings.intern(initial);
        Kv {
            initial,
            strings: RefCell::new(strings),
        }
    }

    fn strings(&self) -> RefMut<'_, Strings> {
        self.strings.borrow_mut()
    }

    /// The number of `s` in this key's table.
    pub fn intern(&self, s: &str) -> StrId {
        self.strings().intern(s)
    }

    /// The string numbered `id`.
    pub fn text(&self, id: StrId) -> String {
        self.strings().text[id as usize].clone()
    }
}

impl Clone for Kv {
    fn clone(&self) -> Self {
        Kv {
            initial: self.initial,
            strings: RefCell::new(self.strings().clone()),
        }
    }
}

impl HistoryModel for Kv {
    const KIND: ModelKind = ModelKind::Kv;
    const NOUN: &'static str = "value";
    const OBSERVING: &'static [&'static str] = &["get"];

    fn from_initial(initial: &Value) -> Result<Self, BadInitial> {
        match initial {
            Value::Null => Ok(Kv::new("")),
            Value::String(s) => Ok(Kv::new(s)),
            other => Err(BadInitial {
                model: Self::KIND.name(),
                value: other.clone(),
                expected: "a string",
            }),
        }
    }

    /// An indeterminate put or append of a string no get's string contains: every get after
    /// it, until the next put, would contain it.
    fn unobserved(&self, ops: &[Interval<KvOp>]) -> Vec<bool> {
        let strings = self.strings();
        let text = |id: StrId| strings.text[id as usize].as_str();
        let mut seen: Vec<StrId> = ops
            .iter()
            .filter_map(|i| match i.op {
                KvOp::Get(v) => Some(v),
                _ => None,
            })
            .collect();
        seen.sort_unstable();
        seen.dedup();
        ops.iter()
            .map(|i| match i.op {
                KvOp::Put(v) | KvOp::Append(v) if i.ret.is_none() && !text(v).is_empty() => {
                    !seen.iter().any(|&g| text(g).contains(text(v)))
                }
                _ => false,
            })
            .collect()
    }

    /// A get needs every put and append its string can be spelled from: a base (the initial
    /// string or a put's) followed by appended strings. Any other update may go: in a
    /// linearization, the last put before a kept get and the appends after it spell the get's
    /// string, so none of them is left out.
    fn ties(&self, ops: &[KvOp]) -> Ties {
        let strings = self.strings();
        let text = |id: StrId| strings.text[id as usize].as_str();
        let puts = ByLabel::new(ops.iter().enumerate().filter_map(|(i, op)| match op {
            KvOp::Put(v) => Some((*v, i)),
            _ => None,
        }));
        let appends = ByLabel::new(ops.iter().enumerate().filter_map(|(i, op)| match op {
            KvOp::Append(v) if !text(*v).is_empty() => Some((*v, i)),
            _ => None,
        }));
        let mut bases: Vec<StrId> = ops
            .iter()
            .filter_map(|op| match op {
                KvOp::Put(v) => Some(*v),
                _ => None,
            })
            .collect();
        bases.sort_unstable();
        bases.dedup();
        let mut pieces: HashMap<&str, StrId> = HashMap::new();
        for op in ops {
            if let KvOp::Append(v) = op {
                if !text(*v).is_empty() {
                    pieces.insert(text(*v), *v);
                }
            }
        }
        let spelling = Spelling::new(pieces);
        let mut ties = Ties::none(ops.len());
        let mut needed: HashMap<StrId, Vec<usize>> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let KvOp::Get(got) = op else { continue };
            let needs = needed.entry(*got).or_insert_with(|| {
                let (used_bases, used_pieces) = spelling.parts(
                    text(*got),
                    text(self.initial),
                    bases.iter().map(|&b| (b, text(b))),
                );
                used_bases
                    .iter()
                    .flat_map(|b| puts.of(b))
                    .chain(used_pieces.iter().flat_map(|p| appends.of(p)))
                    .collect()
            });
            ties.need(i, needs.iter().copied());
        }
        ties
    }

    fn op(&mut self, op: &Operation) -> Result<Option<KvOp>, HistoryError> {
        let info = match op.outcome {
            Outcome::Fail { .. } => return Ok(None),
            Outcome::Info => true,
            Outcome::Ok => false,
        };
        let string = |value: &Value, reason: &str| match value {
            Value::String(s) => Ok(s.clone()),
            _ => Err(HistoryError::MalformedValue {
                index: op.span.invoke_index,
                f: op.f.clone(),
                value: value.clone(),
                reason: reason.into(),
            }),
        };
        Ok(Some(match op.f.as_str() {
            "get" if info => return Ok(None),
            "get" if op.output.is_null() => KvOp::Get(self.intern("")),
            "get" => KvOp::Get(self.intern(&string(
                &op.output,
                "a get must return a string (or null for a missing key)",
            )?)),
            "put" => KvOp::Put(self.intern(&string(&op.value, "a put value must be a string")?)),
            "append" => {
                KvOp::Append(self.intern(&string(&op.value, "an append value must be a string")?))
            }
            _ => return Err(Self::KIND.unsupported(op)),
        }))
    }
}

/// Which bases and appended strings can spell a string, each part where it fits.
struct Spelling<'t> {
    pieces: HashMap<&'t str, StrId>,
    /// The distinct lengths of the pieces, in bytes.
    lengths: Vec<usize>,
}

impl<'t> Spelling<'t> {
    fn new(pieces: HashMap<&'t str, StrId>) -> Self {
        let mut lengths: Vec<usize> = pieces.keys().map(|p| p.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        Spelling { pieces, lengths }
    }

    /// The piece that spans `s[at..at + len]`, if one does.
    fn piece(&self, s: &str, at: usize, len: usize) -> Option<StrId> {
        let end = at + len;
        if end > s.len() || !s.is_char_boundary(end) {
            return None;
        }
        self.pieces.get(&s[at..end]).copied()
    }

    /// The bases (puts; the initial string counts but is not returned) and pieces that occur
    /// in some way of spelling `s` as a base followed by pieces.
    fn parts<'b>(
        &self,
        s: &str,
        initial: &str,
        bases: impl Iterator<Item = (StrId, &'b str)>,
    ) -> (Vec<StrId>, Vec<StrId>) {
        let n = s.len();
        // to_end[p]: s[p..] is a sequence of pieces.
        let mut to_end = vec![false; n + 1];
        to_end[n] = true;
        for p in (0..n).rev() {
            to_end[p] = s.is_char_boundary(p)
                && self
                    .lengths
                    .iter()
                    .any(|&len| self.piece(s, p, len).is_some() && to_end[p + len]);
        }
        let fits = |base: &str| s.starts_with(base) && to_end[base.len()];
        // from[p]: s[..p] is a fitting base followed by pieces.
        let mut from = vec![false; n + 1];
        if fits(initial) {
            from[initial.len()] = true;
        }
        let mut used_bases = Vec::new();
        for (id, base) in bases {
            if fits(base) {
                from[base.len()] = true;
                used_bases.push(id);
            }
        }
        let mut used_pieces = Vec::new();
        for p in 0..n {
            if !from[p] {
                continue;
            }
            for &len in &self.lengths {
                if let Some(piece) = self.piece(s, p, len).filter(|_| to_end[p + len]) {
                    from[p + len] = true;
                    used_pieces.push(piece);
                }
            }
        }
        used_pieces.sort_unstable();
        used_pieces.dedup();
        (used_bases, used_pieces)
    }
}

impl Model for Kv {
    type State = StrId;
    type Op = KvOp;
    const PRUNE_ABSORBED: bool = false;

    fn observes_only(op: &KvOp) -> bool {
        matches!(op, KvOp::Get(_))
    }

    /// Only a get can fail; deciding so needs no new string (the search asks this of every
    /// candidate at every step).
    fn legal(&self, state: &StrId, op: &KvOp) -> bool {
        !matches!(op, KvOp::Get(v) if v != state)
    }

    fn init(&self) -> StrId {
        self.initial
    }

    fn step(&self, state: &StrId, op: &KvOp) -> Option<StrId> {
        match op {
            KvOp::Get(v) => (v == state).then_some(*state),
            KvOp::Put(v) => Some(*v),
            KvOp::Append(suffix) => {
                let mut strings = self.strings();
                if let Some(&known) = strings.appended.get(&(*state, *suffix)) {
                    return Some(known);
                }
                let mut grown = strings.text[*state as usize].clone();
                grown.push_str(&strings.text[*suffix as usize]);
                let id = strings.intern(&grown);
                strings.appended.insert((*state, *suffix), id);
                Some(id)
            }
        }
    }

    /// A get can still succeed only if its string is one held now or one a pending put
    /// writes, followed by strings pending appends add (each counted as often as it fits:
    /// enough to rule out most dead ends, cheap to ask).
    fn may_become_legal(
        &self,
        state: &StrId,
        op: &KvOp,
        updates: &mut dyn Iterator<Item = &KvOp>,
    ) -> bool {
        let KvOp::Get(want) = op else { return true };
        let strings = self.strings();
        let text = |id: StrId| strings.text[id as usize].as_str();
        let want = text(*want);
        let mut bases = vec![text(*state)];
        let mut pieces = Vec::new();
        for u in updates {
            match *u {
                KvOp::Put(p) => bases.push(text(p)),
                KvOp::Append(a) if !text(a).is_empty() => pieces.push(text(a)),
                _ => {}
            }
        }
        // spelled[i]: want[..i] is a base followed by pieces.
        let mut spelled = vec![false; want.len() + 1];
        for base in bases {
            if want.starts_with(base) {
                spelled[base.len()] = true;
            }
        }
        for at in 0..want.len() {
            if spelled[at] {
                for piece in &pieces {
                    if want[at..].starts_with(piece) {
                        spelled[at + piece.len()] = true;
                    }
                }
            }
        }
        spelled[want.len()]
    }

    #[cfg(test)]
    fn describe(&self, op: &KvOp) -> String {
        let (f, v) = match op {
            KvOp::Get(v) => ("get", self.text(*v)),
            KvOp::Put(v) => ("put", self.text(*v)),
            KvOp::Append(v) => ("append", self.text(*v)),
        };
        format!("{f} {}", Value::String(v))
    }

    fn describe_state(&self, state: &StrId) -> String {
        Value::String(self.text(*state)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::options::{CheckOptions, ModelKind};
    use crate::testing::history_builder::*;
    use crate::validity::Validity;
    use serde_json::json;

    fn kv(initial: Value) -> CheckOptions {
        options(ModelKind::Kv, initial)
    }

    fn validity(events: Vec<Event>) -> Validity {
        verdict(ModelKind::Kv, events)
    }

    /// `f` on key `k` by process `p`, invoked at `ms` and completed ok 10 ms later with `out`.
    fn op(ms: u64, p: u64, k: &str, f: &str, arg: Value, out: Value) -> Vec<Event> {
        let key = json!(k);
        done(ms, p, f, arg, out)
            .into_iter()
            .map(|e| on(key.clone(), e))
            .collect()
    }

    fn get(ms: u64, p: u64, k: &str, out: &str) -> Vec<Event> {
        op(ms, p, k, "get", Value::Null, json!(out))
    }

    fn put(ms: u64, p: u64, k: &str, v: &str) -> Vec<Event> {
        op(ms, p, k, "put", json!(v), json!(v))
    }

    fn append(ms: u64, p: u64, k: &str, v: &str) -> Vec<Event> {
        op(ms, p, k, "append", json!(v), json!(v))
    }

    #[test]
    fn steps_follow_kv_semantics() {
        let m = Kv::new("");
        let s = m.init();
        assert_eq!(m.step(&s, &KvOp::Get(m.intern(""))), Some(s));
        assert_eq!(m.step(&s, &KvOp::Get(m.intern("a"))), None);
        let s = m.step(&s, &KvOp::Put(m.intern("a"))).unwrap();
        let bc = KvOp::Append(m.intern("bc"));
        let s = m.step(&s, &bc).unwrap();
        assert_eq!(
            s,
            m.intern("abc"),
            "the same string, the same state, however reached"
        );
        // A get of "ab" from "ac" needs a put of "a" or "ab" then an append of "b", or a put.
        let get_ab = KvOp::Get(m.intern("ab"));
        let ac = m.intern("ac");
        let [put_a, append_b] = [KvOp::Put(m.intern("a")), KvOp::Append(m.intern("b"))];
        assert!(m.may_become_legal(&ac, &get_ab, &mut [put_a.clone(), append_b.clone()].iter()));
        assert!(!m.may_become_legal(&ac, &get_ab, &mut [append_b.clone()].iter()));
        assert!(!m.may_become_legal(&ac, &get_ab, &mut [put_a].iter()));
        assert!(m.may_become_legal(&m.intern("a"), &get_ab, &mut [append_b].iter()));
        let again = m.step(&m.intern("a"), &bc);
        assert_eq!(again, Some(s), "a repeated append, remembered");
        assert_eq!(m.describe_state(&s), r#""abc""#);
        assert_eq!(m.describe(&bc), r#"append "bc""#);
    }

    #[test]
    fn sequential_puts_appends_and_gets_are_valid() {
        let h = [
            get(0, 1, "x", ""),
            put(20, 1, "x", "a"),
            append(40, 1, "x", "b"),
            get(60, 2, "x", "ab"),
            append(80, 2, "y", "z"),
            get(100, 1, "y", "z"),
        ]
        .concat();
        assert_eq!(validity(h), Validity::Valid);
    }

    #[test]
    fn a_get_concurrent_with_an_append_may_see_it_or_not() {
        //   p1 append x "b"   |----------|
        //   p2 get x → ?         |--|
        let history = |seen: &str| {
            let mut h = put(0, 1, "x", "a");
            h.extend([on(json!("x"), invoke(20, 1, "append", json!("b")))]);
            h.extend(get(25, 2, "x", seen));
            h.push(on(json!("x"), ok(50, 1, "append", json!("b"))));
            h
        };
        assert_eq!(validity(history("a")), Validity::Valid);
        assert_eq!(validity(history("ab")), Validity::Valid);
        assert_eq!(validity(history("b")), Validity::Invalid);
    }

    #[test]
    fn a_get_missing_a_completed_append_is_invalid() {
        let h = [
            put(0, 1, "x", "a"),
            append(20, 1, "x", "b"),
            get(40, 2, "x", "a"),
        ]
        .concat();
        let report = check_events(&history(h), &kv(Value::Null)).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(
            report.keys[0].anomaly.as_ref().unwrap().message,
            "no linearization of x: the longest consistent order covers 2 of 3 operations, \
             after which the value is \"ab\"; none of these can take effect next: get \"a\" by \
             process 2 (invoked 0.040 s, ok at 0.050 s)"
        );
    }

    #[test]
    fn keys_are_independent() {
        // x's append is invisible to y.
        let h = [append(0, 1, "x", "a"), get(20, 2, "y", "")].concat();
        assert_eq!(validity(h), Validity::Valid);
        let h = [append(0, 1, "x", "a"), get(20, 2, "y", "a")].concat();
        let report = check_events(&history(h), &kv(Value::Null)).unwrap();
        let keys = key_verdicts(&report);
        assert_eq!(
            keys,
            [
                (json!("x"), Validity::Valid),
                (json!("y"), Validity::Invalid)
            ]
        );
    }

    #[test]
    fn indeterminate_appends_are_optional_and_failed_ones_never_happened() {
        let info_append = vec![
            on(json!("x"), invoke(0, 1, "append", json!("a"))),
            on(json!("x"), info(10, 1, "append", json!("a"))),
        ];
        let failed_append = vec![
            on(json!("x"), invoke(0, 1, "append", json!("a"))),
            on(json!("x"), fail(10, 1, "append", json!("a"))),
        ];
        for seen in ["", "a"] {
            let h = [info_append.clone(), get(20, 2, "x", seen)].concat();
            assert_eq!(validity(h), Validity::Valid, "info append, get {seen:?}");
        }
        // Applied twice is not once.
        let h = [info_append.clone(), get(20, 2, "x", "aa")].concat();
        assert_eq!(validity(h), Validity::Invalid);
        let h = [failed_append, get(20, 2, "x", "a")].concat();
        assert_eq!(validity(h), Validity::Invalid);
    }

    #[test]
    fn a_null_get_is_the_empty_string_and_initial_values_are_strings() {
        let h = history(op(0, 1, "x", "get", Value::Null, Value::Null));
        assert_eq!(
            check_events(&h, &kv(Value::Null)).unwrap().validity,
            Validity::Valid
        );
        let h = history(get(0, 1, "x", "start"));
        assert_eq!(
            check_events(&h, &kv(json!("start"))).unwrap().validity,
            Validity::Valid
        );
        assert_eq!(
            Kv::from_initial(&json!(0)).unwrap_err().to_string(),
            "the kv model cannot start from 0: the initial value must be a string"
        );
    }

    #[test]
    fn malformed_values_and_unknown_functions_are_errors() {
        let mut m = Kv::new("");
        let ops = pair(&history([
            invoke(0, 1, "put", json!(3)),
            invoke(1, 2, "get", json!(null)),
            ok(2, 2, "get", json!(["a"])),
            invoke(3, 3, "read", json!(null)),
        ]))
        .unwrap();
        assert_eq!(
            m.op(&ops[0]).unwrap_err().to_string(),
            "operation invoked at event 0: put value 3 is malformed: a put value must be a string"
        );
        assert_eq!(
            m.op(&ops[1]).unwrap_err().to_string(),
            "operation invoked at event 1: get value [\"a\"] is malformed: a get must return a \
             string (or null for a missing key)"
        );
        assert_eq!(
            check_events(
                &history([invoke(0, 1, "read", json!(null))]),
                &kv(Value::Null)
            )
            .unwrap_err()
            .to_string(),
            "operation invoked at event 0: f \"read\" is not supported by the kv model (it \
             supports get, put, append)"
        );
        assert!(m.op(&ops[2]).is_err());
    }
}
