//! A data-only pickle reader for Python's `logging.SocketHandler`.
//!
//! Python's own receiver calls `pickle.loads`, which runs whatever code the
//! sender names. This reader understands the opcodes that build plain data
//! (None, bools, ints, floats, str, bytes, lists, tuples, dicts, sets, the
//! memo) in every protocol, and refuses the ones that import or call
//! anything (`GLOBAL`, `REDUCE`, `BUILD`, `INST`, `OBJ`, `NEWOBJ`,
//! persistent ids, extension codes). A few imports are recognised as data,
//! as `pickle` writes them for plain values: `_codecs.encode(str,
//! "latin1")` (bytes), `builtins.set`/`frozenset`, and the standard
//! library's plain-data types that `logging` records carry in `extra`
//! (`datetime`, `date`, `time`, `timedelta`, `timezone`, `Decimal`, `UUID`:
//! see `pickle_data`). Those are read from their pickled state as the text
//! Python prints; nothing is ever imported or called.
//!
//! Memory stays bounded: values live in an arena that grows at most by one
//! node per opcode, and memo references are indices, not copies, so a
//! small pickle that references one big string many times cannot expand
//! while it is read. (Rendering it bounds the output separately.)

use core::fmt;

/// Why a pickle was refused.
///
/// ```
/// let e = fluent_catcher::PickleError::Code("REDUCE");
/// assert!(e.to_string().contains("only plain data"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PickleError {
    /// The bytes end inside an opcode or before `STOP`.
    Truncated,
    /// An opcode that imports or calls code; the name says which.
    Code(&'static str),
    /// An opcode this reader does not know.
    UnknownOpcode(u8),
    /// The stack or the mark stack is not as the opcode needs.
    BadStack,
    /// A memo reference to an index never stored.
    BadMemo,
    /// A text field is not what its opcode needs (bad UTF-8, bad number).
    BadText,
    /// A global other than the recognised data ones.
    Global(String),
    /// An integer wider than 128 bytes (its decimal text would take
    /// quadratic time).
    IntTooLarge(usize),
    /// The pickle's copies (sets built from lists, encoded text) exceed a
    /// multiple of its own size: a memo bomb.
    Expands,
}

/// How many elements or bytes REDUCE may copy per byte of pickle.
const COPY_FACTOR: usize = 4;

/// The widest integer read (2^1024: 309 digits), in bytes.
pub(crate) const MAX_INT_BYTES: usize = 128;

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickleError::Truncated => f.write_str("pickle is truncated"),
            PickleError::Code(op) => write!(f, "pickle runs code ({op}); only plain data is accepted"),
            PickleError::UnknownOpcode(op) => write!(f, "unknown pickle opcode 0x{op:02x}"),
            PickleError::BadStack => f.write_str("pickle stack is malformed"),
            PickleError::BadMemo => f.write_str("pickle refers to a memo entry never stored"),
            PickleError::BadText => f.write_str("pickle text field is malformed"),
            PickleError::Global(name) => write!(f, "pickle imports {name}; only plain data is accepted"),
            PickleError::IntTooLarge(n) => write!(f, "pickle integer of {n} bytes (at most {MAX_INT_BYTES})"),
            PickleError::Expands => f.write_str("pickle copies far more than its own size (a memo bomb)"),
        }
    }
}

impl std::error::Error for PickleError {}

/// Index of a node in the arena.
pub(crate) type NodeId = usize;

/// A plain-data value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64, as decimal text.
    BigInt(String),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<NodeId>),
    Tuple(Vec<NodeId>),
    Dict(Vec<(NodeId, NodeId)>),
    Set(Vec<NodeId>),
    /// A recognised global, waiting for `REDUCE`.
    Callable(Callable),
    /// `datetime.timedelta(days, seconds, microseconds)`, kept as numbers
    /// for a `timezone` (rendered as the text Python prints).
    Delta(i64, i64, i64),
    /// `datetime.timezone(offset)`: its `isoformat` suffix (`+05:30`).
    TimeZone(String),
    /// A `uuid.UUID` created, waiting for its state (`BUILD`).
    UuidShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Callable {
    CodecsEncode,
    Set,
    /// `datetime.datetime`, `date`, `time`, `timedelta`, `decimal.Decimal`:
    /// read as text (see `pickle_data`).
    DateTime,
    Date,
    Time,
    TimeDelta,
    Decimal,
    TimeZone,
    /// `uuid.UUID`, and what protocol 1 wraps it in:
    /// `copyreg._reconstructor(UUID, object, None)`.
    Uuid,
    Reconstructor,
    Object,
}

/// A decoded pickle: the arena and the root node.
#[derive(Debug, Default)]
pub(crate) struct Pickle {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
}

impl Pickle {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        self.nodes.get(id).unwrap_or(&Node::None)
    }

    /// The value under a string key of the root dict.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        let Node::Dict(pairs) = self.node(self.root) else { return None };
        pairs.iter().find(|(k, _)| matches!(self.node(*k), Node::Str(s) if s == key)).map(|(_, v)| self.node(*v))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).ok_or(PickleError::Truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or(PickleError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(*self.take(1)?.first().ok_or(PickleError::Truncated)?)
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        self.take(N)?.try_into().map_err(|_| PickleError::Truncated)
    }

    fn len_u32(&mut self) -> Result<usize, PickleError> {
        usize::try_from(u32::from_le_bytes(self.le()?)).map_err(|_| PickleError::Truncated)
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        usize::try_from(u64::from_le_bytes(self.le()?)).map_err(|_| PickleError::Truncated)
    }

    /// A protocol-0 text argument up to its newline.
    fn line(&mut self) -> Result<&'a str, PickleError> {
        core::str::from_utf8(self.line_bytes()?).map_err(|_| PickleError::BadText)
    }

    /// The bytes up to the next newline (which is consumed, not returned).
    fn line_bytes(&mut self) -> Result<&'a [u8], PickleError> {
        let rest = self.bytes.get(self.pos..).ok_or(PickleError::Truncated)?;
        let n = rest.iter().position(|&b| b == b'\n').ok_or(PickleError::Truncated)?;
        let text = rest.get(..n).ok_or(PickleError::Truncated)?;
        self.pos += n + 1;
        Ok(text)
    }
}

struct Machine {
    nodes: Vec<Node>,
    stack: Vec<NodeId>,
    marks: Vec<usize>,
    memo: std::collections::HashMap<u64, NodeId>,
    /// Elements and bytes that REDUCE may still copy (a multiple of the
    /// pickle's size): memo references make copies cheap to ask for.
    copy_budget: usize,
}

impl Machine {
    fn push(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(self.nodes.len() - 1);
    }

    fn pop(&mut self) -> Result<NodeId, PickleError> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(PickleError::BadStack);
        }
        self.stack.pop().ok_or(PickleError::BadStack)
    }

    fn top(&self) -> Result<NodeId, PickleError> {
        self.stack.last().copied().ok_or(PickleError::BadStack)
    }

    /// Everything above the last mark, removing the mark.
    fn pop_mark(&mut self) -> Result<Vec<NodeId>, PickleError> {
        let mark = self.marks.pop().ok_or(PickleError::BadStack)?;
        if mark > self.stack.len() {
            return Err(PickleError::BadStack);
        }
        Ok(self.stack.split_off(mark))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<NodeId>, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return Err(PickleError::BadStack);
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self.memo.get(&key).ok_or(PickleError::BadMemo)?;
        self.stack.push(id);
        Ok(())
    }

    fn node_mut(&mut self, id: NodeId) -> Result<&mut Node, PickleError> {
        self.nodes.get_mut(id).ok_or(PickleError::BadStack)
    }

    fn extend_list(&mut self, list: NodeId, items: Vec<NodeId>) -> Result<(), PickleError> {
        match self.node_mut(list)? {
            Node::List(v) | Node::Set(v) => {
                v.extend(items);
                Ok(())
            }
            _ => Err(PickleError::BadStack),
        }
    }

    fn set_items(&mut self, dict: NodeId, items: Vec<NodeId>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(PickleError::BadStack);
        }
        let Node::Dict(pairs) = self.node_mut(dict)? else { return Err(PickleError::BadStack) };
        pairs.extend(items.chunks_exact(2).map(|kv| (kv[0], kv[1])));
        Ok(())
    }

    fn reduce(&mut self) -> Result<(), PickleError> {
        let args = self.pop()?;
        let callable = self.pop()?;
        let Node::Callable(kind) = self.nodes.get(callable).ok_or(PickleError::BadStack)? else {
            return Err(PickleError::Code("REDUCE"));
        };
        let Some(Node::Tuple(args)) = self.nodes.get(args) else { return Err(PickleError::BadStack) };
        let result = match (kind, args.as_slice()) {
            (Callable::CodecsEncode, [text, encoding]) => match (self.nodes.get(*text), self.nodes.get(*encoding)) {
                (Some(Node::Str(t)), Some(Node::Str(e))) if e == "latin1" || e == "latin-1" => {
                    self.copy_budget = self.copy_budget.checked_sub(t.len()).ok_or(PickleError::Expands)?;
                    let bytes: Result<Vec<u8>, _> = t.chars().map(|c| u8::try_from(u32::from(c))).collect();
                    Node::Bytes(bytes.map_err(|_| PickleError::BadText)?)
                }
                _ => return Err(PickleError::Code("REDUCE")),
            },
            (Callable::CodecsEncode, []) => Node::Bytes(Vec::new()),
            (Callable::Set, []) => Node::Set(Vec::new()),
            (Callable::Set, [items]) => match self.nodes.get(*items) {
                Some(Node::List(v) | Node::Tuple(v) | Node::Set(v)) => {
                    self.copy_budget = self.copy_budget.checked_sub(v.len()).ok_or(PickleError::Expands)?;
                    Node::Set(v.clone())
                }
                _ => return Err(PickleError::Code("REDUCE")),
            },
            (Callable::DateTime | Callable::Date | Callable::Time, [state, tz @ ..]) if tz.len() <= 1 => {
                let Some(Node::Bytes(state)) = self.nodes.get(*state) else { return Err(PickleError::Code("REDUCE")) };
                let text = match kind {
                    Callable::DateTime => crate::pickle_data::datetime(state),
                    Callable::Date if tz.is_empty() => crate::pickle_data::date(state),
                    Callable::Time => crate::pickle_data::time(state),
                    _ => None,
                };
                let suffix = match tz.first().map(|id| self.nodes.get(*id)) {
                    None | Some(Some(Node::None)) => "",
                    Some(Some(Node::TimeZone(offset))) => offset.as_str(),
                    // Another tzinfo (zoneinfo, pytz) is code, not data.
                    Some(_) => return Err(PickleError::Code("REDUCE")),
                };
                Node::Str(text.ok_or(PickleError::BadText)? + suffix)
            }
            (Callable::TimeDelta, [days, seconds, micros]) => {
                let int = |id: &NodeId| match self.nodes.get(*id) {
                    Some(Node::Int(n)) => Ok(*n),
                    _ => Err(PickleError::BadText),
                };
                let (days, seconds, micros) = (int(days)?, int(seconds)?, int(micros)?);
                crate::pickle_data::timedelta(days, seconds, micros).ok_or(PickleError::BadText)?;
                Node::Delta(days, seconds, micros)
            }
            (Callable::TimeZone, [delta, name @ ..]) if name.len() <= 1 => match self.nodes.get(*delta) {
                Some(Node::Delta(days, seconds, micros)) => Node::TimeZone(
                    crate::pickle_data::utc_offset(*days, *seconds, *micros).ok_or(PickleError::BadText)?,
                ),
                _ => return Err(PickleError::Code("REDUCE")),
            },
            (Callable::Reconstructor, [class, base, state]) => {
                let class = self.nodes.get(*class);
                let base = self.nodes.get(*base);
                match (class, base, self.nodes.get(*state)) {
                    (
                        Some(Node::Callable(Callable::Uuid)),
                        Some(Node::Callable(Callable::Object)),
                        Some(Node::None),
                    ) => Node::UuidShell,
                    _ => return Err(PickleError::Code("REDUCE")),
                }
            }
            (Callable::Decimal, [text]) => match self.nodes.get(*text) {
                Some(Node::Str(t)) => Node::Str(t.clone()),
                _ => return Err(PickleError::Code("REDUCE")),
            },
            _ => return Err(PickleError::Code("REDUCE")),
        };
        self.push(result);
        Ok(())
    }
}

impl Machine {
    /// `NEWOBJ`: only `uuid.UUID()` (protocol 2's way to make one, filled
    /// in by `BUILD`).
    fn new_object(&mut self) -> Result<(), PickleError> {
        let args = self.pop()?;
        let class = self.pop()?;
        match (self.nodes.get(class), self.nodes.get(args)) {
            (Some(Node::Callable(Callable::Uuid)), Some(Node::Tuple(args))) if args.is_empty() => {
                self.push(Node::UuidShell);
                Ok(())
            }
            _ => Err(PickleError::Code("NEWOBJ")),
        }
    }

    /// `BUILD`: only a `uuid.UUID`'s state `{"int": n}` (and its
    /// `is_safe`), which makes it its text.
    fn build(&mut self) -> Result<(), PickleError> {
        let state = self.pop()?;
        let object = self.top()?;
        if !matches!(self.nodes.get(object), Some(Node::UuidShell)) {
            return Err(PickleError::Code("BUILD"));
        }
        let Some(Node::Dict(pairs)) = self.nodes.get(state) else { return Err(PickleError::Code("BUILD")) };
        let mut int = None;
        for (key, value) in pairs {
            match (self.nodes.get(*key), self.nodes.get(*value)) {
                (Some(Node::Str(k)), Some(v)) if k == "int" => int = Some(v),
                (Some(Node::Str(k)), _) if k == "is_safe" => {}
                _ => return Err(PickleError::Code("BUILD")),
            }
        }
        let text = match int {
            Some(Node::Int(n)) => u128::try_from(*n).ok(),
            Some(Node::BigInt(digits)) => digits.parse::<u128>().ok(),
            _ => None,
        }
        .map(crate::pickle_data::uuid)
        .ok_or(PickleError::BadText)?;
        *self.node_mut(object)? = Node::Str(text);
        Ok(())
    }
}

fn global(module: &str, name: &str) -> Result<Callable, PickleError> {
    match (module, name) {
        ("_codecs", "encode") => Ok(Callable::CodecsEncode),
        ("__builtin__" | "builtins", "set" | "frozenset") => Ok(Callable::Set),
        ("datetime", "datetime") => Ok(Callable::DateTime),
        ("datetime", "date") => Ok(Callable::Date),
        ("datetime", "time") => Ok(Callable::Time),
        ("datetime", "timedelta") => Ok(Callable::TimeDelta),
        ("decimal", "Decimal") => Ok(Callable::Decimal),
        ("datetime", "timezone") => Ok(Callable::TimeZone),
        ("uuid", "UUID") => Ok(Callable::Uuid),
        ("copy_reg" | "copyreg", "_reconstructor") => Ok(Callable::Reconstructor),
        ("__builtin__" | "builtins", "object") => Ok(Callable::Object),
        _ => Err(PickleError::Global(format!("{module}.{name}"))),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, PickleError> {
    core::str::from_utf8(bytes).map(str::to_owned).map_err(|_| PickleError::BadText)
}

/// A little-endian two's-complement integer of any length (LONG1/LONG4).
fn long_le(bytes: &[u8]) -> Result<Node, PickleError> {
    if bytes.len() > MAX_INT_BYTES {
        return Err(PickleError::IntTooLarge(bytes.len()));
    }
    Ok(long_le_exact(bytes))
}

fn long_le_exact(bytes: &[u8]) -> Node {
    if bytes.is_empty() {
        return Node::Int(0);
    }
    if bytes.len() <= 8 {
        let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
        let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
        buf[..bytes.len()].copy_from_slice(bytes);
        return Node::Int(i64::from_le_bytes(buf));
    }
    // Larger than i64: keep it exact as decimal text.
    Node::BigInt(big_decimal(bytes))
}

/// Decimal text of a little-endian two's-complement integer.
fn big_decimal(bytes: &[u8]) -> String {
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    // Magnitude, little-endian.
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        let mut carry = 1u16;
        for b in &mut mag {
            let v = u16::from(!*b) + carry;
            *b = v as u8;
            carry = v >> 8;
        }
    }
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in mag.iter_mut().rev() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// A protocol-0 integer text (`I`/`L`): `I01`/`I00` are the booleans.
fn int_text(text: &str, allow_bool: bool) -> Result<Node, PickleError> {
    if allow_bool {
        match text {
            "01" => return Ok(Node::Bool(true)),
            "00" => return Ok(Node::Bool(false)),
            _ => {}
        }
    }
    let digits = text.strip_suffix('L').unwrap_or(text);
    match digits.parse::<i64>() {
        Ok(v) => Ok(Node::Int(v)),
        Err(_) => {
            let body = digits.strip_prefix('-').unwrap_or(digits);
            if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Node::BigInt(digits.to_owned()))
            } else {
                Err(PickleError::BadText)
            }
        }
    }
}

/// A protocol-0 `STRING` argument: a quoted Python repr of a byte string.
fn quoted_string(text: &str) -> Result<Vec<u8>, PickleError> {
    let inner = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| text.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
        .ok_or(PickleError::BadText)?;
    unescape(inner, false)
}

/// Python's `unicode_escape`/`raw_unicode_escape` subset used by pickle's
/// text opcodes. Returns UTF-8 bytes.
fn unescape(text: &str, raw_unicode: bool) -> Result<Vec<u8>, PickleError> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let next = chars.next().ok_or(PickleError::BadText)?;
        let hex = |chars: &mut core::str::Chars<'_>, n: usize| -> Result<u32, PickleError> {
            let s: String = chars.by_ref().take(n).collect();
            if s.len() != n {
                return Err(PickleError::BadText);
            }
            u32::from_str_radix(&s, 16).map_err(|_| PickleError::BadText)
        };
        let decoded: Option<char> = match (next, raw_unicode) {
            ('u', _) => Some(char::from_u32(hex(&mut chars, 4)?).ok_or(PickleError::BadText)?),
            ('U', _) => Some(char::from_u32(hex(&mut chars, 8)?).ok_or(PickleError::BadText)?),
            (other, true) => {
                out.push(b'\\');
                Some(other)
            }
            ('n', false) => Some('\n'),
            ('r', false) => Some('\r'),
            ('t', false) => Some('\t'),
            ('\\', false) => Some('\\'),
            ('\'', false) => Some('\''),
            ('"', false) => Some('"'),
            ('x', false) => {
                out.push(u8::try_from(hex(&mut chars, 2)?).map_err(|_| PickleError::BadText)?);
                None
            }
            _ => return Err(PickleError::BadText),
        };
        if let Some(c) = decoded {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(out)
}

/// Reads one pickle (any protocol) as plain data.
pub(crate) fn read(bytes: &[u8]) -> Result<Pickle, PickleError> {
    let mut r = Reader { bytes, pos: 0 };
    let mut m = Machine {
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Default::default(),
        copy_budget: bytes.len().saturating_mul(COPY_FACTOR).max(4096),
    };
    loop {
        let op = r.u8()?;
        match op {
            b'.' => {
                let root = m.pop()?;
                return Ok(Pickle { nodes: m.nodes, root });
            }
            0x80 => {
                r.u8()?;
            }
            0x95 => {
                r.le::<8>()?;
            }
            b'(' => m.marks.push(m.stack.len()),
            b'0' => {
                m.pop()?;
            }
            b'1' => {
                m.pop_mark()?;
            }
            b'2' => {
                let top = m.top()?;
                m.stack.push(top);
            }
            b'N' => m.push(Node::None),
            0x88 => m.push(Node::Bool(true)),
            0x89 => m.push(Node::Bool(false)),
            b'I' => {
                let node = int_text(r.line()?, true)?;
                m.push(node);
            }
            b'L' => {
                let node = int_text(r.line()?, false)?;
                m.push(node);
            }
            b'J' => m.push(Node::Int(i64::from(i32::from_le_bytes(r.le()?)))),
            b'K' => m.push(Node::Int(i64::from(r.u8()?))),
            b'M' => m.push(Node::Int(i64::from(u16::from_le_bytes(r.le()?)))),
            0x8a => {
                let n = usize::from(r.u8()?);
                let node = long_le(r.take(n)?)?;
                m.push(node);
            }
            0x8b => {
                let n = r.len_u32()?;
                let node = long_le(r.take(n)?)?;
                m.push(node);
            }
            b'F' => {
                let x = r.line()?.trim().parse::<f64>().map_err(|_| PickleError::BadText)?;
                m.push(Node::Float(x));
            }
            b'G' => m.push(Node::Float(f64::from_be_bytes(r.le()?))),
            b'S' => {
                let bytes = quoted_string(r.line()?)?;
                m.push(Node::Bytes(bytes));
            }
            b'T' => {
                let n = r.len_u32()?;
                m.push(Node::Bytes(r.take(n)?.to_vec()));
            }
            b'U' => {
                let n = usize::from(r.u8()?);
                m.push(Node::Bytes(r.take(n)?.to_vec()));
            }
            b'V' => {
                // `raw_unicode_escape`: characters below U+0100 are single
                // Latin-1 bytes (`é` is 0xe9, not UTF-8), the rest `\uXXXX`.
                let latin1: String = r.line_bytes()?.iter().map(|&b| char::from(b)).collect();
                let text = unescape(&latin1, true)?;
                m.push(Node::Str(utf8(&text)?));
            }
            b'X' => {
                let n = r.len_u32()?;
                m.push(Node::Str(utf8(r.take(n)?)?));
            }
            0x8c => {
                let n = usize::from(r.u8()?);
                m.push(Node::Str(utf8(r.take(n)?)?));
            }
            0x8d => {
                let n = r.len_u64()?;
                m.push(Node::Str(utf8(r.take(n)?)?));
            }
            b'B' => {
                let n = r.len_u32()?;
                m.push(Node::Bytes(r.take(n)?.to_vec()));
            }
            b'C' => {
                let n = usize::from(r.u8()?);
                m.push(Node::Bytes(r.take(n)?.to_vec()));
            }
            0x8e | 0x96 => {
                let n = r.len_u64()?;
                m.push(Node::Bytes(r.take(n)?.to_vec()));
            }
            b']' => m.push(Node::List(Vec::new())),
            b'l' => {
                let items = m.pop_mark()?;
                m.push(Node::List(items));
            }
            b'a' => {
                let item = m.pop()?;
                let list = m.top()?;
                m.extend_list(list, vec![item])?;
            }
            b'e' => {
                let items = m.pop_mark()?;
                let list = m.top()?;
                m.extend_list(list, items)?;
            }
            b')' => m.push(Node::Tuple(Vec::new())),
            b't' => {
                let items = m.pop_mark()?;
                m.push(Node::Tuple(items));
            }
            0x85..=0x87 => {
                let items = m.pop_n(usize::from(op - 0x84))?;
                m.push(Node::Tuple(items));
            }
            b'}' => m.push(Node::Dict(Vec::new())),
            b'd' => {
                let items = m.pop_mark()?;
                m.push(Node::Dict(Vec::new()));
                let dict = m.top()?;
                m.set_items(dict, items)?;
            }
            b's' => {
                let items = m.pop_n(2)?;
                let dict = m.top()?;
                m.set_items(dict, items)?;
            }
            b'u' => {
                let items = m.pop_mark()?;
                let dict = m.top()?;
                m.set_items(dict, items)?;
            }
            0x8f => m.push(Node::Set(Vec::new())),
            0x90 => {
                let items = m.pop_mark()?;
                let set = m.top()?;
                m.extend_list(set, items)?;
            }
            0x91 => {
                let items = m.pop_mark()?;
                m.push(Node::Set(items));
            }
            b'p' => {
                let key = r.line()?.parse::<u64>().map_err(|_| PickleError::BadText)?;
                m.memo_put(key)?;
            }
            b'q' => m.memo_put(u64::from(r.u8()?))?,
            b'r' => m.memo_put(u64::from(u32::from_le_bytes(r.le()?)))?,
            0x94 => m.memo_put(m.memo.len() as u64)?,
            b'g' => {
                let key = r.line()?.parse::<u64>().map_err(|_| PickleError::BadText)?;
                m.memo_get(key)?;
            }
            b'h' => m.memo_get(u64::from(r.u8()?))?,
            b'j' => m.memo_get(u64::from(u32::from_le_bytes(r.le()?)))?,
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                let callable = global(module, name)?;
                m.push(Node::Callable(callable));
            }
            0x93 => {
                let name = m.pop()?;
                let module = m.pop()?;
                let callable = match (m.nodes.get(module), m.nodes.get(name)) {
                    (Some(Node::Str(module)), Some(Node::Str(name))) => global(module, name)?,
                    _ => return Err(PickleError::Code("STACK_GLOBAL")),
                };
                m.push(Node::Callable(callable));
            }
            b'R' => m.reduce()?,
            b'b' => m.build()?,
            b'i' => return Err(PickleError::Code("INST")),
            b'o' => return Err(PickleError::Code("OBJ")),
            0x81 => m.new_object()?,
            0x92 => return Err(PickleError::Code("NEWOBJ_EX")),
            b'P' | b'Q' => return Err(PickleError::Code("PERSID")),
            0x82..=0x84 => return Err(PickleError::Code("EXT")),
            0x97 | 0x98 => return Err(PickleError::Code("out-of-band buffer")),
            other => return Err(PickleError::UnknownOpcode(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_1_dict() {
        // pickle.dumps({'a': 1, 'b': 'x', 'c': None, 'd': 1.5, 'e': [True]}, 1) with True via I01
        let p = b"}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02X\x01\x00\x00\x00xq\x03X\x01\x00\x00\x00cq\x04NX\x01\x00\x00\x00dq\x05G?\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00eq\x06]q\x07I01\nau.";
        let pickle = read(p).unwrap();
        assert_eq!(pickle.get("a"), Some(&Node::Int(1)));
        assert_eq!(pickle.get("b"), Some(&Node::Str("x".into())));
        assert_eq!(pickle.get("c"), Some(&Node::None));
        assert_eq!(pickle.get("d"), Some(&Node::Float(1.5)));
        let Some(Node::List(items)) = pickle.get("e") else { panic!() };
        assert_eq!(pickle.node(items[0]), &Node::Bool(true));
    }

    #[test]
    fn protocol_0_text_is_raw_unicode_escape() {
        // pickle.dumps({'msg': 'café ☕ a\\b'}, 0): `é` is the Latin-1 byte
        // 0xe9, `☕` and the backslash are escaped.
        let pickle = read(b"(dp0\nVmsg\np1\nVcaf\xe9 \\u2615 a\\u005cb\np2\ns.").unwrap();
        assert_eq!(pickle.get("msg"), Some(&Node::Str("café ☕ a\\b".into())));
    }

    #[test]
    fn datetime_timedelta_decimal_and_date_are_read_as_text() {
        // pickle.dumps({'t': datetime(2026,12,6,4,5,6,789), 'd': timedelta(days=1, seconds=3661,
        // microseconds=500000), 'x': Decimal('1.10'), 'dt': date(2026,2,28)}, 1)
        let p = b"}q\x00(X\x01\x00\x00\x00tq\x01cdatetime\ndatetime\nq\x02(c_codecs\nencode\nq\x03(X\x0b\x00\x00\x00\x07\xc3\xaa\x0c\x06\x04\x05\x06\x00\x03\x15q\x04X\x06\x00\x00\x00latin1q\x05tq\x06Rq\x07tq\x08Rq\tX\x01\x00\x00\x00dq\ncdatetime\ntimedelta\nq\x0b(K\x01MM\x0eJ \xa1\x07\x00tq\x0cRq\rX\x01\x00\x00\x00xq\x0ecdecimal\nDecimal\nq\x0f(X\x04\x00\x00\x001.10q\x10tq\x11Rq\x12X\x02\x00\x00\x00dtq\x13cdatetime\ndate\nq\x14(h\x03(X\x05\x00\x00\x00\x07\xc3\xaa\x02\x1cq\x15h\x05tq\x16Rq\x17tq\x18Rq\x19u.";
        let pickle = read(p).unwrap();
        assert_eq!(pickle.get("t"), Some(&Node::Str("2026-12-06T04:05:06.000789".into())));
        assert_eq!(pickle.get("d"), Some(&Node::Delta(1, 3661, 500_000)), "rendered as 1 day, 1:01:01.500000");
        assert_eq!(pickle.get("x"), Some(&Node::Str("1.10".into())));
        assert_eq!(pickle.get("dt"), Some(&Node::Str("2026-02-28".into())));
    }

    #[test]
    fn uuids_and_tz_aware_times_are_read_as_text_in_protocols_1_and_2() {
        // pickle.dumps({'u': UUID('12345678-1234-5678-1234-567812345678'),
        // 'tz': datetime(2026,12,6,7,8,9,123456, tzinfo=timezone(timedelta(hours=-8))),
        // 't': time(1,2,3, tzinfo=timezone.utc), 'z': timezone(timedelta(hours=5, minutes=30))}, proto)
        let protocol_1 = b"}q\x00(X\x01\x00\x00\x00uq\x01ccopy_reg\n_reconstructor\nq\x02(cuuid\nUUID\nq\x03c__builtin__\nobject\nq\x04Ntq\x05Rq\x06}q\x07X\x03\x00\x00\x00intq\x08L24197857161011715162171839636988778104L\nsbX\x02\x00\x00\x00tzq\tcdatetime\ndatetime\nq\n(c_codecs\nencode\nq\x0b(X\x0c\x00\x00\x00\x07\xc3\xaa\x0c\x06\x07\x08\t\x01\xc3\xa2@q\x0cX\x06\x00\x00\x00latin1q\rtq\x0eRq\x0fcdatetime\ntimezone\nq\x10(cdatetime\ntimedelta\nq\x11(J\xff\xff\xff\xffM\x00\xe1K\x00tq\x12Rq\x13tq\x14Rq\x15tq\x16Rq\x17X\x01\x00\x00\x00tq\x18cdatetime\ntime\nq\x19(h\x0b(X\x06\x00\x00\x00\x01\x02\x03\x00\x00\x00q\x1ah\rtq\x1bRq\x1ch\x10(h\x11(K\x00K\x00K\x00tq\x1dRq\x1etq\x1fRq tq!Rq\"X\x01\x00\x00\x00zq#h\x10(h\x11(K\x00MXMK\x00tq$Rq%tq&Rq'u.";
        let protocol_2 = b"\x80\x02}q\x00(X\x01\x00\x00\x00uq\x01cuuid\nUUID\nq\x02)\x81q\x03}q\x04X\x03\x00\x00\x00intq\x05\x8a\x10xV4\x12xV4\x12xV4\x12xV4\x12sbX\x02\x00\x00\x00tzq\x06cdatetime\ndatetime\nq\x07c_codecs\nencode\nq\x08X\x0c\x00\x00\x00\x07\xc3\xaa\x0c\x06\x07\x08\t\x01\xc3\xa2@q\tX\x06\x00\x00\x00latin1q\n\x86q\x0bRq\x0ccdatetime\ntimezone\nq\rcdatetime\ntimedelta\nq\x0eJ\xff\xff\xff\xffM\x00\xe1K\x00\x87q\x0fRq\x10\x85q\x11Rq\x12\x86q\x13Rq\x14X\x01\x00\x00\x00tq\x15cdatetime\ntime\nq\x16h\x08X\x06\x00\x00\x00\x01\x02\x03\x00\x00\x00q\x17h\n\x86q\x18Rq\x19h\rh\x0eK\x00K\x00K\x00\x87q\x1aRq\x1b\x85q\x1cRq\x1d\x86q\x1eRq\x1fX\x01\x00\x00\x00zq h\rh\x0eK\x00MXMK\x00\x87q!Rq\"\x85q#Rq$u.";
        for p in [&protocol_1[..], &protocol_2[..]] {
            let pickle = read(p).unwrap();
            assert_eq!(pickle.get("u"), Some(&Node::Str("12345678-1234-5678-1234-567812345678".into())));
            assert_eq!(pickle.get("tz"), Some(&Node::Str("2026-12-06T07:08:09.123456-08:00".into())));
            assert_eq!(pickle.get("t"), Some(&Node::Str("01:02:03+00:00".into())));
            assert_eq!(pickle.get("z"), Some(&Node::TimeZone("+05:30".into())), "rendered as UTC+05:30");
        }
    }

    #[test]
    fn objects_other_than_a_uuid_stay_refused() {
        // copyreg._reconstructor(os._wrap_close, object, None), and BUILD on a dict.
        let other = b"ccopy_reg\n_reconstructor\n(cos\n_wrap_close\nc__builtin__\nobject\nNtR.";
        assert!(matches!(read(other), Err(PickleError::Global(_))));
        let not_uuid = b"ccopy_reg\n_reconstructor\n(c__builtin__\nobject\nc__builtin__\nobject\nNtR.";
        assert_eq!(read(not_uuid).unwrap_err(), PickleError::Code("REDUCE"));
        assert_eq!(read(b"}}b.").unwrap_err(), PickleError::Code("BUILD"));
        // A UUID whose state is not its integer.
        let bad_state = b"\x80\x02cuuid\nUUID\n)\x81}X\x01\x00\x00\x00xK\x01sb.";
        assert_eq!(read(bad_state).unwrap_err(), PickleError::Code("BUILD"));
        // NEWOBJ of anything else.
        assert_eq!(read(b"\x80\x02cdatetime\ndate\n)\x81.").unwrap_err(), PickleError::Code("NEWOBJ"));
    }

    #[test]
    fn code_is_refused() {
        // pickle.dumps(os.system, 1)
        assert_eq!(read(b"cposix\nsystem\nq\x00.").unwrap_err(), PickleError::Global("posix.system".into()));
        assert_eq!(
            read(b"c_codecs\nencode\n(X\x01\x00\x00\x00lX\x01\x00\x00\x00xtb.").unwrap_err(),
            PickleError::Code("BUILD")
        );
        assert!(matches!(read(b"(cos\nsystem\nX\x02\x00\x00\x00idtR."), Err(PickleError::Global(_))));
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in
            [&b""[..], b"a", b"e.", b"X\xff\xff\xff\xff", b"h\x05.", b"(u.", b"}K\x01s.", b"\x8a\x09\x01", b"L12x\n."]
        {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn big_integers_are_exact() {
        assert_eq!(long_le(&[0xff]), Ok(Node::Int(-1)));
        assert_eq!(long_le(&[0, 0, 0, 0, 0, 0, 0, 0, 1]), Ok(Node::BigInt("18446744073709551616".into())));
        assert_eq!(long_le(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff]), Ok(Node::BigInt("-18446744073709551616".into())));
        // A 40 KB LONG4 took seconds of quadratic division: refused at once.
        let mut huge = vec![0x8b];
        huge.extend_from_slice(&40_000u32.to_le_bytes());
        huge.extend(std::iter::repeat_n(0x11, 40_000));
        huge.push(b'.');
        assert_eq!(read(&huge).unwrap_err(), PickleError::IntTooLarge(40_000));
    }

    #[test]
    fn a_memo_bomb_is_refused() {
        // A list of 1,000 items in the memo, then set(list) 10,000 times
        // through memo references: 10 M copied ids from a 30 KB pickle.
        let mut p = b"(".to_vec();
        p.extend(std::iter::repeat_n(b'N', 1000));
        p.extend_from_slice(b"lq\x00");
        p.push(b'(');
        for _ in 0..10_000 {
            p.extend_from_slice(b"c__builtin__\nset\nh\x00\x85R");
        }
        p.extend_from_slice(b"l.");
        assert_eq!(read(&p).unwrap_err(), PickleError::Expands);
    }
}
