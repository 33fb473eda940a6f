"""The offline extractor's rules, in English and Chinese: assertion status by ConText/NegEx-style triggers, values
and units by pattern, modifiers and laterality by word lists, and note text normalized like `Term.norm` with a
map back to the note's offsets.

Assertion (Chapman et al.'s NegEx and ConText): a trigger before an entity ("no", "possible", "history of", 否认,
可能, 既往) governs it when no termination term ("but", "however", "with", a sentence end, 但, 伴, "，") lies between
them and it is at most PRE_WINDOW characters away; a trigger after it ("is absent", "cannot be excluded", 阴性,
待排, 病史) within POST_WINDOW characters likewise. Pseudo-triggers ("no change", "not only", 无明显诱因) mask the
triggers inside them, and so does an entity span (无力 is a symptom, not a negation). When several categories
govern an entity the first of family, negated, possible, historical wins; none: present.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from bios_kg.graph.text import _SEPARATOR_CATEGORIES, _SEPARATOR_CHARS

PRE_WINDOW = 60
POST_WINDOW = 25
PRIORITY = ("family", "negated", "possible", "historical")
PRE, POST, BOTH = "pre", "post", "both"

# category -> direction -> trigger phrases (lower case; white space matches any run of white space)
TRIGGERS: dict[str, dict[str, tuple[str, ...]]] = {
    "negated": {
        PRE: ("no", "not", "without", "denies", "denied", "deny", "negative for", "free of", "absence of",
              "no evidence of", "no evidence for", "no sign of", "no signs of", "no findings of", "never had",
              "neither", "nor", "clear of", "fails to reveal", "resolution of", "rules out", "ruled out",
              "无", "否认", "未见", "未闻及", "未触及", "未及", "未发现", "未诉", "未出现", "未有", "没有", "不伴",
              "不伴有", "排除"),
        POST: ("is absent", "are absent", "absent", "not seen", "not identified", "not present", "not visualized",
               "not demonstrated", "has resolved", "have resolved", "resolved", "was ruled out", "is ruled out",
               "is negative", "was negative", "unlikely", "阴性", "(-)", "（-）", "已消失", "消失", "已排除",
               "不明显"),
    },
    "possible": {
        BOTH: ("versus", "vs", "可能", "不除外", "不排除"),
        PRE: ("possible", "possibly", "probable", "probably", "likely", "may", "might", "could", "suspected",
              "suspicious for", "suspicion of", "suggestive of", "suggesting", "suggests", "concerning for",
              "concern for", "question of", "questionable", "rule out", "r/o", "consider", "differential",
              "favored", "favor", "compatible with", "worrisome for", "cannot exclude", "can not exclude",
              "cannot rule out", "疑似", "疑", "考虑", "可疑", "怀疑", "倾向", "拟诊", "似"),
        POST: ("cannot be excluded", "can not be excluded", "not excluded", "cannot be ruled out", "not ruled out",
               "not been excluded", "is suspected", "is possible", "is likely", "待排", "待查", "可能性大", "?",
               "？"),
    },
    "historical": {
        PRE: ("history of", "h/o", "hx of", "past history of", "previous", "previously", "prior", "status post",
              "s/p", "remote", "既往", "曾", "曾患", "曾行", "以往"),
        POST: ("in the past", "years ago", "removed", "has been removed", "病史", "史", "术后"),
    },
    "family": {
        PRE: ("family history of", "family history", "mother", "father", "brother", "sister", "sibling", "siblings",
              "parents", "grandmother", "grandfather", "aunt", "uncle", "mother's", "father's", "家族史", "家族中",
              "家族", "其父", "其母", "父亲", "母亲", "父母", "兄弟", "姐妹", "祖父", "祖母"),
        POST: ("in the family", "in his mother", "in her mother", "in his father", "in her father", "家族史"),
    },
}
PSEUDO = ("no increase", "no change", "no significant change", "no interval change", "not only", "no further",
          "gram negative", "not necessarily", "without difficulty", "no longer",
          "无明显诱因", "无诱因", "不适", "不全", "不齐", "不规则", "未明", "不明", "不详")
TERMINATIONS = ("but", "however", "although", "though", "except", "apart from", "aside from", "which", "who",
                "whose", "because", "with", "secondary to", "due to", "caused by", "there is", "there are",
                "presents", "presented", "reports", "complains", "但", "但是", "然而", "伴", "伴有", "合并", "出现",
                "，", "；", "。", "！", "？", ";", "\n")

# Modifiers (severity, size, extent, number, acuity, stability), laterality and positional words
MODIFIERS = ("mild", "mildly", "moderate", "moderately", "severe", "severely", "small", "large", "tiny", "trace",
             "minimal", "minimally", "slight", "slightly", "marked", "markedly", "massive", "extensive", "focal",
             "diffuse", "patchy", "streaky", "subsegmental", "multiple", "scattered", "few", "several", "acute",
             "chronic", "subacute", "stable", "unchanged", "new", "old", "healed", "known", "worsening", "improving",
             "increasing", "decreasing", "suspicious", "residual", "persistent", "recurrent", "early", "minor",
             "轻度", "中度", "重度", "轻微", "少量", "大量", "少许", "微量", "急性", "慢性", "亚急性", "明显", "散在",
             "多发", "单发", "陈旧性", "陈旧", "新发", "反复", "持续性", "间断", "较前")
LATERALITY = ("left", "right", "bilateral", "bilaterally", "bibasilar", "both", "双侧", "两侧", "双", "左侧", "右侧",
              "左", "右")
POSITIONS = ("upper", "lower", "middle", "mid", "apical", "basilar", "basal", "anterior", "posterior", "lateral",
             "medial", "superior", "inferior", "proximal", "distal", "central", "peripheral", "上", "下", "中")
FILLERS = ("the", "a", "an", "and", ",", "、")

# measurement names that make an entity of their own when the graph has no term there
VITALS = ("blood pressure", "bp", "heart rate", "hr", "pulse", "temperature", "temp", "respiratory rate", "rr",
          "spo2", "o2 sat", "oxygen saturation", "weight", "height", "血压", "心率", "脉搏", "体温", "呼吸",
          "血氧饱和度", "体重", "身高")
UNITS = ("mmHg", "mm Hg", "cmH2O", "cm H2O", "mmol/L", "µmol/L", "umol/L", "mg/dL", "g/dL", "g/L", "mg/L", "U/L",
         "IU/L", "mEq/L", "ng/mL", "pg/mL", "mg/kg", "x10^9/L", "×10^9/L", "10^9/L", "beats/min", "breaths/min",
         "bpm", "/min", "mcg", "µg", "ug", "mg", "kg", "g", "mL", "ml", "L", "cm", "mm", "°C", "° C", "℃", "°F", "%",
         "IU", "units", "次/分钟", "次/分", "毫克", "千克", "公斤", "克", "毫升", "毫米", "厘米", "mmol", "片")

_NUMBER = r"\d+(?:\.\d+)?"


def _alternation(phrases: Iterable[str]) -> str:
    """Longest first; words bounded by non-word characters, Chinese and symbols matched anywhere."""
    parts = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        body = r"\s+".join(re.escape(word) for word in phrase.split()) if phrase.strip() else re.escape(phrase)
        left = r"(?<![^\W_])" if re.match(r"\w", phrase, re.ASCII) else ""
        right = r"(?![^\W_])" if re.search(r"\w$", phrase, re.ASCII) else ""
        parts.append(f"{left}{body}{right}")
    return "|".join(parts)


_TRIGGER_KINDS: dict[str, list[tuple[str, str]]] = {}
for _category, _directions in TRIGGERS.items():
    for _direction, _phrases in _directions.items():
        for _phrase in _phrases:
            _TRIGGER_KINDS.setdefault(_phrase, []).append((_category, _direction))
_TRIGGER = re.compile(_alternation([*_TRIGGER_KINDS, *PSEUDO]), re.IGNORECASE)
_PSEUDO = frozenset(PSEUDO)
_TERMINATION = re.compile(_alternation(TERMINATIONS) + r"|[.!?](?=\s|$)", re.IGNORECASE)
_MODIFIER_END = re.compile(f"(?:{_alternation(MODIFIERS)})$", re.IGNORECASE)
# a unit may follow its number without a space ("5mm", "37.5℃") but not run into a word ("5 gauge")
_UNIT = "|".join(re.escape(unit) + (r"(?![^\W\d_])" if unit[-1].isalpha() else "")
                 for unit in sorted(UNITS, key=len, reverse=True))
_START = r"(?<![\d.A-Za-z])"
_MEASURE = re.compile(rf"{_START}{_NUMBER}\s*/\s*{_NUMBER}(?:\s*(?:{_UNIT}))?"
                      rf"|{_START}{_NUMBER}(?:\s*(?:{_UNIT}))?(?:\s*[x×*]\s*{_NUMBER}(?:\s*(?:{_UNIT}))?)*")
_UNIT_IN = re.compile(_UNIT)
_VITAL = re.compile(rf"({_alternation(VITALS)})(?:\s*(?:is|was|of|:|：|=)?\s*)(?={_NUMBER})", re.IGNORECASE)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Span:
    start: int
    end: int


# --- normalization with offsets ------------------------------------------------------------------------------------
def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """`bios_kg.graph.text.normalize_term` applied character by character: the normalized text and, for each of its
    characters, the offset of the note character it comes from (runs of spaces keep their first)."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = ch.lower() if ch.isascii() else unicodedata.normalize("NFKC", ch).casefold()
        for out in folded:
            if out in _SEPARATOR_CHARS or out.isspace() or unicodedata.category(out) in _SEPARATOR_CATEGORIES:
                out = " "
            chars.append(out)
            offsets.append(i)
    for j, out in enumerate(chars):  # a dot is kept only inside a number
        if out == "." and not (0 < j < len(chars) - 1 and chars[j - 1].isdigit() and chars[j + 1].isdigit()):
            chars[j] = " "
    kept = [j for j, out in enumerate(chars) if out != " " or (j > 0 and chars[j - 1] != " ")]
    return "".join(chars[j] for j in kept), [offsets[j] for j in kept]


class Intervals:
    """Sorted spans, asked whether any of them overlaps a range (in log time)."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [start for start, _ in ordered]
        self.reach = list(accumulate((end for _, end in ordered), max))  # the furthest end so far

    def overlaps(self, start: int, end: int) -> bool:
        before = bisect_left(self.starts, end)  # spans that start before `end`
        return before > 0 and self.reach[before - 1] > start


# --- assertion ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trigger:
    start: int
    end: int
    category: str
    direction: str


def find_triggers(text: str, masks: Sequence[tuple[int, int]] = ()) -> list[Trigger]:
    """The assertion triggers of `text` outside pseudo-triggers and outside `masks` (entity spans)."""
    masked = Intervals(masks)
    found = []
    for match in _TRIGGER.finditer(text):
        phrase = _fold(match.group())
        if phrase in _PSEUDO or masked.overlaps(match.start(), match.end()):
            continue
        found += [Trigger(match.start(), match.end(), category, direction)
                  for category, direction in _TRIGGER_KINDS.get(phrase, ())]
    return found


def terminations(text: str) -> list[int]:
    """Start offsets of the scope-ending terms and sentence ends of `text`, in order."""
    return [match.start() for match in _TERMINATION.finditer(text)]


def any_between(points: Sequence[int], low: int, high: int) -> bool:
    """True when one of the sorted `points` lies in [low, high)."""
    index = bisect_left(points, low)
    return index < len(points) and points[index] < high


def assertions(text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """The assertion status of each entity span of `text` (module docstring): present, negated, possible,
    historical or family. Only the triggers within reach of a span are looked at."""
    triggers = find_triggers(text, spans)
    stops = terminations(text)
    before = sorted((t for t in triggers if t.direction in (PRE, BOTH)), key=lambda t: t.end)
    after = sorted((t for t in triggers if t.direction in (POST, BOTH)), key=lambda t: t.start)
    before_ends, after_starts = [t.end for t in before], [t.start for t in after]
    statuses = []
    for start, end in spans:
        near_before = before[bisect_left(before_ends, start - PRE_WINDOW):bisect_right(before_ends, start)]
        near_after = after[bisect_left(after_starts, end):bisect_right(after_starts, end + POST_WINDOW)]
        categories = {t.category for t in near_before if not any_between(stops, t.end, start)}
        categories |= {t.category for t in near_after if not any_between(stops, end, t.start)}
        statuses.append(next((category for category in PRIORITY if category in categories), "present"))
    return statuses


# --- values and units ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    start: int
    end: int
    value: float | str  # a float, or "120/80", "5.8 x 6.0"
    unit: str | None


def measures(text: str, require_unit: bool = True) -> list[Measure]:
    """Numbers with their unit: "5 mm", "37.5 °C", "120/80 mmHg", "5.8 cm x 6.0 cm" (value "5.8 x 6.0")."""
    found = []
    for match in _MEASURE.finditer(text):
        measure = _measure(match.group(), match.start())
        if measure.unit is not None or not require_unit:
            found.append(measure)
    return found


def _measure(written: str, offset: int) -> Measure:
    units = _UNIT_IN.findall(written)
    bare = _UNIT_IN.sub(" ", written)
    numbers = re.findall(_NUMBER, bare)
    if "/" in bare:
        value: float | str = "/".join(numbers)
    else:
        value = float(numbers[0]) if len(numbers) == 1 else " x ".join(numbers)
    unit = units[-1].strip() if units else None
    stripped = written.rstrip()
    return Measure(offset, offset + len(stripped), value, unit)


def vital_signs(text: str) -> list[tuple[Span, Measure]]:
    """Named measurements: ("BP", "120/80 mmHg"), ("体温", "37.5℃"); the unit may be left out."""
    found = []
    for match in _VITAL.finditer(text):
        value = _MEASURE.match(text, match.end())
        if value:
            found.append((Span(match.start(1), match.end(1)), _measure(value.group(), value.start())))
    return found


# --- modifiers and laterality -------------------------------------------------------------------------------------
_MODIFIER_WORDS = frozenset(MODIFIERS)
_LOCATION_WORDS = frozenset(LATERALITY + POSITIONS)
_SKIPPED = frozenset(FILLERS)
_KNOWN_WORDS = sorted(_LOCATION_WORDS | _SKIPPED, key=len, reverse=True)
_LONGEST_WORD = max(map(len, (*_MODIFIER_WORDS, *_KNOWN_WORDS)))


def preceding_words(text: str, start: int, limit: int = 6) -> list[tuple[int, int, str]]:
    """Up to `limit` modifier, location and filler words right before `start` (nearest last), as (start, end,
    lower-cased word); stops at any other word. Chinese text is peeled from the end by the longest known word.
    Each step looks at the few characters before the last word found, so the cost does not grow with the note."""
    words: list[tuple[int, int, str]] = []
    end = start
    while len(words) < limit:
        while end > 0 and text[end - 1].isspace():
            end -= 1
        if end == 0:
            break
        modifier = _MODIFIER_END.search(text, max(0, end - _LONGEST_WORD), end)  # `$` matches at `end`
        span = modifier.span() if modifier else _known_end(text, end)
        if span is None:
            break
        words.insert(0, (span[0], span[1], text[span[0]:span[1]].lower()))
        end = span[0]
    return words


def _known_end(text: str, end: int) -> tuple[int, int] | None:
    """The known location or filler word that `text[:end]` ends with, longest first."""
    folded = text[max(0, end - _LONGEST_WORD):end].lower()
    for word in _KNOWN_WORDS:
        if folded.endswith(word):
            begin = end - len(word)
            if word.isascii() and word[0].isalpha() and begin > 0 and text[begin - 1].isalnum():
                continue
            return begin, end
    return None


def modifiers_before(text: str, start: int) -> list[tuple[int, int]]:
    """Spans of the modifier words right before an entity (through location and filler words)."""
    return [(s, e) for s, e, word in preceding_words(text, start) if word in _MODIFIER_WORDS]


def laterality_before(text: str, start: int) -> tuple[int, int] | None:
    """The span of the location words (left, right upper, 双侧) right before an entity or anatomical term."""
    words = preceding_words(text, start)
    while words and words[-1][2] in _SKIPPED | _MODIFIER_WORDS:
        words.pop()
    run: list[tuple[int, int, str]] = []
    for item in reversed(words):
        if item[2] not in _LOCATION_WORDS:
            break
        run.insert(0, item)
    return (run[0][0], run[-1][1]) if run else None


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"
