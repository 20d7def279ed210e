//! The property test: generated responses (any framing, interim responses, fields, a body
//! cut into chunks), whole or damaged by one mutation, read by both parsers. Intact, the
//! generator knows what they must come to; damaged, hyper decides.

use std::ops::Range;

use http::Method;
use proptest::prelude::*;
use proptest::sample::{Index, select};

use super::{Expect, check};
use crate::http::http1::wire::MAX_INTERIM;

/// How a generated response delimits its body.
#[derive(Debug, Clone)]
enum Framing {
    /// The content-length, `copies` times: on as many lines, or as a list on one.
    Length { copies: usize, one_line: bool },
    /// Chunked, cut where `cuts` say, sizes in upper or lower case with `zeros` leading
    /// zeros, each chunk with the extension of the same index if any, then trailers.
    Chunked {
        cuts: Vec<Index>,
        upper: bool,
        zeros: usize,
        extensions: Vec<Option<String>>,
        trailers: Vec<(String, String)>,
    },
    /// No length nor coding: the body runs to EOF.
    UntilEof,
    /// No length nor coding and no body.
    None,
}

/// A damage done to a serialized response.
#[derive(Debug, Clone)]
enum Mutation {
    /// The last byte never arrives.
    DropLastByte,
    /// A byte of the framing (a length, a coding, a chunk line or CRLF, a trailer) is
    /// replaced by one of the bytes parsers trip on.
    Flip(Index, u8),
    /// A CRLF is sent twice.
    DoubleCrlf(Index),
    /// A CRLF loses its CR.
    BareLf(Index),
    /// A space inside, before or after a length or chunk size.
    SpaceInNumber(Index, Index),
    /// The transfer coding in capitals (harmless: codings are case-insensitive).
    UppercaseCoding,
    /// The first chunk size line loses its digits.
    SizeWithoutDigits,
}

/// A generated response to a GET or a HEAD.
#[derive(Debug, Clone)]
struct Generated {
    head: bool,
    http_1_0: bool,
    interim: Vec<u16>,
    status: u16,
    headers: Vec<(String, String)>,
    framing: Framing,
    body: Vec<u8>,
    mutation: Option<Mutation>,
    /// The most bytes our parser gets a read.
    step: usize,
}

/// Where the parts a mutation aims at ended up in the serialized response.
#[derive(Default)]
struct Layout {
    /// Every length and chunk size, digits only.
    numbers: Vec<Range<usize>>,
    /// The first chunk size.
    first_size: Option<Range<usize>>,
    /// The transfer coding.
    coding: Option<Range<usize>>,
    /// Lengths, the coding, and the chunked framing: all but the chunk data.
    framing: Vec<Range<usize>>,
    /// Where a chunked body starts.
    chunks: Option<usize>,
}

/// Appends `bytes` to `wire` and returns where they went.
fn put(wire: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = wire.len();
    wire.extend_from_slice(bytes);
    start..wire.len()
}

impl Generated {
    fn method(&self) -> Method {
        if self.head { Method::HEAD } else { Method::GET }
    }

    /// Whether the response has no body whatever its framing says.
    fn bodiless(&self) -> bool {
        self.head || matches!(self.status, 204 | 304)
    }

    /// The body a reader must find, if no mutation spoils it.
    fn body(&self) -> &[u8] {
        if self.bodiless() || matches!(self.framing, Framing::None) {
            b""
        } else {
            &self.body
        }
    }

    /// Whether the response holds one of `wire.rs`'s documented differences.
    fn deliberate(&self) -> bool {
        self.interim.contains(&101) || self.interim.len() > MAX_INTERIM
    }

    /// What reading the unmutated response must come to.
    fn expect(&self) -> Expect<'_> {
        let chunked = matches!(self.framing, Framing::Chunked { .. });
        // Hyper hands back the first 101 whatever follows; after too many interim responses
        // it reads the final one, which may be refused on its own account.
        if self.interim.contains(&101) {
            Expect::Deliberate
        } else if self.http_1_0 && chunked && !self.bodiless() {
            Expect::Reject
        } else if self.interim.len() > MAX_INTERIM {
            Expect::Deliberate
        } else {
            Expect::Accept(self.body())
        }
    }

    fn serialize(&self) -> (Vec<u8>, Layout) {
        let mut wire = Vec::new();
        let mut layout = Layout::default();
        self.put_head(&mut wire);
        let length = self.body.len().to_string();
        match &self.framing {
            &Framing::Length { copies, one_line } => {
                put_lengths(&mut wire, &mut layout, &length, copies, one_line);
                put(&mut wire, b"\r\n");
                put(&mut wire, &self.body);
            }
            Framing::Chunked {
                cuts,
                upper,
                zeros,
                extensions,
                trailers,
            } => {
                let coding = put(&mut wire, b"transfer-encoding: chunked\r\n\r\n");
                let coding = coding.start + 19..coding.start + 26;
                layout.coding = Some(coding.clone());
                layout.framing.push(coding);
                layout.chunks = Some(wire.len());
                for (i, chunk) in chunks(&self.body, cuts).iter().enumerate() {
                    let extension = extensions.get(i).and_then(Option::as_deref);
                    put_chunk(&mut wire, &mut layout, chunk, *zeros, *upper, extension);
                }
                put_trailers(&mut wire, &mut layout, trailers);
            }
            Framing::UntilEof => {
                put(&mut wire, b"\r\n");
                put(&mut wire, &self.body);
            }
            Framing::None => {
                put(&mut wire, b"\r\n");
            }
        }
        (wire, layout)
    }

    /// The interim responses, then the final one's status line and fields, up to its framing.
    fn put_head(&self, wire: &mut Vec<u8>) {
        let version = if self.http_1_0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        };
        for code in &self.interim {
            put(wire, format!("{version} {code} Interim\r\n\r\n").as_bytes());
        }
        put(
            wire,
            format!("{version} {} Final\r\n", self.status).as_bytes(),
        );
        for (name, value) in &self.headers {
            put(wire, format!("{name}: {value}\r\n").as_bytes());
        }
    }
}

/// The content-length `copies` times, on as many lines or as a list on one.
fn put_lengths(
    wire: &mut Vec<u8>,
    layout: &mut Layout,
    length: &str,
    copies: usize,
    one_line: bool,
) {
    let (lines, per_line) = if one_line { (1, copies) } else { (copies, 1) };
    for _ in 0..lines {
        put(wire, b"content-length: ");
        let start = wire.len();
        for copy in 0..per_line {
            if copy > 0 {
                put(wire, b", ");
            }
            layout.numbers.push(put(wire, length.as_bytes()));
        }
        layout.framing.push(start..wire.len());
        put(wire, b"\r\n");
    }
}

/// `body` cut where `cuts` say, then the last chunk, of size 0.
fn chunks<'b>(body: &'b [u8], cuts: &[Index]) -> Vec<&'b [u8]> {
    let mut ends: Vec<usize> = cuts.iter().map(|cut| cut.index(body.len() + 1)).collect();
    ends.push(body.len());
    ends.sort_unstable();
    ends.dedup();
    let mut start = 0;
    let mut chunks = Vec::new();
    for end in ends.into_iter().filter(|end| *end > 0) {
        chunks.push(&body[start..end]);
        start = end;
    }
    // The last chunk, of size 0, goes through the same path as the others.
    chunks.push(&[]);
    chunks
}

/// One chunk: its size line (with `zeros` leading zeros, in upper or lower case, and the
/// extension if any), then its data and CRLF unless it is the last, empty one.
fn put_chunk(
    wire: &mut Vec<u8>,
    layout: &mut Layout,
    chunk: &[u8],
    zeros: usize,
    upper: bool,
    extension: Option<&str>,
) {
    let line_start = wire.len();
    put(wire, "0".repeat(zeros).as_bytes());
    let size = if upper {
        format!("{:X}", chunk.len())
    } else {
        format!("{:x}", chunk.len())
    };
    let size = put(wire, size.as_bytes());
    layout.first_size.get_or_insert(line_start..size.end);
    layout.numbers.push(line_start..size.end);
    if let Some(extension) = extension {
        put(wire, extension.as_bytes());
    }
    put(wire, b"\r\n");
    layout.framing.push(line_start..wire.len());
    if !chunk.is_empty() {
        put(wire, chunk);
        layout.framing.push(put(wire, b"\r\n"));
    }
}

/// The trailer fields and the empty line that end a chunked body.
fn put_trailers(wire: &mut Vec<u8>, layout: &mut Layout, trailers: &[(String, String)]) {
    let end_start = wire.len();
    for (name, value) in trailers {
        put(wire, format!("{name}: {value}\r\n").as_bytes());
    }
    put(wire, b"\r\n");
    layout.framing.push(end_start..wire.len());
}

/// What a mutation did to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Untouched: it found nothing to aim at, or replaced a byte by itself.
    Intact,
    Damaged,
    /// Damaged it with a bare LF in the chunked framing, which we refuse anywhere while
    /// hyper takes one in trailers.
    BareLfInChunks,
}

/// Applies `mutation` to `wire`.
fn mutate(wire: &mut Vec<u8>, layout: &Layout, mutation: &Mutation) -> Effect {
    let bare_lf_at = |at: usize| {
        if layout.chunks.is_some_and(|start| at >= start) {
            Effect::BareLfInChunks
        } else {
            Effect::Damaged
        }
    };
    match mutation {
        Mutation::DropLastByte => match wire.pop() {
            Some(_) => Effect::Damaged,
            None => Effect::Intact,
        },
        Mutation::Flip(index, byte) => {
            let positions: Vec<usize> = layout.framing.iter().cloned().flatten().collect();
            if positions.is_empty() {
                return Effect::Intact;
            }
            let at = positions[index.index(positions.len())];
            match std::mem::replace(&mut wire[at], *byte) {
                old if old == *byte => Effect::Intact,
                _ if *byte == b'\n' => bare_lf_at(at),
                _ => Effect::Damaged,
            }
        }
        Mutation::DoubleCrlf(index) | Mutation::BareLf(index) => {
            let crlfs: Vec<usize> = wire
                .windows(2)
                .enumerate()
                .filter(|(_, pair)| pair == b"\r\n")
                .map(|(at, _)| at)
                .collect();
            if crlfs.is_empty() {
                return Effect::Intact;
            }
            let at = crlfs[index.index(crlfs.len())];
            if matches!(mutation, Mutation::DoubleCrlf(_)) {
                wire.splice(at..at, *b"\r\n");
                Effect::Damaged
            } else {
                wire.remove(at);
                bare_lf_at(at)
            }
        }
        Mutation::SpaceInNumber(which, place) => {
            if layout.numbers.is_empty() {
                return Effect::Intact;
            }
            let number = &layout.numbers[which.index(layout.numbers.len())];
            wire.insert(number.start + place.index(number.len() + 1), b' ');
            Effect::Damaged
        }
        Mutation::UppercaseCoding => match layout.coding.clone() {
            Some(coding) => {
                wire[coding].make_ascii_uppercase();
                Effect::Damaged
            }
            None => Effect::Intact,
        },
        Mutation::SizeWithoutDigits => match layout.first_size.clone() {
            Some(size) => {
                wire.drain(size);
                Effect::Damaged
            }
            None => Effect::Intact,
        },
    }
}

/// A field name, any token but the two that frame a body (the framing is generated apart).
fn field_name() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}".prop_filter("a framing field", |name| {
        !name.eq_ignore_ascii_case("content-length")
            && !name.eq_ignore_ascii_case("transfer-encoding")
    })
}

/// A field value: visible ASCII with inner spaces, possibly empty.
fn field_value() -> impl Strategy<Value = String> {
    "([!-~]([ !-~]{0,30}[!-~])?)?"
}

fn framing() -> impl Strategy<Value = Framing> {
    let extension = prop::option::of("[ \t]?;[a-z]{1,8}(=[a-z0-9]{1,8})?");
    prop_oneof![
        3 => Just(Framing::Length { copies: 1, one_line: true }),
        1 => (2..=3usize, any::<bool>())
            .prop_map(|(copies, one_line)| Framing::Length { copies, one_line }),
        4 => (
            prop::collection::vec(any::<Index>(), 0..6),
            any::<bool>(),
            0..3usize,
            prop::collection::vec(extension, 0..8),
            prop::collection::vec((field_name(), field_value()), 0..3),
        )
            .prop_map(|(cuts, upper, zeros, extensions, trailers)| Framing::Chunked {
                cuts,
                upper,
                zeros,
                extensions,
                trailers,
            }),
        2 => Just(Framing::UntilEof),
        1 => Just(Framing::None),
    ]
}

fn mutation() -> impl Strategy<Value = Option<Mutation>> {
    // Bytes that framing code mistakes: digits and hex, signs, separators, whitespace, line
    // ends, NUL, DEL and obs-text.
    let tricky = select(b"05aF+-x;, \t\r\n\0\x7f\x80".to_vec());
    prop_oneof![
        2 => Just(None),
        3 => prop_oneof![
            Just(Mutation::DropLastByte),
            (any::<Index>(), tricky).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
            any::<Index>().prop_map(Mutation::DoubleCrlf),
            any::<Index>().prop_map(Mutation::BareLf),
            (any::<Index>(), any::<Index>()).prop_map(|(n, at)| Mutation::SpaceInNumber(n, at)),
            Just(Mutation::UppercaseCoding),
            Just(Mutation::SizeWithoutDigits),
        ]
        .prop_map(Some),
    ]
}

fn generated() -> impl Strategy<Value = Generated> {
    let interim = prop_oneof![
        8 => prop::collection::vec(
            prop_oneof![9 => select(vec![100u16, 102, 103, 199]), 1 => Just(101)],
            0..=3,
        ),
        // Just as many as we take, or one more.
        1 => (MAX_INTERIM..=MAX_INTERIM + 1).prop_map(|n| vec![100; n]),
    ];
    (
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        interim,
        select(vec![200u16, 204, 304, 404, 500]),
        prop::collection::vec((field_name(), field_value()), 0..=10),
        framing(),
        prop::collection::vec(any::<u8>(), 0..=2000),
        mutation(),
        prop_oneof![Just(usize::MAX), 1..=64usize],
    )
        .prop_map(
            |(head, http_1_0, interim, status, headers, framing, body, mutation, step)| Generated {
                head,
                http_1_0,
                interim,
                status,
                headers,
                framing,
                body,
                mutation,
                step,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_responses(response in generated()) {
        let (mut wire, layout) = response.serialize();
        let effect = response
            .mutation
            .as_ref()
            .map_or(Effect::Intact, |mutation| mutate(&mut wire, &layout, mutation));
        // Intact, the generator knows the outcome; damaged, hyper decides.
        let expect = match effect {
            Effect::Intact => response.expect(),
            Effect::Damaged => Expect::AsHyper { deliberate: response.deliberate() },
            Effect::BareLfInChunks => Expect::AsHyper { deliberate: true },
        };
        check(&wire, &response.method(), response.step, expect).map_err(TestCaseError::fail)?;
    }
}
