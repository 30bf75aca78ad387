#!/usr/bin/env python3
"""Differential test of Soleus's TOML reader against Python's standard `tomllib`.

Every `*.toml` file under CORPUS_DIR, plus deterministic mutants of those files (byte flips,
deletions, insertions, line shuffles, truncations and tricky TOML fragments), is given to both
`tomllib` and DECODER, Soleus's `soleus-toml-decode`, which prints toml-test tagged JSON:

    DECODER                  one document on stdin -> tagged JSON on stdout; exit 1 on a TOML error
    DECODER --batch FILE...  one JSON line per file:
                             {"file": F, "ok": true, "value": V}
                             {"file": F, "ok": false, "error": E, "limit": L}

Per document the two must agree: both accept with equal values (floats compared as numbers,
including the sign of zero), or both reject (messages are not compared). The one allowed
differences are a refusal that the decoder marks `"limit": true` when the document really exceeds
one of Soleus's limits: tables/arrays nested more than 32 deep (the root table is depth 0), an
integer outside 64 bits, a file over 1 MiB, or two keys of one table that are equal after Unicode
NFC normalization; and a leading UTF-8 byte-order mark, which the decoder skips (the TOML
compliance suite accepts it) and tomllib rejects, when tomllib gives the same value without it.
Everything else, and any crash or hang of the decoder, is a failure.

    toml-differential.py DECODER CORPUS_DIR [--mutants N] [--seed S] [--keep-failures DIR]
    toml-differential.py --self-test [CORPUS_DIR] [--mutants N] [--seed S]

`--self-test` checks the harness without the Swift binary: it checks the corpus against tomllib
(valid/ parses, invalid/ is rejected, limits/ parses and exceeds a limit), checks the comparison
rules, runs a deliberately faulty decoder to see each fault caught, and finally runs the whole
comparison with tomllib itself behind the decoder interface, which must give 0 failures.

The last line of output is `toml-differential: N documents, F failures`; the exit status is 1 when
there is a failure, 0 otherwise, and 2 for a usage error.
"""

import argparse
import datetime
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

MAX_DEPTH = 32
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
MAX_BYTES = 1 << 20
CHUNK_SIZE = 500
FAILURES_SHOWN = 20
INPUT_SHOWN = 200
CHUNK_TIMEOUT_S = 600
FILE_TIMEOUT_S = 60
# tomllib recurses once per nesting level; raised so that it can parse what Soleus refuses as too
# deep (verified to 5,000 levels) instead of stopping with RecursionError.
RECURSION_LIMIT = 20_000
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "Tests" / "TOMLCorpus"
BOM = b"\xef\xbb\xbf"

# ----------------------------------------------------------------------------------------------
# Outcomes and the reference (tomllib)


@dataclass
class Outcome:
    """What one decoder made of one document."""

    ok: bool
    value: object = None  # tagged JSON, when ok
    error: str = ""
    limit: bool = False
    crash: str = ""  # the decoder died, hung or printed something unreadable
    raw: object = None  # tomllib's own Python value (reference side only)

    def describe(self):
        if self.crash:
            return "CRASH: " + self.crash
        if self.ok:
            return "accepted " + shorten(json.dumps(self.value, ensure_ascii=False))
        kind = "rejected (limit)" if self.limit else "rejected"
        return f"{kind}: {shorten(self.error)}"


def scalar(kind, text):
    return {"type": kind, "value": text}


def tag(value):
    """tomllib's Python value as toml-test tagged JSON, in the canonical forms the decoder prints."""
    if isinstance(value, dict):
        return {key: tag(item) for key, item in value.items()}
    if isinstance(value, list):
        return [tag(item) for item in value]
    if isinstance(value, bool):
        return scalar("bool", "true" if value else "false")
    if isinstance(value, int):
        return scalar("integer", str(value))
    if isinstance(value, float):
        return scalar("float", repr(value))
    if isinstance(value, str):
        return scalar("string", value)
    if isinstance(value, datetime.datetime):
        kind = "datetime" if value.tzinfo is not None else "datetime-local"
        return scalar(kind, value.isoformat())
    if isinstance(value, datetime.date):
        return scalar("date-local", value.isoformat())
    if isinstance(value, datetime.time):
        return scalar("time-local", value.isoformat())
    raise TypeError(f"unexpected value from tomllib: {value!r}")


def reference_outcome(data):
    """tomllib's verdict on a document given as bytes (which must be strict UTF-8)."""
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as error:
        return Outcome(ok=False, error=f"not UTF-8: {error}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return Outcome(ok=False, error=str(error))
    except RecursionError:
        return Outcome(ok=False, error="tomllib: nesting too deep for Python's recursion limit")
    return Outcome(ok=True, value=tag(raw), raw=raw)


# ----------------------------------------------------------------------------------------------
# Soleus's limits, measured on tomllib's value


def walk(root):
    """Every table and array under `root` (a table), with its depth (children of the root: 1)."""
    stack = [(child, 1) for child in root.values()]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            yield node, depth
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            yield node, depth
            stack.extend((child, depth + 1) for child in node)


def nesting_depth(root):
    """Deepest table or array, counting the root table as depth 0 (as Soleus's reader does)."""
    return max((depth for _, depth in walk(root)), default=0)


def out_of_range_integers(root):
    containers = [root] + [node for node, _ in walk(root)]
    found = []
    for node in containers:
        for item in node.values() if isinstance(node, dict) else node:
            if isinstance(item, int) and not isinstance(item, bool):
                if not INT_MIN <= item <= INT_MAX:
                    found.append(item)
    return found


def normalization_collisions(root):
    """Pairs of keys of one table that are equal after NFC normalization."""
    tables = [root] + [node for node, _ in walk(root) if isinstance(node, dict)]
    pairs = []
    for table in tables:
        first_by_form = {}
        for key in table:
            form = unicodedata.normalize("NFC", key)
            if form in first_by_form:
                pairs.append((first_by_form[form], key))
            else:
                first_by_form[form] = key
    return pairs


def exceeded_limits(raw, size):
    """Which of Soleus's limits a document tomllib accepted exceeds (empty: none)."""
    reasons = []
    if size > MAX_BYTES:
        reasons.append(f"{size} bytes > {MAX_BYTES}")
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        reasons.append(f"nesting depth {depth} > {MAX_DEPTH}")
    for number in out_of_range_integers(raw)[:1]:
        reasons.append(f"integer {shorten(str(number), 40)} outside 64 bits")
    for first, second in normalization_collisions(raw)[:1]:
        reasons.append(f"keys {first!r} and {second!r} are equal after NFC")
    return reasons


# ----------------------------------------------------------------------------------------------
# Comparing tagged values


def is_scalar(node):
    return (
        isinstance(node, dict)
        and set(node) == {"type", "value"}
        and all(isinstance(part, str) for part in node.values())
    )


def floats_equal(left, right):
    """Equal as binary64 values: nan equals nan, and 0.0 differs from -0.0."""
    try:
        x, y = float(left), float(right)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


def scalars_equal(expected, actual):
    if expected["type"] != actual["type"]:
        return False
    if expected["type"] == "float":
        return floats_equal(expected["value"], actual["value"])
    return expected["value"] == actual["value"]


def describe_path(path):
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            bare = part and all(c.isascii() and (c.isalnum() or c in "-_") for c in part)
            text += ("." if text else "") + (part if bare else json.dumps(part, ensure_ascii=False))
    return text or "(root)"


def first_difference(expected, actual, names=("tomllib", "decoder"), path=()):
    """None when the tagged values are equal, else a sentence about the first difference."""
    where = describe_path(path)
    left, right = names
    if is_scalar(expected) or is_scalar(actual):
        if is_scalar(expected) and is_scalar(actual) and scalars_equal(expected, actual):
            return None
        return f"at {where}: {left} {short_json(expected)}, {right} {short_json(actual)}"
    if isinstance(expected, dict) and isinstance(actual, dict):
        missing = [key for key in expected if key not in actual]
        extra = [key for key in actual if key not in expected]
        if missing or extra:
            return f"at {where}: keys only in {left} {missing[:5]}, only in {right} {extra[:5]}"
        children = [(expected[key], actual[key], key) for key in expected]
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"at {where}: {len(expected)} elements in {left}, {len(actual)} in {right}"
        children = [(item, other, index) for index, (item, other) in enumerate(zip(expected, actual))]
    else:
        return f"at {where}: {left} {short_json(expected)}, {right} {short_json(actual)}"
    for item, other, step in children:
        difference = first_difference(item, other, names, path + (step,))
        if difference:
            return difference
    return None


# ----------------------------------------------------------------------------------------------
# Verdicts

ACCEPTED = "accepted by both"
REJECTED = "rejected by both"
LIMIT = "allowed deviation (limit)"
BOM_SKIPPED = "allowed deviation (byte-order mark)"
FAILURE = "failure"


def judge(reference, decoded, size, data=b""):
    """(verdict, detail) for one document."""
    if decoded.crash:
        return FAILURE, "the decoder crashed"
    if reference.ok and decoded.ok:
        difference = first_difference(reference.value, decoded.value)
        return (FAILURE, "values differ " + difference) if difference else (ACCEPTED, "")
    if not reference.ok and not decoded.ok:
        return REJECTED, ""
    if reference.ok and decoded.limit:
        reasons = exceeded_limits(reference.raw, size)
        if reasons:
            return LIMIT, "; ".join(reasons)
        return FAILURE, "the decoder claims a limit, but the document exceeds none"
    if reference.ok:
        return FAILURE, "tomllib accepts, the decoder rejects"
    if data.startswith(BOM):
        # The TOML compliance suite (valid/utf8-bom-*.toml) accepts a leading byte-order mark;
        # tomllib does not. Allowed only when tomllib gives the same value without it.
        without = reference_outcome(data[len(BOM):])
        if without.ok and not first_difference(without.value, decoded.value):
            return BOM_SKIPPED, "a leading byte-order mark, skipped"
    return FAILURE, "tomllib rejects, the decoder accepts"


# ----------------------------------------------------------------------------------------------
# Documents and mutants


@dataclass
class Document:
    name: str  # path relative to the work directory, as given to the decoder
    origin: str  # where it came from, for reports
    data: bytes
    from_corpus: bool = False


def load_corpus(corpus_dir):
    documents = []
    for path in sorted(corpus_dir.rglob("*.toml"), key=lambda p: p.relative_to(corpus_dir).as_posix()):
        relative = path.relative_to(corpus_dir).as_posix()
        documents.append(Document(f"corpus/{relative}", relative, path.read_bytes(), from_corpus=True))
    return documents


def nested(opening, closing, depth, inner=b"1"):
    return opening * depth + inner + closing * depth


def dotted(prefix, parts):
    return b".".join(b"%s%d" % (prefix, i) for i in range(1, parts + 1))


# Whole lines inserted at the start of a line.
STATEMENT_FRAGMENTS = [
    b"[[[1]]]", b"[[[ broken", b"[ [a] ]", b"[a]]", b"[]", b"[a.]", b"[.a]", b"[a..b]",
    b"[a.b.c]", b"a.b.c = 1", b"[a]", b"[[a]]", b"[a]\n[a]", b"a = []\n[[a]]", b"[[a]]\n[a]",
    b"a = {b = 1}\na.c = 2", b"a = {b = 1}\n[a.c]", b"[a.b]\n[a]\nb.c = 1", b"dup = 1\ndup = 2",
    b"x = [[[[[1]]]]]", b"x = " + nested(b"[", b"]", 40), b"x = " + nested(b"[", b"]", 32),
    b"x = " + nested(b"[", b"]", 33), b"x = " + nested(b"{a=", b"}", 33),
    dotted(b"k", 40) + b" = 1", dotted(b"k", 33) + b" = 1", dotted(b"k", 34) + b" = 1",
    b"[" + dotted(b"h", 40) + b"]", b"[" + dotted(b"h", 32) + b"]", b"[" + dotted(b"h", 33) + b"]",
    b"[[" + dotted(b"t", 40) + b"]]", b"[[" + dotted(b"t", 31) + b"]]",
    '"\u00e9" = 1\n"e\u0301" = 2'.encode(), '"\u212b" = 1\n"\u00c5" = 2'.encode(),
    b"'''", b'"""', b"\r", b"\x00", b"\x7f", b"\x0c", BOM, BOM + b"bom = 1", b"\xff", b"\xc0\xaf",
    b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3", b"a = {b = 1,\n c = 2}", b"a = {a=1,}",
    b"# comment", b"", b"\t", b'"" = ""', b"a.'b'.\"c\" = 1", b"a . b = 1", b"= 1", b"a =", b"a",
    b"a = 1 b = 2", "é = 1".encode(), b"[a]\n[a.b]\n[a]", b"[[a]]\n[a.b]\n[[a]]\n[a.b]",
]

# Right-hand sides of `key = value`.
VALUE_FRAGMENTS = [
    b"1e19", b"1e400", b"-1e400", b"1e-400", b"-0.0", b"+0.0", b"-0e0", b"0.1", b"5e-324",
    b"1.7976931348623157e308", b"1.7976931348623159e308", b"9007199254740993.0", b"1e05",
    b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808", b"-9223372036854775809",
    b"0x7fffffffffffffff", b"0x8000000000000000", b"0o777777777777777777777", b"0b" + b"1" * 64,
    b"99999999999999999999999999", b"nan", b"-nan", b"+nan", b"+inf", b"-inf", b"inf", b"in_f",
    b"1979-05-27T07:32:00Z", b"1979-05-27t07:32:00z", b"1979-05-27 07:32:00.123456789+05:30",
    b"1979-05-27T07:32:00-00:00", b"1979-05-27T07:32:00.9999999", b"1979-05-27T07:32:60Z",
    b"1979-02-30", b"2000-02-29", b"1900-02-29", b"0000-01-01", b"0001-01-01", b"9999-12-31",
    b"24:00:00", b"23:59:60", b"07:32", b"07:32:00.9999999", b"07:32:00.", b"1979-05-27T",
    b'"\\uD800"', b'"\\U0010FFFF"', b'"\\U00110000"', b'"\\x41"', b'"\\e"', b'"\\u0000"',
    b"'''a''''", b"'''a'''''", b'"""a""""', b'"""a"""""', b'"""a""""""', b'"""\\\n  x"""',
    b'"""\r\nx\r\n"""', b'"a\tb"', "'\u00e9'".encode(), b"'\xff'", b"{a=1,}", b"{}", b"{ }",
    b"{a.b=1, a.c=2}", b"{a=1, a.b=2}", b"{a={b=1}, a.c=2}", b"[1,2,]", b"[,]", b"[1,,2]",
    b"[\n1,\n# c\n]", b"[[1],[2.0],['x']]", b"true", b"True", b"1__2", b"012", b"0x", b"1.", b".5",
    b"1e", b"1.e5", b"+0x1", b"_1", b"1_", b"1_000", b"0b102", b"0o8", b"-0", b"+0",
    nested(b"[", b"]", 33), nested(b"{a=", b"}", 40),
]

# Single characters worth flipping a byte to.
INTERESTING_BYTES = b"[]{}=,.\"'#\\\n\r\t _-+:0123456789eExobZzTt"


def line_starts(data):
    return [0] + [index + 1 for index, byte in enumerate(data) if byte == 0x0A]


def mutate_flip(rng, data):
    if not data:
        return mutate_insert(rng, data)
    position = rng.randrange(len(data))
    new = rng.choice(INTERESTING_BYTES) if rng.random() < 0.6 else rng.randrange(256)
    return data[:position] + bytes([new]) + data[position + 1:], f"byte {position} -> {new:#04x}"


def mutate_delete(rng, data):
    if not data:
        return mutate_insert(rng, data)
    position = rng.randrange(len(data))
    length = rng.randint(1, 4)
    return data[:position] + data[position + length:], f"delete {length} bytes at {position}"


def mutate_insert(rng, data):
    position = rng.randint(0, len(data))
    inserted = bytes(rng.choice(INTERESTING_BYTES) for _ in range(rng.randint(1, 3)))
    return data[:position] + inserted + data[position:], f"insert {inserted!r} at {position}"


def mutate_lines(rng, data):
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    action = rng.choice(("duplicate", "delete", "swap"))
    if action == "duplicate":
        lines.insert(index, lines[index])
        what = f"duplicate line {index + 1}"
    elif action == "delete":
        del lines[index]
        what = f"delete line {index + 1}"
    else:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
        what = f"swap lines {index + 1} and {other + 1}"
    return b"\n".join(lines), what


def mutate_truncate(rng, data):
    position = rng.randint(0, len(data))
    return data[:position], f"truncate at {position}"


def mutate_insert_fragment(rng, data):
    if rng.random() < 0.5:
        fragment = rng.choice(STATEMENT_FRAGMENTS)
    else:
        fragment = b"frag = " + rng.choice(VALUE_FRAGMENTS)
    starts = line_starts(data)
    index = rng.randrange(len(starts))
    position = starts[index]
    what = f"at line {index + 1} insert {shorten(repr(fragment), 60)}"
    return data[:position] + fragment + b"\n" + data[position:], what


def mutate_replace_value(rng, data):
    lines = data.split(b"\n")
    candidates = [index for index, line in enumerate(lines) if b"=" in line]
    if not candidates:
        return mutate_insert_fragment(rng, data)
    index = rng.choice(candidates)
    key = lines[index].split(b"=", 1)[0]
    fragment = rng.choice(VALUE_FRAGMENTS)
    lines[index] = key + b"= " + fragment
    return b"\n".join(lines), f"line {index + 1} value -> {shorten(repr(fragment), 60)}"


MUTATORS = [
    mutate_flip, mutate_delete, mutate_insert, mutate_lines, mutate_truncate,
    mutate_insert_fragment, mutate_insert_fragment, mutate_replace_value, mutate_replace_value,
]


def make_mutants(corpus, count, seed):
    rng = random.Random(seed)
    mutants = []
    for number in range(1, count + 1):
        base = rng.choice(corpus)
        data, steps = base.data, []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            data, step = rng.choice(MUTATORS)(rng, data)
            steps.append(step)
        origin = f"mutant of {base.origin}: {'; '.join(steps)}"
        mutants.append(Document(f"mutants/{number:05}.toml", origin, data))
    return mutants


def size_limit_documents():
    """A document of exactly MAX_BYTES (within the limit) and one a byte longer (over it)."""
    documents = []
    for size in (MAX_BYTES, MAX_BYTES + 1):
        head = b"size = %d\n# " % size
        data = head + b"x" * (size - len(head) - 1) + b"\n"
        documents.append(Document(f"synthetic/size-{size}.toml", f"synthetic {size}-byte document", data))
    return documents


# ----------------------------------------------------------------------------------------------
# Running the decoder


def parse_batch_line(line):
    """(file, Outcome) from one line of `--batch` output, or None if it is not one."""
    try:
        record = json.loads(line, object_pairs_hook=reject_duplicate_keys)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("file"), str):
        return None
    if record.get("ok") is True and "value" in record:
        return record["file"], Outcome(ok=True, value=record["value"])
    if record.get("ok") is False:
        error = str(record.get("error", ""))
        return record["file"], Outcome(ok=False, error=error, limit=record.get("limit") is True)
    return None


def reject_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in the decoder's JSON")
    return dict(pairs)


def exit_description(returncode):
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def run_decoder(command, arguments, workdir, timeout, stdin=b""):
    """(returncode or None on timeout, stdout text, stderr text)."""
    try:
        finished = subprocess.run(
            command + arguments, cwd=workdir, input=stdin, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, "", ""
    stdout = finished.stdout.decode("utf-8", errors="surrogateescape")
    stderr = finished.stderr.decode("utf-8", errors="replace")
    return finished.returncode, stdout, stderr


def run_batch(command, names, workdir, timeout):
    """Outcomes by file name, and a sentence about what went wrong (None if nothing did)."""
    returncode, stdout, stderr = run_decoder(command, ["--batch", *names], workdir, timeout)
    outcomes = {}
    for line in stdout.splitlines():
        parsed = parse_batch_line(line)
        if parsed and parsed[0] in names:
            outcomes[parsed[0]] = parsed[1]
    if returncode is None:
        return outcomes, f"timed out after {timeout} s"
    problems = []
    if returncode != 0:
        problems.append(exit_description(returncode))
    if len(outcomes) < len(names):
        problems.append(f"{len(outcomes)} readable result lines for {len(names)} files")
    if problems:
        tail = stderr.strip().splitlines()[-3:]
        return outcomes, ", ".join(problems) + (f" (stderr: {' | '.join(tail)})" if tail else "")
    return outcomes, None


def decode_all(command, documents, workdir, log):
    """The decoder's Outcome for every document, in chunks; a chunk that fails is re-run a file at
    a time so that a crash or hang is pinned on the file that causes it."""
    results = {}
    names = [document.name for document in documents]
    for start in range(0, len(names), CHUNK_SIZE):
        chunk = names[start:start + CHUNK_SIZE]
        outcomes, problem = run_batch(command, chunk, workdir, CHUNK_TIMEOUT_S)
        if problem is None:
            results.update(outcomes)
            continue
        first, last = start + 1, start + len(chunk)
        log(f"decoder failed on files {first}-{last} ({problem}); re-running them one at a time")
        for name in chunk:
            single, problem = run_batch(command, [name], workdir, FILE_TIMEOUT_S)
            if problem is None:
                results[name] = single[name]
            else:
                log(f"  decoder failed on {name}: {problem}")
                results[name] = Outcome(ok=False, crash=problem)
    return results


def check_stdin_mode(command, document, batch, workdir):
    """A sentence when the decoder's stdin mode disagrees with its batch result, else None."""
    returncode, stdout, _ = run_decoder(command, [], workdir, FILE_TIMEOUT_S, stdin=document.data)
    if returncode is None:
        return f"stdin mode timed out after {FILE_TIMEOUT_S} s"
    if returncode not in (0, 1):
        return f"stdin mode: {exit_description(returncode)}"
    if (returncode == 0) != batch.ok:
        return f"stdin mode exit status {returncode}, but --batch says ok={str(batch.ok).lower()}"
    if returncode == 0:
        try:
            value = json.loads(stdout, object_pairs_hook=reject_duplicate_keys)
        except ValueError as error:
            return f"stdin mode printed unreadable JSON ({error})"
        difference = first_difference(batch.value, value, names=("--batch", "stdin mode"))
        if difference:
            return "stdin mode and --batch give different values " + difference
    return None


# ----------------------------------------------------------------------------------------------
# The comparison


@dataclass
class Report:
    counts: dict = field(default_factory=lambda: {ACCEPTED: 0, REJECTED: 0, LIMIT: 0, BOM_SKIPPED: 0, FAILURE: 0})
    failures: list = field(default_factory=list)  # (Document, tomllib Outcome, decoder Outcome, detail)
    total: int = 0


def write_documents(documents, workdir):
    for document in documents:
        path = workdir / document.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(document.data)


def compare(command, documents, log=print):
    """Runs tomllib and the decoder on every document and judges each one."""
    report = Report(total=len(documents))
    with tempfile.TemporaryDirectory(prefix="toml-differential-") as directory:
        workdir = Path(directory)
        write_documents(documents, workdir)
        decoded = decode_all(command, documents, workdir, log)
        for document in documents:
            reference = reference_outcome(document.data)
            outcome = decoded[document.name]
            verdict, detail = judge(reference, outcome, len(document.data), document.data)
            if document.from_corpus and not outcome.crash:
                # Corpus files also go through the stdin mode, which must agree with --batch.
                stdin_problem = check_stdin_mode(command, document, outcome, workdir)
                if stdin_problem:
                    detail = f"{detail}; {stdin_problem}" if verdict == FAILURE else stdin_problem
                    verdict = FAILURE
            report.counts[verdict] += 1
            if verdict == FAILURE:
                report.failures.append((document, reference, outcome, detail))
    return report


def print_report(report, heading):
    print(heading)
    print(f"  documents:                 {report.total}")
    for verdict in (ACCEPTED, REJECTED, LIMIT, BOM_SKIPPED):
        print(f"  {verdict + ':':37}{report.counts[verdict]}")
    print(f"  failures:                  {report.counts[FAILURE]}")
    if report.failures:
        shown = report.failures[:FAILURES_SHOWN]
        print(f"\nFailures (first {len(shown)} of {len(report.failures)}):")
        for document, reference, outcome, detail in shown:
            print(f"- {document.name} ({shorten(document.origin, 160)})")
            print(f"    problem: {detail}")
            print(f"    input:   {shorten(repr(document.data[:INPUT_SHOWN]), 260)}")
            print(f"    tomllib: {reference.describe()}")
            print(f"    decoder: {outcome.describe()}")
    print(f"toml-differential: {report.total} documents, {report.counts[FAILURE]} failures")


def keep_failures(report, directory):
    directory.mkdir(parents=True, exist_ok=True)
    index = []
    for document, _, _, detail in report.failures:
        kept = directory / document.name.replace("/", "--")
        kept.write_bytes(document.data)
        index.append(f"{kept.name}\t{document.origin}\t{detail}")
    (directory / "index.txt").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"Failing inputs copied to {directory} (see index.txt).")


def all_documents(corpus_dir, mutants, seed):
    corpus = load_corpus(corpus_dir)
    if not corpus:
        usage_error(f"no *.toml files under {corpus_dir}")
    documents = corpus + make_mutants(corpus, mutants, seed) + size_limit_documents()
    return corpus, documents


# ----------------------------------------------------------------------------------------------
# tomllib behind the decoder's interface (--as-decoder), for the self-test


def injected_fault(data, outcome):
    """The faulty decoder of the self-test: a wrong sign, a false limit claim, a false acceptance
    and a crash, each triggered by a marker in the document."""
    if b"inject-crash" in data:
        sys.stdout.flush()
        os._exit(134)
    if b"inject-limit" in data:
        return Outcome(ok=False, error="injected limit", limit=True)
    if b"inject-accept" in data:
        return Outcome(ok=True, value={})
    if b"inject-sign" in data and outcome.ok:
        flipped = json.loads(json.dumps(outcome.value).replace('"-0.0"', '"0.0"'))
        return Outcome(ok=True, value=flipped)
    return outcome


def serve_as_decoder(arguments, inject_faults):
    """Implements the decoder interface with tomllib."""
    sys.setrecursionlimit(RECURSION_LIMIT)
    out = sys.stdout
    if arguments[:1] == ["--batch"]:
        for name in arguments[1:]:
            data = Path(name).read_bytes()
            outcome = reference_outcome(data)
            if inject_faults:
                outcome = injected_fault(data, outcome)
            record = {"file": name, "ok": outcome.ok}
            if outcome.ok:
                record["value"] = outcome.value
            else:
                record.update(error=outcome.error, limit=outcome.limit)
            out.write(json.dumps(record) + "\n")
        out.flush()
        return 0
    if not arguments:
        data = sys.stdin.buffer.read()
        outcome = reference_outcome(data)
        if inject_faults:
            outcome = injected_fault(data, outcome)
        if outcome.ok:
            out.write(json.dumps(outcome.value) + "\n")
            return 0
        sys.stderr.write(f"toml-differential (as decoder): {outcome.error}\n")
        return 1
    sys.stderr.write("usage: toml-differential.py --as-decoder [--batch FILE...]\n")
    return 2


# ----------------------------------------------------------------------------------------------
# Self-test


def check_corpus(corpus_dir):
    """Sentences about corpus files that are not what their folder says."""
    problems = []
    counts = {}
    for document in load_corpus(corpus_dir):
        folder = document.origin.split("/", 1)[0]
        counts[folder] = counts.get(folder, 0) + 1
        outcome = reference_outcome(document.data)
        limits = exceeded_limits(outcome.raw, len(document.data)) if outcome.ok else []
        if folder == "valid" and not (outcome.ok and not limits):
            problems.append(f"{document.origin}: should parse within the limits: {outcome.describe()}, {limits}")
        elif folder == "invalid" and outcome.ok:
            problems.append(f"{document.origin}: tomllib accepts it")
        elif folder == "limits" and not limits:
            problems.append(f"{document.origin}: should parse and exceed a limit: {outcome.describe()}")
    for folder in ("valid", "invalid", "limits"):
        if not counts.get(folder):
            problems.append(f"no files in {folder}/")
    return counts, problems


def check_rules():
    """Sentences about comparison rules that do not hold."""
    def f(text):
        return scalar("float", text)

    expectations = [
        (floats_equal("nan", "nan"), "nan equals nan"),
        (not floats_equal("0.0", "-0.0"), "0.0 differs from -0.0"),
        (floats_equal("1e+300", "1e300"), "1e+300 equals 1e300"),
        (floats_equal("-inf", "-inf") and not floats_equal("inf", "-inf"), "infinities"),
        (not floats_equal("0.1", "0.1000000000000001"), "0.1 differs from its neighbour"),
        (first_difference({"a": [f("1.0")]}, {"a": [f("1")]}) is None, "floats compared as numbers"),
        (first_difference({"a": scalar("integer", "1")}, {"a": f("1")}) is not None, "types compared"),
        (first_difference({"type": {"a": scalar("string", "x")}, "value": {}}, scalar("string", "x")) is not None,
         "a table with keys type and value is not a scalar"),
        (first_difference([scalar("bool", "true")], []) is not None, "array lengths compared"),
        (first_difference({"a": {}}, {"a": {}, "b": {}}) is not None, "extra keys found"),
        (nesting_depth({"a": [[1]]}) == 2 and nesting_depth({}) == 0, "nesting depth (root is 0)"),
        (exceeded_limits({"a": 2**63}, 10) and not exceeded_limits({"a": -(2**63)}, 10), "64-bit bounds"),
        (exceeded_limits({"t": {"\u00e9": 1, "e\u0301": 2}}, 10), "NFC collisions found in sub-tables"),
        (exceeded_limits({}, MAX_BYTES + 1) and not exceeded_limits({}, MAX_BYTES), "size bound"),
        (judge(Outcome(True, {}, raw={}), Outcome(False, limit=True), 5)[0] == FAILURE,
         "false limit claims fail"),
        (judge(Outcome(False), Outcome(False, limit=True), 5)[0] == REJECTED, "any rejection agrees"),
        (tag(tomllib.loads("a = 1979-05-27T07:32:00.1234567z"))["a"]
         == scalar("datetime", "1979-05-27T07:32:00.123456+00:00"),
         "offset datetimes in isoformat, fraction truncated"),
        (tag(tomllib.loads("a = 07:32:00.000"))["a"] == scalar("time-local", "07:32:00"),
         "zero fraction dropped"),
    ]
    return [f"rule does not hold: {what}" for holds, what in expectations if not holds]


FAULT_DOCUMENTS = {
    "fine.toml": (b"a = 1\n", ACCEPTED),
    "bad.toml": (b"a = \n", REJECTED),
    "big.toml": (b"# inject-limit\na = 9223372036854775808\n", LIMIT),
    "sign.toml": (b"# inject-sign\nz = -0.0\n", FAILURE),
    "limit.toml": (b"# inject-limit\na = 1\n", FAILURE),
    "accept.toml": (b"# inject-accept\na = \n", FAILURE),
    "crash.toml": (b"# inject-crash\na = 1\n", FAILURE),
}


def check_fault_detection(script):
    """Sentences about injected faults the comparison misses."""
    documents = [
        Document(f"corpus/{name}", name, data, from_corpus=True) for name, (data, _) in FAULT_DOCUMENTS.items()
    ]
    messages = []
    faulty = [sys.executable, str(script), "--as-decoder", "--inject-faults"]
    report = compare(faulty, documents, log=messages.append)
    failed = {document.origin for document, *_ in report.failures}
    expected_failures = {name for name, (_, verdict) in FAULT_DOCUMENTS.items() if verdict == FAILURE}
    problems = []
    if failed != expected_failures:
        problems.append(f"injected faults: failures {sorted(failed)}, expected {sorted(expected_failures)}")
    for verdict in (ACCEPTED, REJECTED, LIMIT):
        expected = sum(1 for _, wanted in FAULT_DOCUMENTS.values() if wanted == verdict)
        if report.counts[verdict] != expected:
            problems.append(f"injected faults: {report.counts[verdict]} {verdict}, expected {expected}")
    if not any("failed on corpus/crash.toml: exit status 134" in message for message in messages):
        problems.append(f"injected crash not pinned on crash.toml: {messages}")
    return problems


def self_test(corpus_dir, mutants, seed):
    script = Path(__file__).resolve()
    counts, problems = check_corpus(corpus_dir)
    summary = ", ".join(f"{folder}/ {count}" for folder, count in sorted(counts.items()))
    print(f"self-test: corpus {corpus_dir} ({summary}): {'ok' if not problems else 'PROBLEMS'}")
    rule_problems = check_rules()
    print(f"self-test: comparison rules: {'ok' if not rule_problems else 'PROBLEMS'}")
    problems += rule_problems
    fault_problems = check_fault_detection(script)
    print(f"self-test: injected faults caught: {'ok' if not fault_problems else 'PROBLEMS'}")
    problems += fault_problems
    for problem in problems:
        print(f"  {problem}")
    if problems:
        print(f"self-test: {len(problems)} problems with the harness or corpus")
    _, documents = all_documents(corpus_dir, mutants, seed)
    report = compare([sys.executable, str(script), "--as-decoder"], documents)
    heading = f"self-test: tomllib against itself behind the decoder interface ({mutants} mutants, seed {seed})"
    print_report(report, heading)
    return 1 if problems or report.counts[FAILURE] else 0


# ----------------------------------------------------------------------------------------------
# Command line


def shorten(text, limit=200):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_json(value):
    return shorten(json.dumps(value, ensure_ascii=False), 120)


def usage_error(message):
    print(f"toml-differential: {message}", file=sys.stderr)
    raise SystemExit(2)


def decoder_command(decoder):
    if os.sep in decoder:
        path = Path(decoder).resolve()
        if not (path.is_file() and os.access(path, os.X_OK)):
            usage_error(f"{decoder} is not an executable file")
        return [str(path)]
    found = shutil.which(decoder)
    if not found:
        usage_error(f"{decoder} not found on PATH")
    return [found]


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Differential test of soleus-toml-decode against Python's tomllib.",
        usage="%(prog)s DECODER CORPUS_DIR [--mutants N] [--seed S] [--keep-failures DIR]\n"
        "       %(prog)s --self-test [CORPUS_DIR] [--mutants N] [--seed S]",
    )
    parser.add_argument("paths", nargs="*", metavar="DECODER CORPUS_DIR")
    parser.add_argument("--mutants", type=int, default=3000, metavar="N", help="mutants to make (default 3000)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the mutants (default 1)")
    parser.add_argument("--keep-failures", type=Path, metavar="DIR", help="copy failing inputs to DIR")
    parser.add_argument("--self-test", action="store_true", help="check the harness, tomllib as the decoder")
    arguments = parser.parse_args(argv)
    expected = (0, 1) if arguments.self_test else (2,)
    if len(arguments.paths) not in expected or arguments.mutants < 0:
        parser.print_usage(sys.stderr)
        raise SystemExit(2)
    return arguments


def main(argv):
    if argv[:1] == ["--as-decoder"]:
        rest = argv[1:]
        inject = rest[:1] == ["--inject-faults"]
        return serve_as_decoder(rest[1:] if inject else rest, inject)
    arguments = parse_arguments(argv)
    sys.setrecursionlimit(RECURSION_LIMIT)
    if arguments.self_test:
        corpus_dir = Path(arguments.paths[0]) if arguments.paths else DEFAULT_CORPUS
        return self_test(corpus_dir, arguments.mutants, arguments.seed)
    command = decoder_command(arguments.paths[0])
    corpus_dir = Path(arguments.paths[1])
    corpus, documents = all_documents(corpus_dir, arguments.mutants, arguments.seed)
    report = compare(command, documents)
    if arguments.keep_failures and report.failures:
        keep_failures(report, arguments.keep_failures)
    synthetic = len(documents) - len(corpus) - arguments.mutants
    heading = (
        f"toml-differential: {command[0]} against tomllib on {len(corpus)} corpus files from {corpus_dir}, "
        f"{arguments.mutants} mutants (seed {arguments.seed}), {synthetic} synthetic"
    )
    print_report(report, heading)
    return 1 if report.counts[FAILURE] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
