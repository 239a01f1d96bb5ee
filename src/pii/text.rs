//! Personal-data masking for transcripts and events shown to people who should
//! not see them, in English and Chinese.
//!
//! [`mask`] hides phones, e-mails, bank cards, ID numbers, street addresses and
//! names, keeping enough for an agent to recognise them (`138****5678`,
//! `北京市朝阳区****`); all other text stays byte-identical. Digit runs shorter
//! than 7 digits are never masked, so order numbers (`48152`, `订单10001`,
//! `四八一五二`) keep working. The passes, in order:
//! 1. E-mail: the local part keeps its first char (`j*******@example.com`).
//! 2. Names after `my name is` / `this is` / `I am` / `I'm`: up to three
//!    Capitalised words keep their first letter (`J*** S****`). After 我叫 / 名字是
//!    / 我姓 / 我是: a common surname stays, up to two given-name chars become `*`
//!    (`张*`); a lone surname stays. After the weak cue 我是 the name must end by
//!    itself (non-Han char, particle, end) within two given-name chars.
//! 3. Addresses. Chinese: the administrative prefix (province → city → district,
//!    at most down to the first 区/县/旗) stays; the detail after it, up to
//!    punctuation or whitespace, becomes `****` if it names a road, building or
//!    number (路 街 号 弄 巷 村 楼 室 栋 幢 座 单元 大道 or a digit). English:
//!    `<number> <Capitalised words> <street type>` becomes `**** <street type>`;
//!    the id in a following `Apt/Unit/Suite/Flat <id>` becomes `****` too.
//! 4. Written numbers, separators (`+`, space, `-`, parentheses) kept as written
//!    (`138 1234 5678` → `138 **** 5678`). 18-char Chinese ID: first 3 and last 4
//!    stay; SSN `ddd-dd-dddd`: last 4; Chinese mobile (an optional +86 stays):
//!    first 3 and last 4; 13-19 digits passing Luhn: card, last 4; any other 7+
//!    digits: phone, last 4. Dates (`2024-01-15`), decimals (`1234567.89`) and
//!    digits glued to ASCII letters (`AB1234567`) stay. Groups split by spaces
//!    join only if both have at most 4 digits (or after a `+` country code), so
//!    `orders 10001 10002` stays two order numbers. A comma and a space join
//!    groups as a space does, but only after dashed groups (Whisper writes digits
//!    said in groups `1-3-8, 1-2-3-4`; `2019, 2020` stays).
//! 5. Spoken digits (ASR): English words (also `oh`, `double`, `triple`) or
//!    Chinese numerals (also 幺 两 〇), masked like written ones when 7+ long.
//!    English runs are rewritten with single spaces and one `*` word for the
//!    hidden digits (`one three eight **** five six seven eight`); Chinese runs
//!    keep their shape (`一三八****五六七八`).
//!
//! Idempotent: wherever a boundary or group size is checked, `*` counts as the
//! letter, digit or Han char it replaced. Text is handled as `char`s throughout.

/// A kind of personal data that [`mask`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Phone,
    Email,
    Card,
    IdNumber,
    Address,
    Name,
}

impl Kind {
    /// The kind's stable lower-case name, for logs, metrics and audits.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Card => "card",
            Kind::IdNumber => "id_number",
            Kind::Address => "address",
            Kind::Name => "name",
        }
    }
}

/// Masks every kind of personal data in `text`; all other text is unchanged.
pub fn mask(text: &str) -> String {
    mask_kinds(text).0
}

/// Like [`mask`], also returning one [`Kind`] per masked span, in pass order
/// (e-mail, name, address, written number, spoken digits), for counting.
pub fn mask_kinds(text: &str) -> (String, Vec<Kind>) {
    let steps: [Step; 5] = [
        step_email,
        step_name,
        step_address,
        step_number,
        step_spoken,
    ];
    let mut out = text.to_string();
    let mut kinds = Vec::new();
    for step in steps {
        let chars: Vec<char> = out.chars().collect();
        let hits = scan(&chars, step);
        if !hits.is_empty() {
            out = apply(&chars, &hits, &mut kinds);
        }
    }
    (out, kinds)
}

/// Where `text` holds a phone, card or ID number, written or spoken (the numbers [`mask`]
/// hides): byte ranges with their kind, in order. What audio redaction silences.
pub fn number_spans(text: &str) -> Vec<(std::ops::Range<usize>, Kind)> {
    let chars: Vec<char> = text.chars().collect();
    let byte_at: Vec<usize> = text.char_indices().map(|(b, _)| b).chain([text.len()]).collect();
    let mut spans = Vec::new();
    for step in [step_number as Step, step_spoken] {
        for h in scan(&chars, step) {
            let changes = h.start < h.end && h.end <= chars.len() && !chars[h.start..h.end].iter().copied().eq(h.repl.chars());
            if changes {
                spans.push((byte_at[h.start]..byte_at[h.end], h.kind));
            }
        }
    }
    spans.sort_by_key(|(r, _)| r.start);
    spans
}

/// One span to replace: chars `start..end` become `repl`.
struct Hit {
    start: usize,
    end: usize,
    repl: String,
    kind: Kind,
}

/// Builds a [`Hit`].
fn hit(start: usize, end: usize, repl: String, kind: Kind) -> Hit {
    Hit {
        start,
        end,
        repl,
        kind,
    }
}

/// A scanning step at a char index: maybe a hit, and where to go on.
type Step = fn(&[char], usize) -> (Option<Hit>, usize);

/// Runs `step` from the start of `c` to its end and collects the hits.
fn scan(c: &[char], step: Step) -> Vec<Hit> {
    let (mut hits, mut i) = (Vec::new(), 0);
    while i < c.len() {
        let (found, next) = step(c, i);
        i = next.max(found.as_ref().map_or(0, |h| h.end)).max(i + 1);
        hits.extend(found);
    }
    hits
}

/// Rebuilds the text with each hit (sorted, non-overlapping) replaced and
/// records the kind of every hit that actually changes something.
fn apply(chars: &[char], hits: &[Hit], kinds: &mut Vec<Kind>) -> String {
    let mut out = String::with_capacity(chars.len() * 3);
    let mut pos = 0;
    for h in hits {
        if h.start < pos || h.start > h.end || h.end > chars.len() {
            continue;
        }
        out.extend(&chars[pos..h.start]);
        if !chars[h.start..h.end].iter().copied().eq(h.repl.chars()) {
            kinds.push(h.kind);
        }
        out.push_str(&h.repl);
        pos = h.end;
    }
    out.extend(&chars[pos..]);
    out
}

/// Number of chars from index `i` on that satisfy `f` (0 past the end).
fn run_len(c: &[char], i: usize, f: impl Fn(char) -> bool) -> usize {
    c.iter().skip(i).take_while(|&&ch| f(ch)).count()
}

/// Number of chars right before index `i` that satisfy `f`.
fn back_len(c: &[char], i: usize, f: impl Fn(char) -> bool) -> usize {
    let before = c.get(..i).unwrap_or(&[]);
    before.iter().rev().take_while(|&&ch| f(ch)).count()
}

/// Whether `c[i..]` starts with `pat`, ignoring ASCII case.
fn starts_with_at(c: &[char], i: usize, pat: &str) -> bool {
    let n = pat.chars().count();
    let window = c.iter().skip(i).take(n).map(|ch| ch.to_ascii_lowercase());
    window.eq(pat.chars())
}

/// Whether the char at index `k` exists and satisfies `f`.
fn at(c: &[char], k: usize, f: impl Fn(char) -> bool) -> bool {
    c.get(k).is_some_and(|&ch| f(ch))
}

/// Whether `word` is one of the space-separated words of `list`.
fn listed(list: &str, word: &str) -> bool {
    list.split(' ').any(|w| w == word)
}

/// Whether `ch` is a CJK unified ideograph (Han character).
fn is_han(ch: char) -> bool {
    matches!(ch, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Collects `c[a..b]` into a String (empty if out of range).
fn text_of(c: &[char], a: usize, b: usize) -> String {
    c.get(a..b).map_or_else(String::new, |s| s.iter().collect())
}

/// Replaces every unit char (digit) of `text` with '*' except the first
/// `head` and the last `tail` units; all other chars stay as they are.
fn mask_units(text: &[char], is_unit: impl Fn(char) -> bool, head: usize, tail: usize) -> String {
    let n = text.iter().filter(|&&ch| is_unit(ch)).count();
    let mut k = 0;
    let mask_one = |&ch: &char| {
        k += usize::from(is_unit(ch));
        let shown = !is_unit(ch) || k <= head || k + tail > n;
        if shown {
            ch
        } else {
            '*'
        }
    };
    text.iter().map(mask_one).collect()
}

// ---------------------------------------------------------------- e-mail

/// E-mail step at `i` (an '@'): masks the local part but its first char.
fn step_email(c: &[char], i: usize) -> (Option<Hit>, usize) {
    if c[i] != '@' {
        return (None, i + 1);
    }
    let local = |ch: char| ch.is_ascii_alphanumeric() || "._%+-".contains(ch);
    let in_domain = |ch: char| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-';
    let start = i - back_len(c, i, local);
    let dlen = run_len(c, i + 1, in_domain);
    let domain = text_of(c, i + 1, i + 1 + dlen);
    let domain = domain.trim_end_matches('.');
    if start == i || !domain.contains('.') || domain.starts_with('.') {
        return (None, i + 1);
    }
    let repl = format!("{}{}", c[start], "*".repeat(i - start - 1));
    (Some(hit(start, i, repl, Kind::Email)), i + 1)
}

// ---------------------------------------------------------------- names

/// English phrases (lower case, '|'-separated) after which names follow.
const EN_NAME_CUES: &str = "my name is|this is|i am|i'm|i’m";
/// Capitalised words that follow those phrases without being names.
const NOT_NAMES: &str = "Sorry Not Just Calling The Very So Here From Your Our It In On At \
    Really Still Trying Looking Fine Okay Ok Good";
/// Chinese introduction cues; 我是 is weak (often "I am …/I mean …").
const CN_NAME_CUES: &str = "我叫 名字是 我姓 我是";
/// About a hundred common single-char Chinese surnames.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖\
    田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江\
    尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
/// Common two-char Chinese surnames.
const COMPOUND_SURNAMES: &str = "欧阳 司马 诸葛 上官 东方 皇甫 司徒 慕容 令狐 夏侯";
/// Particles and pronouns that end a Chinese name.
const NAME_STOPS: &str = "的想要是在了啊呢吧就和跟说叫我你他她它有来去打找问\
    从先女这那给对也都还请吗嘛哦呀呃嗯们";
/// Words that start with a surname but are not names (我是马上…, 我是江苏的).
const NOT_NAME_WORDS: &str = "马上 高兴 方便 白天 万一 黄金 江苏 江西 金额 钱包 \
    周末 程序 曾经 任何 于是 毛病 余额 陆续 夏天";

/// Name step at `i`: an English or Chinese introduction followed by a name.
fn step_name(c: &[char], i: usize) -> (Option<Hit>, usize) {
    (en_name(c, i).or_else(|| cn_name(c, i)), i + 1)
}

/// English name after a cue at `i`: up to three Capitalised words, each
/// keeping its first letter ("my name is J*** S****").
fn en_name(c: &[char], i: usize) -> Option<Hit> {
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '*') {
        return None;
    }
    let mut cues = EN_NAME_CUES.split('|');
    let cue = cues.find(|cue| starts_with_at(c, i, cue))?;
    let start = i + cue.chars().count() + 1;
    let mut end = start - 1;
    for _ in 0..3 {
        let len = name_word_len(c, end + 1);
        if c.get(end) != Some(&' ') || len == 0 {
            break;
        }
        end += 1 + len;
    }
    let first = |k: usize| k == start || c[k] == ' ' || c[k - 1] == ' ';
    let shown = |k: usize| if first(k) { c[k] } else { '*' };
    let repl = (start..end).map(shown).collect();
    (end > start).then(|| hit(start, end, repl, Kind::Name))
}

/// Length of a Capitalised name word at `i` ("John", "O'Brien",
/// "Mary-Jane"), or 0 if there is none or it is a common non-name.
fn name_word_len(c: &[char], i: usize) -> usize {
    let joiner =
        |k: usize| matches!(c.get(k), Some('\'' | '’' | '-')) && at(c, k + 1, char::is_alphabetic);
    let second = at(c, i + 1, char::is_lowercase) || joiner(i + 1);
    if !at(c, i, char::is_uppercase) || !second {
        return 0;
    }
    let mut n = 1;
    while at(c, i + n, char::is_alphabetic) || joiner(i + n) {
        n += 1;
    }
    if listed(NOT_NAMES, &text_of(c, i, i + n)) {
        0
    } else {
        n
    }
}

/// Chinese name after a cue at `i`: the surname stays, up to two given-name
/// chars become '*' ("我叫张伟" → "我叫张*").
fn cn_name(c: &[char], i: usize) -> Option<Hit> {
    let mut cues = CN_NAME_CUES.split(' ');
    let cue = cues.find(|cue| starts_with_at(c, i, cue))?;
    let s = i + cue.chars().count();
    let g = s + surname_len(c, s)?;
    let name_char = |ch: char| is_han(ch) && !NAME_STOPS.contains(ch);
    let given = run_len(c, g, name_char).min(2);
    // '*' counts as a name char here: it stands for a Han char masked later.
    let run = run_len(c, g, |ch| name_char(ch) || ch == '*');
    let weak_and_long = cue == "我是" && run > 2;
    if given == 0 || weak_and_long || listed(NOT_NAME_WORDS, &text_of(c, s, s + 2)) {
        return None;
    }
    let repl = format!("{}{}", text_of(c, s, g), "*".repeat(given));
    Some(hit(s, g + given, repl, Kind::Name))
}

/// Length (1 or 2) of a common Chinese surname at `s`, if one is there.
fn surname_len(c: &[char], s: usize) -> Option<usize> {
    if listed(COMPOUND_SURNAMES, &text_of(c, s, s + 2)) {
        return Some(2);
    }
    c.get(s).filter(|&&ch| SURNAMES.contains(ch)).map(|_| 1)
}

// ---------------------------------------------------------------- addresses

/// Words ending in 市/区 that are not administrative divisions.
const NOT_ADMIN: &str = "超市 夜市 股市 上市 菜市 小区 社区 园区 景区 地区 \
    郊区 市区 校区 街区 辖区 专区 商区 误区 分区";
/// Chars that, right after 省/市/区/县, make it part of a word (市场, 区域).
const NOT_ADMIN_NEXT: &str = "场民长政委级域份内";
/// Chars in a Chinese address detail that show it names a street, building or number.
const CN_DETAIL_MARKS: &str = "路街号弄巷村楼室栋幢座";
/// Chars that end a Chinese address detail (besides whitespace).
const CN_DETAIL_END: &str = "。，,.!?！？；;、";
/// English street types (lower case).
const STREET_TYPES: &str =
    "street st road rd avenue ave lane ln drive dr boulevard blvd way court ct place pl";
/// Words introducing an apartment or unit id after a street (lower case).
const UNIT_WORDS: &str = "apt apartment unit suite flat";

/// Address step at `i`. After a miss it resumes behind an administrative
/// prefix, so the same prefix is found again once its detail is masked.
fn step_address(c: &[char], i: usize) -> (Option<Hit>, usize) {
    let found = cn_address(c, i).or_else(|| en_address(c, i));
    (found, admin_prefix_end(c, i).unwrap_or(i + 1))
}

/// Chinese address at `i`: the administrative prefix stays, the detail after
/// it (up to punctuation or whitespace) becomes "****" if it names a place.
fn cn_address(c: &[char], i: usize) -> Option<Hit> {
    let start = admin_prefix_end(c, i)?;
    let in_detail = |ch: char| !ch.is_whitespace() && !CN_DETAIL_END.contains(ch);
    let mark = |ch: char| ch.is_ascii_digit() || CN_DETAIL_MARKS.contains(ch);
    let end = start + run_len(c, start, in_detail);
    let detail = text_of(c, start, end);
    let marked = detail.chars().any(mark) || detail.contains("单元") || detail.contains("大道");
    marked.then(|| hit(start, end, "****".to_string(), Kind::Address))
}

/// End of the administrative divisions starting at `i`, each of a lower level
/// than the one before (1 province, 2 city, 3 district), stopping after the
/// district level; None when there is none.
fn admin_prefix_end(c: &[char], i: usize) -> Option<usize> {
    let (mut pos, mut level) = (i, 0u8);
    while level < 3 {
        match admin_segment(c, pos, level) {
            Some((end, l)) if l > level => (pos, level) = (end, l),
            _ => break,
        }
    }
    (level > 0).then_some(pos)
}

/// One administrative division at `i`: 2-8 Han chars, the last a unit char;
/// returns its end and level. `prev` is the level of the division before.
fn admin_segment(c: &[char], i: usize, prev: u8) -> Option<(usize, u8)> {
    if !at(c, i, is_han) {
        return None;
    }
    for k in i + 1..(i + 8).min(c.len()) {
        if !is_han(c[k]) {
            return None;
        }
        if let Some(level) = unit_level(c, i, k, prev) {
            return Some((k + 1, level));
        }
    }
    None
}

/// Level of the division `c[i..=k]` when `c[k]` is an administrative unit
/// char and not part of a common word such as 超市, 小区 or 市场.
fn unit_level(c: &[char], i: usize, k: usize, prev: u8) -> Option<u8> {
    let next = c.get(k + 1).copied().unwrap_or(' ');
    if listed(NOT_ADMIN, &text_of(c, k - 1, k + 1)) || NOT_ADMIN_NEXT.contains(next) {
        return None;
    }
    if k >= i + 3 && text_of(c, k - 2, k + 1) == "自治区" {
        return Some(1);
    }
    match c[k] {
        '省' => Some(1),
        '州' | '盟' if next != '市' => Some(2),
        '市' => Some(if prev <= 1 { 2 } else { 3 }),
        '区' | '县' | '旗' => Some(3),
        _ => None,
    }
}

/// English address at `i`: house number (1-5 digits, optional letter), 1-3
/// Capitalised words and a street type; number and words become "****".
fn en_address(c: &[char], i: usize) -> Option<Hit> {
    let digits = run_len(c, i, |ch| ch.is_ascii_digit());
    let glued = i > 0 && (c[i - 1].is_ascii_alphanumeric() || c[i - 1] == '*');
    if glued || digits == 0 || digits > 5 {
        return None;
    }
    let mut pos = i + digits;
    if at(c, pos, |ch| ch.is_ascii_uppercase()) && c.get(pos + 1) == Some(&' ') {
        pos += 1;
    }
    for words in 0..4 {
        let len = run_len(c, pos + 1, |ch| ch.is_ascii_alphabetic());
        if c.get(pos) != Some(&' ') || len == 0 {
            return None;
        }
        let word = text_of(c, pos + 1, pos + 1 + len).to_ascii_lowercase();
        if words > 0 && listed(STREET_TYPES, &word) {
            return Some(street_hit(c, i, pos, pos + 1 + len));
        }
        if !c[pos + 1].is_ascii_uppercase() {
            return None;
        }
        pos += 1 + len;
    }
    None
}

/// The hit for an English address whose number and name span `i..name_end`
/// and whose street type ends at `type_end`, with any apartment id masked.
fn street_hit(c: &[char], i: usize, name_end: usize, type_end: usize) -> Hit {
    match apt_after(c, type_end) {
        Some((a, b)) => {
            let repl = format!("****{}****", text_of(c, name_end, a));
            hit(i, b, repl, Kind::Address)
        }
        None => hit(i, name_end, "****".to_string(), Kind::Address),
    }
}

/// The char range of an apartment id right after a street ("…, Apt 4B").
fn apt_after(c: &[char], p: usize) -> Option<(usize, usize)> {
    let mut q = p + run_len(c, p, |ch| ch == '.' || ch == ',');
    q += run_len(c, q, |ch| ch == ' ');
    let w = run_len(c, q, |ch| ch.is_ascii_alphabetic());
    if w == 0 || !listed(UNIT_WORDS, &text_of(c, q, q + w).to_ascii_lowercase()) {
        return None;
    }
    q += w + run_len(c, q + w, |ch| matches!(ch, '.' | ' ' | '#'));
    let t = run_len(c, q, |ch| ch.is_ascii_alphanumeric());
    let has_digit = c[q..q + t].iter().any(char::is_ascii_digit);
    has_digit.then_some((q, q + t))
}

// ---------------------------------------------------------------- written numbers

/// A candidate number: chars `start..end`, the digit counts of its `groups`
/// between separators, whether it starts with a `plus` (country code),
/// whether every separator is one '-' (`dashes_only`), and whether a trailing
/// X/x (Chinese ID check char) belongs to it (`x`).
#[derive(Default)]
struct NumSpan {
    start: usize,
    end: usize,
    groups: Vec<usize>,
    plus: bool,
    dashes_only: bool,
    x: bool,
}

/// Written-number step at `i`: a hit if a number starting there is personal
/// data; goes on after the number, or after the ASCII word at `i`.
fn step_number(c: &[char], i: usize) -> (Option<Hit>, usize) {
    let ch = c[i];
    let word = |x: char| x.is_ascii_alphanumeric() || x == '_';
    if ch.is_ascii_alphabetic() || ch == '_' {
        return (None, i + run_len(c, i, word));
    }
    let next_digit = at(c, i + 1, |d| d.is_ascii_digit());
    if !(ch.is_ascii_digit() || (matches!(ch, '+' | '(') && next_digit)) {
        return (None, i + 1);
    }
    let span = scan_number(c, i);
    (number_hit(c, &span), span.end)
}

/// Reads a number at `start`: digit groups joined by separator runs of up to
/// two chars among space, '-', '(' and ')', see [`joinable`].
fn scan_number(c: &[char], start: usize) -> NumSpan {
    let plus = c[start] == '+';
    let mut i = start + usize::from(!c[start].is_ascii_digit());
    let mut s = NumSpan::default();
    (s.start, s.plus, s.dashes_only) = (start, plus, true);
    // Whether groups so far were joined by a dash (see `joinable`).
    let mut dashed = false;
    loop {
        let g = run_len(c, i, |ch| ch.is_ascii_digit());
        s.groups.push(g);
        let left = digitish_run(c, i, i + g);
        i += g;
        s.end = i;
        let sep = run_len(c, i, |ch| matches!(ch, ' ' | '-' | '(' | ')' | ',')).min(2);
        let next = run_len(c, i + sep, |ch| ch.is_ascii_digit());
        let right = digitish_run(c, i + sep, i + sep + next);
        let cc = plus && s.groups.len() == 1;
        if sep == 0 || next == 0 || !joinable(&c[i..i + sep], left, right, cc, dashed) {
            break;
        }
        dashed |= c[i..i + sep].contains(&'-');
        s.dashes_only &= sep == 1 && c[i] == '-';
        i += sep;
    }
    if s.groups == [17] && matches!(c.get(s.end), Some('X' | 'x')) {
        s.end += 1;
        s.x = true;
    }
    s
}

/// Length of the digit group `c[a..b]` grown by the digits and '*' right
/// around it: a '*' stands for a digit masked earlier, so a masked number
/// joins its neighbours (or not) exactly as it did before masking.
fn digitish_run(c: &[char], a: usize, b: usize) -> usize {
    let digitish = |ch: char| ch.is_ascii_digit() || ch == '*';
    back_len(c, a, digitish) + (b - a) + run_len(c, b, digitish)
}

/// Whether digit groups of `left` and `right` digits around `sep` form one
/// number: always after a '+' country code; across '-' or parentheses when
/// either group has at most 4 digits; across spaces when both have; across a
/// comma and a space when both have and the groups before were `dashed`: how
/// Whisper writes digits said in groups (`1-3-8, 1-2-3-4`), not a list of
/// years or counts (`2019, 2020`). A comma in any other place ends the number.
fn joinable(sep: &[char], left: usize, right: usize, after_cc: bool, dashed: bool) -> bool {
    if sep.contains(&',') {
        dashed && sep == [',', ' '] && left <= 4 && right <= 4
    } else if sep.iter().all(|&ch| ch == ' ') {
        after_cc || (left <= 4 && right <= 4)
    } else {
        after_cc || left.min(right) <= 4
    }
}

/// Decides whether a scanned number is personal data and builds its hit.
fn number_hit(c: &[char], s: &NumSpan) -> Option<Hit> {
    let glued = |k: usize| at(c, k, |ch| ch.is_ascii_alphanumeric() || ch == '_');
    let digitish = |k: usize| at(c, k, |ch| ch.is_ascii_digit() || ch == '*');
    let decimal_after = c.get(s.end) == Some(&'.') && digitish(s.end + 1);
    let decimal_before = s.start >= 2 && c[s.start - 1] == '.' && digitish(s.start - 2);
    if glued(s.end) || (s.start > 0 && glued(s.start - 1)) || decimal_after || decimal_before {
        return None;
    }
    let text = &c[s.start..s.end];
    let digit = |ch: &char| ch.to_digit(10).map(|d| d as u8);
    let digits: Vec<u8> = text.iter().filter_map(digit).collect();
    let (kind, head, tail) = classify(&digits, s)?;
    let unit = |ch: char| ch.is_ascii_digit() || ch == 'X' || ch == 'x';
    let repl = mask_units(text, unit, head, tail);
    Some(hit(s.start, s.end, repl, kind))
}

/// Classifies a digit sequence: None below 7 digits or for a date, else its
/// kind and how many leading and trailing digits stay visible.
fn classify(d: &[u8], s: &NumSpan) -> Option<(Kind, usize, usize)> {
    let n = d.len();
    let id_len = if s.x { 17 } else { 18 };
    let dashed = |g: &[usize]| s.dashes_only && s.groups == g;
    if n < 7 || dashed(&[4, 2, 2]) || dashed(&[2, 2, 4]) {
        None
    } else if s.groups.len() == 1 && !s.plus && n == id_len && plausible_birth(d) {
        Some((Kind::IdNumber, 3, 4))
    } else if dashed(&[3, 2, 4]) {
        Some((Kind::IdNumber, 0, 4))
    } else if s.plus && n == 13 && d.starts_with(&[8, 6]) && is_mobile(&d[2..]) {
        Some((Kind::Phone, 5, 4))
    } else if !s.plus && s.groups.first().is_some_and(|&g| g >= 3) && is_mobile(d) {
        Some((Kind::Phone, 3, 4))
    } else if (13..=19).contains(&n) && luhn(d) {
        Some((Kind::Card, 0, 4))
    } else {
        Some((Kind::Phone, 0, 4))
    }
}

/// Whether the digits look like a Chinese mobile number: 1[3-9] + 9 digits.
fn is_mobile(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == 1 && d[1] >= 3
}

/// Whether digits 7-14 of an 18-char resident ID are a plausible birth date.
fn plausible_birth(d: &[u8]) -> bool {
    if d.len() < 14 {
        return false;
    }
    let num = |a: usize, b: usize| d[a..b].iter().fold(0, |n, &x| n * 10 + u32::from(x));
    let (year, month, day) = (num(6, 10), num(10, 12), num(12, 14));
    (1800..2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// What a run of digits said aloud is most likely: an 18-digit resident ID with a
/// birth date, a bank card (13-19 digits passing Luhn), else a phone number.
pub fn kind_of_digits(d: &[u8]) -> Kind {
    if d.len() == 18 && plausible_birth(d) {
        Kind::IdNumber
    } else if (13..=19).contains(&d.len()) && luhn(d) {
        Kind::Card
    } else {
        Kind::Phone
    }
}

/// The value of a spoken digit: an English digit word (also `oh`) or a Chinese
/// numeral (also 幺 两 〇).
pub fn digit_value(word: &str) -> Option<u8> {
    let w = word.to_ascii_lowercase();
    if w == "oh" {
        return Some(0);
    }
    if let Some(d) = EN_DIGITS.iter().position(|&d| d == w) {
        return Some(d as u8);
    }
    let mut chars = word.chars();
    match (chars.next(), chars.next()) {
        (Some(ch), None) => cn_digit(ch),
        _ => None,
    }
}

/// Luhn checksum, as used by bank card numbers.
fn luhn(d: &[u8]) -> bool {
    const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    // Every second digit from the right counts doubled (digit sum).
    let value = |(i, &x): (usize, &u8)| u32::from([x, DOUBLED[usize::from(x % 10)]][i % 2]);
    d.iter().rev().enumerate().map(value).sum::<u32>() % 10 == 0
}

// ---------------------------------------------------------------- spoken digits

/// English digit words, indexed by value.
const EN_DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
/// Chinese numerals, indexed by value.
const CN_DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// One spoken digit unit: its char range and the digits it stands for.
type Unit = (usize, usize, Vec<u8>);

/// Spoken-digit step at `i`: a run of Chinese numerals or English digit
/// words; a hit when it holds 7+ digits. Goes on after the run or word.
fn step_spoken(c: &[char], i: usize) -> (Option<Hit>, usize) {
    if cn_digit(c[i]).is_some() {
        return spoken_cn(c, i);
    }
    let units = en_units(c, i);
    match units.last() {
        Some(&(_, end, _)) => (spoken_en(c, i, &units, end), end),
        None => (None, i + run_len(c, i, |ch| ch.is_ascii_alphanumeric())),
    }
}

/// A NumSpan shape for `n` spoken digits: one group, no separators.
fn spoken_shape(n: usize) -> NumSpan {
    NumSpan {
        groups: vec![n],
        ..NumSpan::default()
    }
}

/// Value of a Chinese numeral as read out in digits (幺 = 1, 两 = 2, 〇 = 0).
fn cn_digit(ch: char) -> Option<u8> {
    match ch {
        '〇' => Some(0),
        '幺' => Some(1),
        '两' => Some(2),
        _ => CN_DIGITS.iter().position(|&d| d == ch).map(|p| p as u8),
    }
}

/// Chinese numerals at `i` (single spaces allowed between them): a hit for
/// 7+ digits, keeping the run's shape; goes on after the run.
fn spoken_cn(c: &[char], i: usize) -> (Option<Hit>, usize) {
    let is_digit = |k: usize| c.get(k).and_then(|&ch| cn_digit(ch)).is_some();
    let mut end = i;
    while is_digit(end) || (c.get(end) == Some(&' ') && is_digit(end + 1)) {
        end += 1;
    }
    let digits: Vec<u8> = c[i..end].iter().filter_map(|&ch| cn_digit(ch)).collect();
    let found = classify(&digits, &spoken_shape(digits.len()));
    let found = found.map(|(kind, head, tail)| {
        let repl = mask_units(&c[i..end], |ch| cn_digit(ch).is_some(), head, tail);
        hit(i, end, repl, kind)
    });
    (found, end)
}

/// Lower-cased ASCII word starting at `i` and its end; None unless `i`
/// starts a whole word of letters.
fn ascii_word(c: &[char], i: usize) -> Option<(usize, String)> {
    if i > 0 && at(c, i - 1, |ch| ch.is_ascii_alphanumeric() || ch == '*') {
        return None;
    }
    let n = run_len(c, i, |ch| ch.is_ascii_alphabetic());
    if n == 0 || at(c, i + n, |d| d.is_ascii_digit()) {
        return None;
    }
    Some((i + n, text_of(c, i, i + n).to_ascii_lowercase()))
}

/// The spoken digit unit at `i`: a digit word ("oh" = 0), or "double" or
/// "triple" and a digit word.
fn spoken_unit(c: &[char], i: usize) -> Option<Unit> {
    let digit = digit_value;
    let (end, w) = ascii_word(c, i)?;
    let times = match w.as_str() {
        "double" => 2,
        "triple" => 3,
        _ => return digit(&w).map(|d| (i, end, vec![d])),
    };
    let (end2, w2) = ascii_word(c, end + 1).filter(|_| c.get(end) == Some(&' '))?;
    digit(&w2).map(|d| (i, end2, vec![d; times]))
}

/// The English digit units from `i` on, separated by up to three spaces,
/// hyphens or commas.
fn en_units(c: &[char], i: usize) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut pos = i;
    while let Some(unit) = spoken_unit(c, pos) {
        let gap = run_len(c, unit.1, |ch| matches!(ch, ' ' | '-' | ','));
        pos = unit.1 + gap;
        units.push(unit);
        if gap == 0 || gap > 3 {
            break;
        }
    }
    units
}

/// The hit for English units `i..end` holding 7+ digits: kept units stay as
/// written, hidden digits become one '*' each, merged into one word.
fn spoken_en(c: &[char], i: usize, units: &[Unit], end: usize) -> Option<Hit> {
    let digits: Vec<u8> = units.iter().flat_map(|u| u.2.iter().copied()).collect();
    let n = digits.len();
    let (kind, head, tail) = classify(&digits, &spoken_shape(n))?;
    let keep = |k: usize| k < head || k + tail >= n;
    let (mut words, mut k): (Vec<String>, usize) = (Vec::new(), 0);
    for (start, stop, d) in units {
        if (k..k + d.len()).all(keep) {
            words.push(text_of(c, *start, *stop));
            k += d.len();
            continue;
        }
        for &x in d {
            match words.last_mut() {
                _ if keep(k) => words.push(EN_DIGITS[usize::from(x % 10)].to_string()),
                Some(w) if w.starts_with('*') => w.push('*'),
                _ => words.push("*".to_string()),
            }
            k += 1;
        }
    }
    Some(hit(i, end, words.join(" "), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_spans_are_the_numbers_mask_hides_and_not_order_numbers() {
        let text = "订单10001, call 138 1234 5678 or four one one one one one one one one one one one one one one one, id 110101199003074514";
        let spans: Vec<(&str, Kind)> = number_spans(text).into_iter().map(|(r, k)| (&text[r], k)).collect();
        assert_eq!(spans, [("138 1234 5678", Kind::Phone), ("four one one one one one one one one one one one one one one one", Kind::Card), ("110101199003074514", Kind::IdNumber)]);
        assert!(number_spans("where is order 48152").is_empty());
    }

    /// Phones, one `input => masked` per line.
    const PHONES: &str = "
        13812345678 => 138****5678
        call me on 13812345678. => call me on 138****5678.
        138 1234 5678 => 138 **** 5678
        138-1234-5678 => 138-****-5678
        +86 13812345678 => +86 138****5678
        +8613812345678 => +86138****5678
        +86 138 1234 5678 => +86 138 **** 5678
        1-3-8, 1-2-3-4, 5-6-7-8. => *-*-*, *-*-*-*, 5-6-7-8.
        电话13812345678谢谢 => 电话138****5678谢谢
        **13812345678** => **138****5678**
        +1 (415) 555-0134 => +* (***) ***-0134
        020-12345678 => ***-****5678
        (010)12345678 => (***)****5678
        1234567 => ***4567
        4111111111111112 => ************1112
        110105199013011234 => **************1234";

    /// Spoken digits (all phones), one `input => masked` per line.
    const SPOKEN: &str = "
        one three eight one two three four five six seven eight => one three eight **** five six seven eight
        One-three-eight, one two three four five six seven eight => One three eight **** five six seven eight
        call oh two oh double five five one two three four => call ****** one two three four
        two one two five five five one two three four => ****** one two three four
        one two three four five six seven => *** four five six seven
        幺三八一二三四五六七八 => 幺三八****五六七八
        一三八 一二三四 五六七八 => 一三八 **** 五六七八
        号码是零二零一二三四五六七八 => 号码是*******五六七八
        电话一三八一二三四五六七八，订单四八一五二 => 电话一三八****五六七八，订单四八一五二";

    /// E-mail addresses, one `input => masked` per line.
    const EMAILS: &str = "
        john.doe@example.com => j*******@example.com
        mail me: a.b+c@mail.co.uk! => mail me: a****@mail.co.uk!
        邮箱zw@example.com => 邮箱z*@example.com";

    /// Bank cards, one `input => masked` per line.
    const CARDS: &str = "
        4111 1111 1111 1111 => **** **** **** 1111
        4111-1111-1111-1111 => ****-****-****-1111
        card 4111111111111111 ok => card ************1111 ok
        5500 0000 0000 0004 => **** **** **** 0004";

    /// ID numbers, one `input => masked` per line.
    const IDS: &str = "
        11010519900101123X => 110***********123X
        11010519900101123x => 110***********123x
        身份证110105199001011234。 => 身份证110***********1234。
        SSN 123-45-6789 => SSN ***-**-6789";

    /// Street addresses, one `input => masked` per line.
    const ADDRESSES: &str = "
        北京市朝阳区建国路88号 => 北京市朝阳区****
        北京市海淀区中关村大街1号 => 北京市海淀区****
        上海市浦东新区世纪大道100号3楼 => 上海市浦东新区****
        广东省深圳市南山区科技园路1号 => 广东省深圳市南山区****
        我住在北京市朝阳区建国路88号，谢谢 => 我住在北京市朝阳区****，谢谢
        广州市天河区体育西路1号 => 广州市天河区****
        北京市建国路88号 => 北京市****
        四川省成都市武侯区人民南路4段 => 四川省成都市武侯区****
        北京市东城区王府井大街1号 => 北京市东城区****
        广东省江门市蓬江区建设路2号 => 广东省江门市蓬江区****
        I live at 12 Baker Street, London => I live at **** Street, London
        Send it to 221B Baker St. please => Send it to **** St. please
        1600 Pennsylvania Avenue, Apt 4B, DC => **** Avenue, Apt ****, DC";

    /// Names, one `input => masked` per line.
    const NAMES: &str = "
        my name is John Smith => my name is J*** S****
        Hi, this is Mary-Jane O'Brien. => Hi, this is M******** O******.
        I'm Alice => I'm A****
        This is Bob speaking => This is B** speaking
        我叫张伟 => 我叫张*
        我叫王小明，订单10001 => 我叫王**，订单10001
        我是王小明 => 我是王**
        我的名字是欧阳娜娜 => 我的名字是欧阳**
        我是张伟的朋友 => 我是张*的朋友";

    /// Order numbers, which the dialog needs: never masked, one per line.
    const ORDERS: &str = "
        my order 48152 hasn't arrived
        订单10001
        #48152
        四八一五二
        order number four eight one five two
        orders 10001 10002 and 10003-10004
        orders 10001, 10002, 10003
        123456
        one two three four five six";

    /// Texts without personal data: never masked, one per line.
    const KEPT: &str = "
        in 2019, 2020 and 2021
        December 12, 2024, 3 items
        I'm angry
        I'm OK
        i am tired
        I am so sorry, this is fine
        我是想问一下
        我是说
        我姓李
        我是王先生
        我是江苏的
        我是黄金会员
        我是马上要走
        我叫了外卖
        我在超市买的东西
        北京市
        北京市朝阳区
        北京市朝阳区的天气
        delivered on 2024-01-15 at 10:30
        total 1234567.89 yuan
        ticket AB12345678
        I bought 3 new road bikes
        user@localhost
        hello 👋 你好，世界！
        一二三";

    /// The non-empty trimmed lines of a table.
    fn lines(table: &str) -> impl Iterator<Item = &str> {
        table.lines().map(str::trim).filter(|l| !l.is_empty())
    }

    /// The `input => masked` pairs of a table.
    fn pairs(table: &str) -> Vec<(&str, &str)> {
        lines(table)
            .map(|l| l.split_once(" => ").expect("a => line"))
            .collect()
    }

    /// Checks every pair masks as expected and reports exactly `kind`.
    fn check(table: &str, kind: Kind) {
        for (input, want) in pairs(table) {
            let (out, kinds) = mask_kinds(input);
            assert_eq!(out, want, "input: {input}");
            assert_eq!(kinds, vec![kind], "input: {input}");
        }
    }

    /// Checks every line comes back unchanged, with no kinds.
    fn check_kept(table: &str) {
        for text in lines(table) {
            assert_eq!(mask_kinds(text), (text.to_string(), vec![]));
        }
    }

    #[test]
    fn phones() {
        check(PHONES, Kind::Phone);
    }

    #[test]
    fn spoken_digits() {
        check(SPOKEN, Kind::Phone);
    }

    #[test]
    fn emails() {
        check(EMAILS, Kind::Email);
    }

    #[test]
    fn cards() {
        check(CARDS, Kind::Card);
    }

    #[test]
    fn id_numbers() {
        check(IDS, Kind::IdNumber);
    }

    #[test]
    fn addresses() {
        check(ADDRESSES, Kind::Address);
    }

    #[test]
    fn names() {
        check(NAMES, Kind::Name);
    }

    #[test]
    fn order_numbers_kept() {
        check_kept(ORDERS);
    }

    #[test]
    fn non_pii_kept() {
        check_kept(KEPT);
    }

    #[test]
    fn empty_string() {
        assert_eq!(mask_kinds(""), (String::new(), vec![]));
    }

    #[test]
    fn idempotent_over_all_examples() {
        let tables = [PHONES, SPOKEN, EMAILS, CARDS, IDS, ADDRESSES, NAMES];
        let inputs = tables
            .iter()
            .flat_map(|t| pairs(t).into_iter().map(|p| p.0));
        let kept = [ORDERS, KEPT].into_iter().flat_map(lines);
        for text in inputs.chain(kept) {
            let (once, _) = mask_kinds(text);
            let (twice, kinds) = mask_kinds(&once);
            assert_eq!(twice, once, "input: {text}");
            assert!(kinds.is_empty(), "re-masked {kinds:?} for {text}");
        }
    }

    #[test]
    fn order_numbers_survive_next_to_pii() {
        let out = mask("order 48152, phone 13812345678, #48153, 48154 13812345678");
        assert_eq!(
            out,
            "order 48152, phone 138****5678, #48153, 48154 138****5678"
        );
    }

    #[test]
    fn luhn_decides_card_or_phone() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
        assert_eq!(mask_kinds("4111111111111111").1, vec![Kind::Card]);
        assert_eq!(mask_kinds("4111111111111112").1, vec![Kind::Phone]);
    }

    #[test]
    fn chinese_mixed_sentence() {
        let text = "我叫张伟，电话13812345678，邮箱zw@example.com，\
                    住北京市朝阳区建国路88号，卡号4111111111111111，订单48152";
        let want = "我叫张*，电话138****5678，邮箱z*@example.com，\
                    住北京市朝阳区****，卡号************1111，订单48152";
        let (out, kinds) = mask_kinds(text);
        assert_eq!(out, want);
        let expected = [
            Kind::Email,
            Kind::Name,
            Kind::Address,
            Kind::Phone,
            Kind::Card,
        ];
        assert_eq!(kinds, expected);
    }

    #[test]
    fn english_mixed_sentence() {
        let text = "Hi, my name is John Smith, I live at 12 Baker Street. Call +1 415-555-0134 \
                    or email john.smith@example.com about order 48152.";
        let want = "Hi, my name is J*** S****, I live at **** Street. Call +* ***-***-0134 \
                    or email j*********@example.com about order 48152.";
        let (out, kinds) = mask_kinds(text);
        assert_eq!(out, want);
        assert_eq!(kinds, [Kind::Email, Kind::Name, Kind::Address, Kind::Phone]);
    }

    #[test]
    fn counts_each_occurrence() {
        let (_, kinds) = mask_kinds("13812345678 and 13987654321");
        assert_eq!(kinds, vec![Kind::Phone, Kind::Phone]);
    }

    #[test]
    fn kind_names() {
        let all = [
            Kind::Phone,
            Kind::Email,
            Kind::Card,
            Kind::IdNumber,
            Kind::Address,
            Kind::Name,
        ];
        let names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["phone", "email", "card", "id_number", "address", "name"]
        );
    }

    #[test]
    fn utf8_around_masks_is_intact() {
        assert_eq!(mask("📞13812345678📞 é 张三"), "📞138****5678📞 é 张三");
    }
}
