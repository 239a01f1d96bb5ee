//! Training templates: `## label` sections of lines with `{a|b|c}` alternations (nested, `{|x}`
//! for an optional x) and the slots NUM, PRODUCT and MONEY. Expansion is deterministic.

use crate::nlu::linear::Rng;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Alt(Vec<Vec<Node>>),
}

/// Parses one template line; an unbalanced brace is an error naming the line.
fn parse(line: &str) -> Result<Vec<Node>, String> {
    fn seq(chars: &[char], i: &mut usize, depth: usize) -> Result<Vec<Node>, String> {
        let mut out = Vec::new();
        let mut text = String::new();
        while *i < chars.len() {
            match chars[*i] {
                '{' => {
                    *i += 1;
                    if !text.is_empty() {
                        out.push(Node::Text(std::mem::take(&mut text)));
                    }
                    let mut alts = vec![seq(chars, i, depth + 1)?];
                    while *i < chars.len() && chars[*i] == '|' {
                        *i += 1;
                        alts.push(seq(chars, i, depth + 1)?);
                    }
                    if *i >= chars.len() || chars[*i] != '}' {
                        return Err("unclosed {".into());
                    }
                    *i += 1;
                    out.push(Node::Alt(alts));
                }
                '|' | '}' if depth > 0 => break,
                '|' | '}' => return Err(format!("stray {:?}", chars[*i])),
                c => {
                    text.push(c);
                    *i += 1;
                }
            }
        }
        if !text.is_empty() {
            out.push(Node::Text(text));
        }
        Ok(out)
    }
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    seq(&chars, &mut i, 0)
}

fn count(seq: &[Node]) -> u128 {
    seq.iter()
        .map(|n| match n {
            Node::Text(_) => 1,
            Node::Alt(alts) => alts.iter().map(|a| count(a)).sum::<u128>().max(1),
        })
        .fold(1u128, |a, b| a.saturating_mul(b))
}

/// The `k`-th expansion of a sequence (mixed-radix over its alternations).
fn nth(seq: &[Node], mut k: u128, out: &mut String) {
    for n in seq {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Alt(alts) => {
                let total: u128 = alts.iter().map(|a| count(a)).sum::<u128>().max(1);
                let mut pick = k % total;
                k /= total;
                for a in alts {
                    let c = count(a);
                    if pick < c {
                        nth(a, pick, out);
                        break;
                    }
                    pick -= c;
                }
            }
        }
    }
}

/// Up to `cap` expansions of a line: all of them when there are few, else a seeded sample.
pub fn expand(line: &str, cap: usize, rng: &mut Rng) -> Result<Vec<String>, String> {
    let tree = parse(line)?;
    let total = count(&tree);
    let picks: Vec<u128> = if total <= cap as u128 {
        (0..total).collect()
    } else {
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < cap {
            seen.insert(((rng.next_u64() as u128) << 64 | rng.next_u64() as u128) % total);
        }
        seen.into_iter().collect()
    };
    Ok(picks
        .into_iter()
        .map(|k| {
            let mut s = String::new();
            nth(&tree, k, &mut s);
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect())
}

/// The `## label` sections of a template file, as (label, line) pairs; `#` starts a comment.
pub fn sections(text: &str) -> Vec<(String, String)> {
    let mut label = String::new();
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(l) = line.strip_prefix("## ") {
            label = l.trim().to_string();
        } else if !line.is_empty() && !line.starts_with('#') && !label.is_empty() {
            out.push((label.clone(), line.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(line: &str) -> Vec<String> {
        expand(line, 1000, &mut Rng::new(1)).unwrap()
    }

    #[test]
    fn alternations_nest_and_may_be_empty() {
        assert_eq!(all("where is my {order|parcel}"), ["where is my order", "where is my parcel"]);
        assert_eq!(all("{please |}cancel"), ["please cancel", "cancel"]);
        assert_eq!(all("check {order {NUM}|it}"), ["check order NUM", "check it"]);
        assert_eq!(all("{a|b} {c|d}").len(), 4);
        assert_eq!(all("我的{订单|快递}到哪了"), ["我的订单到哪了", "我的快递到哪了"]);
    }

    #[test]
    fn big_lines_are_sampled_deterministically() {
        let line = "{a|b|c|d} {e|f|g|h} {i|j|k|l} {m|n|o|p}";
        let one = expand(line, 10, &mut Rng::new(3)).unwrap();
        assert_eq!(one.len(), 10);
        assert_eq!(one, expand(line, 10, &mut Rng::new(3)).unwrap());
    }

    #[test]
    fn unbalanced_braces_are_errors() {
        assert!(expand("where {is", 10, &mut Rng::new(1)).is_err());
        assert!(expand("where } is", 10, &mut Rng::new(1)).is_err());
    }

    #[test]
    fn sections_carry_their_labels() {
        let s = sections("# comment\n## track_order\nwhere is it\n\n## cancel_order\ncancel it\n");
        assert_eq!(s, [("track_order".into(), "where is it".into()), ("cancel_order".into(), "cancel it".into())]);
    }
}
